"""The text file I/O of every tool (stage one, preparation, scoring): strict reading, alignment checks
and writing under a temporary name.

Every problem with a user's input raises `InputError`, whose message names the file (and the line
where there is one), so that each command line prints it as one line instead of a traceback.
"""
import gzip
import os
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Iterable, List, Mapping, Optional, Sequence


class InputError(Exception):
    """Input a tool cannot use (a file, a folder, an option); the message names it."""


def at(path, line: Optional[int], message: str) -> InputError:
    """An InputError located in `path`, at 1-based `line` if given: "path:line: message" or "path: message"."""
    where = path if line is None else f"{path}:{line}"
    return InputError(f"{where}: {message}")


def unix_line_ends(text: str) -> str:
    """`text` with every line end as \\n.

    \\n, \\r\\n and a lone \\r each end a line, as in Python's text mode (and so fairseq's binarizer),
    so line numbers agree with the rest of the pipeline; other Unicode line breaks stay inside a line.
    """
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split_text_lines(text: str) -> List[str]:
    """The lines of `text`, without their line ends (see `unix_line_ends`)."""
    lines = unix_line_ends(text).split("\n")
    if lines[-1] == "":  # the final line end closes the last line; it does not open a new one
        lines.pop()
    return lines


def decode_utf8(path, data: bytes) -> str:
    """`data` as UTF-8 text; an InputError naming the line of the first invalid byte otherwise."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = unix_line_ends(data[: error.start].decode("utf-8")).count("\n") + 1
        raise at(path, line, f"invalid UTF-8 at byte offset {error.start} ({error.reason})") from None


def check_no_empty_lines(path, lines: Sequence[str]) -> None:
    """A line without words would misalign every per-word file built from it."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            raise at(path, number, "empty line")


def read_lines(path, allow_empty_lines: bool = False) -> List[str]:
    """The lines of a UTF-8 text file, gzip-compressed when its name ends in .gz (see
    `split_text_lines`); refuses invalid UTF-8 and, unless `allow_empty_lines`, lines that are
    empty or only white space."""
    try:
        data = Path(path).read_bytes()
        if str(path).endswith(".gz"):
            data = gzip.decompress(data)
    except FileNotFoundError:
        raise at(path, None, "no such file") from None
    except OSError as error:  # gzip.BadGzipFile among them
        raise at(path, None, f"cannot read ({error.strerror or error})") from None
    except EOFError:
        raise at(path, None, "cannot read (a truncated gzip file)") from None
    lines = split_text_lines(decode_utf8(path, data))
    if not allow_empty_lines:
        check_no_empty_lines(path, lines)
    return lines


def check_not_empty(path, lines: Sequence) -> None:
    """A step that needs at least one line says so, instead of producing nothing."""
    if not lines:
        raise at(path, None, "no lines")


def check_same_line_count(path, count: int, reference_path, reference_count: int) -> None:
    """Line-aligned files must have as many lines as their reference; the error names the first line
    that has no counterpart."""
    if count != reference_count:
        raise at(
            path,
            min(count, reference_count) + 1,
            f"{count} lines, but {reference_path} has {reference_count}: "
            f"this line has no counterpart in the shorter file",
        )


def check_words_per_line(
    path, rows: Sequence[Sequence], sentences_path, sentences: Sequence[Sequence[str]], sentences_first_line: int = 1
) -> None:
    """One value per word: row i of `path` must be as long as sentence i of `sentences_path`.

    `sentences_first_line` is the line number of sentences[0] in its file (when they are a range of it).
    """
    check_same_line_count(path, len(rows), sentences_path, len(sentences))
    for offset, (row, words) in enumerate(zip(rows, sentences)):
        if len(row) != len(words):
            raise at(
                path,
                offset + 1,
                f"{len(row)} values for the {len(words)} words of {sentences_path}:{sentences_first_line + offset}",
            )


def temporary_sibling(path: Path, tag: str) -> Path:
    """A name next to `path` (same file system, so the final rename is atomic) that is clearly not it."""
    return path.with_name(f".{path.name}.{tag}-{os.getpid()}")


@contextmanager
def atomic_outputs(paths: Sequence, mode: str = "w"):
    """Open a temporary sibling of each of `paths` for writing; rename them to `paths` only if the
    block succeeds, so a failure never leaves a partial file, replaces an old one, nor leaves some of
    the files new and others old."""
    paths = [Path(path) for path in paths]
    temporaries = [temporary_sibling(path, "tmp") for path in paths]
    text_options = {} if "b" in mode else {"encoding": "utf-8", "newline": "\n"}
    try:
        with ExitStack() as handles:
            yield [handles.enter_context(open(temporary, mode, **text_options)) for temporary in temporaries]
        for temporary, path in zip(temporaries, paths):
            os.replace(temporary, path)
    finally:
        for temporary in temporaries:
            temporary.unlink(missing_ok=True)


@contextmanager
def atomic_output(path, mode: str = "w"):
    """`atomic_outputs` for one file: yields its handle."""
    with atomic_outputs([path], mode) as (handle,):
        yield handle


def write_files(files: Mapping[Any, Iterable[str]]) -> None:
    """Write the lines of each file of `files` (path -> lines) together (see `atomic_outputs`): a step
    that writes several splits leaves all of them or none. Creates the folders (a step's output may
    be the first file of a new folder)."""
    for path in files:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_outputs(list(files)) as handles:
        for handle, lines in zip(handles, files.values()):
            for line in lines:
                handle.write(line + "\n")


def write_lines(path, lines: Iterable[str]) -> None:
    """Write each of `lines` as one line of `path`, atomically (see `write_files`)."""
    write_files({path: lines})
