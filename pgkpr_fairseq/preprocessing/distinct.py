"""Score each distinct sentence once with stage one, then spread the scores over the splits.

Scoring is the slow step (30-150 sentences/s on 2 cores, BENCHMARKS.md) and sources repeat: every COCO source is
the source of four pairs, and half of the 100K Quora training sources are repeats. `write_distinct`
gathers the distinct sources (or source-target pairs, for `ref` scoring) of all splits into
PREFIX.src (and PREFIX.tgt); `spread_probabilities` writes their scores back as SPLIT.STREAM, one
line per line of SPLIT.src.
"""
from typing import Dict, List, Sequence, Tuple

from ..keywords.textio import check_word_aligned, parse_probability
from ..textio import at, check_same_line_count, read_lines, write_files
from .textfiles import SOURCE, TARGET, read_sentences, text_file

Key = Tuple[str, ...]  # a source line, or a (source, target) pair of lines


def _keys(textdir: str, split: str, with_targets: bool) -> List[Key]:
    sides = (SOURCE, TARGET) if with_targets else (SOURCE,)
    columns = [[" ".join(words) for words in read_sentences(text_file(textdir, split, side))]
               for side in sides]
    if with_targets:
        check_same_line_count(text_file(textdir, split, TARGET), len(columns[1]),
                              text_file(textdir, split, SOURCE), len(columns[0]))
    return list(zip(*columns))


def distinct_path(prefix: str, side: str) -> str:
    """PREFIX.src or PREFIX.tgt."""
    return f"{prefix}.{side}"


def write_distinct(textdir: str, splits: Sequence[str], prefix: str, with_targets: bool = False) -> int:
    """Write the distinct sources (with targets: distinct pairs) of `splits`, in order of first
    appearance, to PREFIX.src (and PREFIX.tgt). Returns their number."""
    distinct = list(dict.fromkeys(key for split in splits for key in _keys(textdir, split, with_targets)))
    write_files({distinct_path(prefix, side): [key[column] for key in distinct]
                 for column, side in enumerate((SOURCE, TARGET) if with_targets else (SOURCE,))})
    return len(distinct)


def spread_probabilities(
    textdir: str, splits: Sequence[str], prefix: str, probs_path: str, stream: str,
    with_targets: bool = False,
) -> None:
    """Write SPLIT.STREAM for every split: the line of `probs_path` (scored from PREFIX.src, and
    PREFIX.tgt with targets) that belongs to each source line."""
    sides = (SOURCE, TARGET) if with_targets else (SOURCE,)
    columns = [read_lines(distinct_path(prefix, side)) for side in sides]
    probabilities = read_lines(probs_path)
    # checked as every other reader of keyword probabilities checks them, before they are spread
    check_word_aligned(probs_path, probabilities, distinct_path(prefix, SOURCE), columns[0], parse_probability)
    by_key: Dict[Key, str] = dict(zip(zip(*columns), probabilities))
    files = {}
    for split in splits:
        keys = _keys(textdir, split, with_targets)
        missing = next((number for number, key in enumerate(keys, 1) if key not in by_key), None)
        if missing:
            raise at(text_file(textdir, split, SOURCE), missing,
                     f"sentence not in {distinct_path(prefix, SOURCE)} (written for other text?)")
        files[text_file(textdir, split, stream)] = [by_key[key] for key in keys]
    write_files(files)
