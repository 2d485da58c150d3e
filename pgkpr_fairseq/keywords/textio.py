"""Stage one's own text formats: words split on white space, and one keyword probability per word.

Reading, alignment checks and atomic writing are `pgkpr_fairseq.textio`'s, shared with the other tools.
"""
import math
from typing import Callable, List, Sequence, TypeVar

from ..textio import at, check_same_line_count, check_words_per_line, read_lines

Value = TypeVar("Value")


def split_words(line: str) -> List[str]:
    """The words of a tokenized line, split on white space as the preparation steps and fairseq's
    binarizer split them: a trailing or doubled space makes no empty word."""
    return line.split()


def read_parallel(source_path, target_path):
    """Source and target lines of a pair of parallel files, checked to have the same line count."""
    sources, targets = read_lines(source_path), read_lines(target_path)
    check_same_line_count(target_path, len(targets), source_path, len(sources))
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
    rows = [split_words(line) for line in lines]
    check_words_per_line(path, rows, sentences_path, [split_words(sentence) for sentence in sentences],
                         sentences_first_line)
    values = []
    for number, fields in enumerate(rows, start=1):
        try:
            values.append([parse(field) for field in fields])
        except ValueError as error:
            raise at(path, number, f"bad value ({error})") from None
    return values


def format_probabilities(probabilities) -> str:
    """One output line: the probabilities with four decimals, separated by single spaces."""
    return " ".join(f"{value:.4f}" for value in probabilities)
