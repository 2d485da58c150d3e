"""The text files between the preparation steps (docs/data-format.md, last section): their names, and
sentences as lists of words. Reading and writing them is `pgkpr_fairseq.textio`'s, shared with the
other tools."""
import os
from typing import Iterable, List, Mapping, Sequence

from ..textio import check_not_empty, read_lines, write_files

SOURCE, TARGET = "src", "tgt"


def text_file(textdir: str, split: str, kind: str) -> str:
    """Path of one text file: `kind` is src, tgt, pos.src, pos.tgt, kwprob, kwprob_ref, ref0, ..."""
    return os.path.join(textdir, f"{split}.{kind}")


def pos_kind(side: str) -> str:
    """The kind of the POS file of a side: src -> pos.src."""
    return f"pos.{side}"


def read_sentences(path: str) -> List[List[str]]:
    """The whitespace-separated words of every line; an empty line or an empty file is an error."""
    sentences = [line.split() for line in read_lines(path)]
    check_not_empty(path, sentences)
    return sentences


def write_sentence_files(files: Mapping[str, Iterable[Sequence[str]]]) -> None:
    """Write each file's sentences (or tag sequences), one per line, words separated by single
    spaces; all files together or none (`write_files`)."""
    write_files({path: (" ".join(words) for words in sentences) for path, sentences in files.items()})
