"""Reading the line-aligned text files of stage one with clear errors, and writing files atomically.

Every problem with a user's file raises `InputError` whose message names the file and the line, so
the command line can print it as one line instead of a traceback.
"""
import math
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, List, Sequence, TypeVar

Value = TypeVar("Value")


class InputError(Exception):
    """A bad user-supplied file or folder; the message names it (and the line where there is one)."""


def read_lines(path) -> List[str]:
    """The lines of a UTF-8 text file, without line ends; refuses invalid UTF-8 and empty lines.

    Line ends are read the way Python's text mode (and so fairseq's binarizer) reads them: \\n, \\r\\n
    and a lone \\r each end a line, so our line numbers agree with the rest of the pipeline.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as error:
        raise InputError(f"{path}: cannot read ({error.strerror})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].replace(b"\r\n", b"\n").replace(b"\r", b"\n").count(b"\n") + 1
        raise InputError(f"{path}:{line}: invalid UTF-8 (byte offset {error.start})") from None
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines[-1] == "":  # the final line end closes the last line; it does not open a new one
        lines.pop()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            raise InputError(f"{path}:{number}: empty line")
    return lines


def split_words(line: str) -> List[str]:
    """The words of a tokenized line: exactly what `str.split(" ")` gives, as the whole pipeline uses."""
    return line.split(" ")


def check_same_line_count(reference_path, reference_count: int, other_path, other_count: int) -> None:
    """InputError naming the first line that one of two parallel files lacks."""
    if other_count != reference_count:
        shorter, missing_line = (
            (other_path, other_count + 1) if other_count < reference_count else (reference_path, reference_count + 1)
        )
        raise InputError(
            f"{other_path} has {other_count} lines but {reference_path} has {reference_count} "
            f"({shorter} ends before line {missing_line})"
        )


def read_parallel(source_path, target_path):
    """Source and target lines of a pair of parallel files, checked to have the same line count."""
    sources, targets = read_lines(source_path), read_lines(target_path)
    check_same_line_count(source_path, len(sources), target_path, len(targets))
    return sources, targets


def parse_probability(text: str) -> float:
    """A keyword probability in [0, 1]; ValueError otherwise (NaN included)."""
    value = float(text)
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{text!r} is not in [0, 1]")
    return value


def check_word_aligned(
    path,
    lines: Sequence[str],
    sentences_path,
    sentences: Sequence[str],
    parse: Callable[[str], Value] = str,
    sentences_first_line: int = 1,
) -> List[List[Value]]:
    """Per-word values of `lines`, checked to hold one value per word of the matching sentence.

    `sentences_first_line` is the line number of sentences[0] in its file (for a shard of it).
    """
    check_same_line_count(sentences_path, len(sentences), path, len(lines))
    values = []
    for offset, (line, sentence) in enumerate(zip(lines, sentences)):
        number = offset + 1
        fields, words = split_words(line), split_words(sentence)
        if len(fields) != len(words):
            raise InputError(
                f"{path}:{number}: {len(fields)} values for the {len(words)} words of "
                f"{sentences_path}:{sentences_first_line + offset}"
            )
        try:
            values.append([parse(field) for field in fields])
        except ValueError as error:
            raise InputError(f"{path}:{number}: bad value ({error})") from None
    return values


def read_word_aligned(path, sentences_path, sentences: Sequence[str], parse: Callable[[str], Value] = str):
    """Read a file with one value per word of each sentence (POS tags, probabilities) and check it."""
    return check_word_aligned(path, read_lines(path), sentences_path, sentences, parse)


def format_probabilities(probabilities) -> str:
    """One output line: the probabilities with four decimals, separated by single spaces."""
    return " ".join(f"{value:.4f}" for value in probabilities)


def temporary_sibling(path: Path, tag: str) -> Path:
    """A name next to `path` (same file system, so the final rename is atomic) that is clearly not it."""
    return path.with_name(f".{path.name}.{tag}-{os.getpid()}")


@contextmanager
def atomic_output(path, mode: str = "w"):
    """Open a temporary sibling of `path` for writing; rename it to `path` only if the block succeeds."""
    path = Path(path)
    temporary = temporary_sibling(path, "tmp")
    text_options = {} if "b" in mode else {"encoding": "utf-8", "newline": "\n"}
    try:
        with open(temporary, mode, **text_options) as handle:
            yield handle
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
