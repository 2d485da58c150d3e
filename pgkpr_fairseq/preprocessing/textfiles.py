"""The text files between the preparation steps (docs/data-format.md, last section): names, strict
reading (UTF-8, no empty lines, aligned line counts) and writing under a temporary name."""
import os
from typing import Iterable, List, Sequence

from .errors import at

SOURCE, TARGET = "src", "tgt"


def text_file(textdir: str, split: str, kind: str) -> str:
    """Path of one text file: `kind` is src, tgt, pos.src, pos.tgt, kwprob, kwprob_ref, ref0, ..."""
    return os.path.join(textdir, f"{split}.{kind}")


def pos_kind(side: str) -> str:
    """The kind of the POS file of a side: src -> pos.src."""
    return f"pos.{side}"


def read_lines(path: str) -> List[str]:
    """The lines of a UTF-8 file, split on newlines only (never on other Unicode line breaks)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as err:
        raise at(path, None, f"cannot read: {err.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise at(path, line, f"invalid UTF-8 ({err.reason})") from None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def read_sentences(path: str) -> List[List[str]]:
    """The whitespace-separated words of every line; an empty line is an error."""
    sentences = []
    for number, line in enumerate(read_lines(path), 1):
        words = line.split()
        if not words:
            raise at(path, number, "empty line")
        sentences.append(words)
    if not sentences:
        raise at(path, None, "no lines")
    return sentences


def check_same_count(path: str, count: int, reference_path: str, reference_count: int) -> None:
    """Aligned files must have as many lines as their reference file."""
    if count != reference_count:
        raise at(
            path,
            min(count, reference_count) + 1,
            f"{count} lines, but {reference_path} has {reference_count}: "
            f"this line has no counterpart in the shorter file",
        )


def check_words_per_line(
    path: str, rows: Sequence[Sequence], sentences_path: str, sentences: Sequence[Sequence[str]]
) -> None:
    """One value per word: row i of `path` must be as long as sentence i of `sentences_path`."""
    check_same_count(path, len(rows), sentences_path, len(sentences))
    for number, (row, words) in enumerate(zip(rows, sentences), 1):
        if len(row) != len(words):
            raise at(
                path,
                number,
                f"{len(row)} values for the {len(words)} words of line {number} of {sentences_path}",
            )


def write_lines(path: str, lines: Iterable[str]) -> None:
    """Write lines to `path` through a temporary name, so a failure leaves no partial file."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
        try:
            for line in lines:
                handle.write(line + "\n")
        except BaseException:
            os.remove(tmp)
            raise
    os.replace(tmp, path)


def write_sentences(path: str, sentences: Iterable[Sequence[str]]) -> None:
    """Write one sentence (or tag sequence) per line, words separated by single spaces."""
    write_lines(path, (" ".join(words) for words in sentences))
