"""The files `pgkpr-score` reads and writes: hypotheses (plain, or fairseq-generate output put back in
input order), sources and references checked line for line against each other, a multi-reference pair
split grouped by source, the sources a model has not seen, and JSON written atomically."""
import argparse
import json
import re
import sys
from typing import Iterable, List, Optional, Sequence, Set, Tuple

from ..textio import at, atomic_output, check_not_empty, check_same_line_count, read_lines

FAIRSEQ_HYPOTHESIS = re.compile(r"H-(\d+)\t")
FAIRSEQ_HYPOTHESIS_LINE = re.compile(r"H-(\d+)\t[^\t]*\t(.*)")


def read_scored_lines(path: str) -> List[str]:
    """The lines of a file to score; empty lines are kept (a system may generate nothing for a
    source), an empty file is refused."""
    lines = read_lines(path, allow_empty_lines=True)
    check_not_empty(path, lines)
    return lines


def is_fairseq_generate_output(lines: Iterable[str]) -> bool:
    """Whether the lines look like fairseq-generate output (they contain ``H-<id>\\t`` lines)."""
    return any(FAIRSEQ_HYPOTHESIS.match(line) for line in lines)


def parse_fairseq_generate(lines: Sequence[str], path: str) -> List[str]:
    """The hypotheses of fairseq-generate output (``H-<id>\\t<score>\\t<text>``) in id order.

    fairseq prints sentences in batch order, not input order; the ids must be exactly
    0..N-1, each once (one hypothesis per source: generate with ``--nbest 1``).
    """
    hypotheses_by_id = {}
    for number, line in enumerate(lines, 1):
        if not FAIRSEQ_HYPOTHESIS.match(line):
            continue
        match = FAIRSEQ_HYPOTHESIS_LINE.fullmatch(line)
        if match is None:
            raise at(path, number, "malformed H- line (expected H-<id><TAB><score><TAB><text>)")
        sentence_id = int(match.group(1))
        if sentence_id in hypotheses_by_id:
            raise at(path, number, f"duplicate hypothesis id {sentence_id} (generate with --nbest 1)")
        hypotheses_by_id[sentence_id] = match.group(2)
    if not hypotheses_by_id:
        raise at(path, None, "no H-<id> lines of fairseq-generate output")
    missing_ids = sorted(set(range(max(hypotheses_by_id) + 1)) - set(hypotheses_by_id))
    if missing_ids:
        shown = ", ".join(str(sentence_id) for sentence_id in missing_ids[:5])
        more = f" and {len(missing_ids) - 5} more" if len(missing_ids) > 5 else ""
        raise at(path, None, f"hypothesis ids missing: {shown}{more}")
    return [hypotheses_by_id[sentence_id] for sentence_id in range(len(hypotheses_by_id))]


def read_hypotheses(path: str, file_format: str = "auto") -> List[str]:
    """Read hypotheses from fairseq-generate output or a plain file (one per line).

    ``file_format`` is "fairseq", "plain" or "auto" (fairseq-generate output if the file
    has ``H-<id>\\t`` lines, else plain).
    """
    lines = read_scored_lines(path)
    if file_format == "fairseq" or (file_format == "auto" and is_fairseq_generate_output(lines)):
        return parse_fairseq_generate(lines, path)
    return lines


def read_sources_and_references(source_path: str, reference_paths: Sequence[str]):
    """Read the source file and the reference files, checking they have the same line count.

    Unlike hypotheses, references may not be empty: an empty reference gives BLEU nothing to match
    and no length to compare with (an all-empty file, none at all)."""
    sources = read_scored_lines(source_path)
    references = []
    for path in reference_paths:
        reference_lines = read_lines(path)
        check_not_empty(path, reference_lines)
        check_same_line_count(path, len(reference_lines), source_path, len(sources))
        references.append(reference_lines)
    return sources, references


def group_repeated_sources(sources: Sequence[str], references: Sequence[Sequence[str]],
                           source_path: str) -> Tuple[List[str], List[List[str]], List[int]]:
    """A pair split of a multi-reference dataset (MSCOCO's valid: an image's source caption once per
    other caption) as the test split is scored: each run of consecutive identical sources becomes one
    source whose references are the run's lines of every reference file. Returns the sources, the
    reference sets (run length x files of them) and each run's first line index, the line whose
    hypothesis is scored. Every run must have the same length."""
    firsts = [index for index, source in enumerate(sources)
              if index == 0 or source != sources[index - 1]]
    lengths = [end - start for start, end in zip(firsts, firsts[1:] + [len(sources)])]
    for start, length in zip(firsts, lengths):
        if length != lengths[0]:
            raise at(source_path, start + 1,
                     f"this source is repeated {length} time(s) in a row, the first one "
                     f"{lengths[0]}: grouping needs every source repeated alike")
    grouped_references = [[reference_set[start + offset] for start in firsts]
                          for reference_set in references for offset in range(lengths[0])]
    return [sources[start] for start in firsts], grouped_references, firsts


class ScoringInputs:
    """Sources and references read from their files, grouped by `group_repeated_sources` if asked,
    without the sources that are lines of `seen_sources_path` if given, and the hypotheses of a
    system read against them (each file checked against the source file's lines)."""

    def __init__(self, source_path: str, reference_paths: Sequence[str], group_sources: bool = False,
                 seen_sources_path: Optional[str] = None):
        self.source_path = source_path
        self.sources, self.references = read_sources_and_references(source_path, reference_paths)
        self.lines = len(self.sources)
        self.scored_lines = None  # the source file's line indices scored; None: all of them
        if group_sources:
            self.sources, self.references, self.scored_lines = group_repeated_sources(
                self.sources, self.references, source_path)
        if seen_sources_path:
            self.leave_out_seen(set(read_lines(seen_sources_path, allow_empty_lines=True)),
                                seen_sources_path)

    def leave_out_seen(self, seen: Set[str], seen_path: str) -> None:
        """Drop the sources in `seen` (e.g. the training sources), with their references."""
        unseen = [index for index, source in enumerate(self.sources) if source not in seen]
        if not unseen:
            raise at(self.source_path, None, f"every source is a line of {seen_path}: none to score")
        lines = range(self.lines) if self.scored_lines is None else self.scored_lines
        self.scored_lines = [lines[index] for index in unseen]
        self.sources = [self.sources[index] for index in unseen]
        self.references = [[reference_set[index] for index in unseen]
                           for reference_set in self.references]

    @classmethod
    def of(cls, arguments: argparse.Namespace) -> "ScoringInputs":
        """The inputs of pgkpr-score's command line."""
        inputs = cls(arguments.src, arguments.refs, arguments.group_sources, arguments.unseen_in)
        if arguments.unseen_in:
            print(f"scoring the {len(inputs.sources)} sources of {arguments.src} that are not "
                  f"lines of {arguments.unseen_in}", file=sys.stderr)
        return inputs

    def hypotheses(self, path: Optional[str], file_format: str) -> List[str]:
        """A system's hypotheses, one per (grouped) source; the sources themselves for no path."""
        if path is None:
            return list(self.sources)
        return self.scored(read_hypotheses(path, file_format), path)

    def scored(self, hypotheses: Sequence[str], origin: str) -> List[str]:
        """Of hypotheses read from `origin`, one per line of the source file (checked), those of
        the scored sources."""
        check_same_line_count(origin, len(hypotheses), self.source_path, self.lines)
        if self.scored_lines is None:
            return list(hypotheses)
        return [hypotheses[index] for index in self.scored_lines]


def write_json(path: str, content) -> None:
    """Write JSON atomically: to a temporary name in the same folder, then renamed.

    A reader (or a cut-short run) never sees a half-written file.
    """
    try:
        with atomic_output(path) as handle:
            json.dump(content, handle, indent=2)
            handle.write("\n")
    except OSError as error:
        raise at(path, None, f"cannot write ({error.strerror})") from None
