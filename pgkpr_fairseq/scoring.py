"""Score paraphrases the way the paraphrase-generation literature does (`pgkpr-score`).

Metrics, all x100:

- BLEU-1..4: nltk ``corpus_bleu`` over the whole set, no smoothing, weights (1,0,0,0), (.5,.5,0,0),
  (.33,.33,.34,0), (.25,.25,.25,.25), all references of a source at once.
- ROUGE-1, ROUGE-2, ROUGE-L F: py-rouge ``Rouge(metrics=['rouge-n', 'rouge-l'], max_n=2)`` with its
  defaults, as released paraphrase code calls it: ``apply_avg=True`` (one F per sentence, averaged
  over sentences; with several references the hypothesis, reference and overlap counts of a sentence
  are summed over its references before its F is computed), Porter stemming, non-alphanumeric
  characters removed, texts cut at 665 bytes (never reached by one sentence). Its tokenizer is
  replaced by a one-line one that needs no downloaded nltk data (see :class:`OfflineRouge`).
- sacreBLEU: corpus BLEU with sacrebleu's defaults (13a tokenization) on the lowercased, already
  tokenized text, so that it is comparable with other sacreBLEU numbers; 13a barely changes
  text that is already tokenized.
- self-BLEU: BLEU-4 (same nltk computation) of the hypotheses against the sources as the only
  reference; iBLEU = 0.8 * BLEU-4 - 0.2 * self-BLEU. Copying the source scores a high BLEU on Quora,
  so these two show how much a system merely copies. A copy of the source gets exactly 100 only
  if every sentence has 4 tokens or more: nltk counts one unmatched 4-gram for a shorter one
  (about 99.99 on Quora).
- Length: hypothesis tokens as a percentage of reference tokens, the reference closest in length to
  each hypothesis as nltk's BLEU counts them; below 100, BLEU's brevity penalty
  exp(1 - 100 / length) lowers every BLEU-n alike.

Inputs are one sentence per line, already tokenized (tokens separated by spaces); everything is
lowercased. Hypotheses are scored against the raw references: a generated ``<unk>`` matches nothing.
"""
import argparse
import json
import re
import sys
import warnings
from typing import Iterable, List, Mapping, Optional, Sequence, Tuple

import nltk
import sacrebleu
from nltk.translate.bleu_score import closest_ref_length, corpus_bleu

with warnings.catch_warnings():
    # py-rouge imports pkg_resources, whose deprecation warning says nothing about the scores.
    warnings.simplefilter("ignore")
    from rouge import Rouge

from .cli import run_command
from .textio import at, atomic_output, check_not_empty, check_same_line_count, read_lines

BLEU_WEIGHTS = {
    "bleu1": (1.0, 0.0, 0.0, 0.0),
    "bleu2": (0.5, 0.5, 0.0, 0.0),
    "bleu3": (0.33, 0.33, 0.34, 0.0),
    "bleu4": (0.25, 0.25, 0.25, 0.25),
}
IBLEU_ALPHA = 0.8

# Metric keys of score() in the paper's column order, with their column headers.
COLUMNS = (
    ("bleu1", "B-1"),
    ("bleu2", "B-2"),
    ("bleu3", "B-3"),
    ("bleu4", "B-4"),
    ("rouge1", "R-1"),
    ("rouge2", "R-2"),
    ("rougeL", "R-L"),
    ("sacrebleu", "sacreBLEU"),
    ("self_bleu", "self-BLEU"),
    ("ibleu", "iBLEU"),
    ("length", "Len%"),
)

COPY_SOURCE_NAME = "Copy source"
FAIRSEQ_HYPOTHESIS = re.compile(r"H-(\d+)\t")
FAIRSEQ_HYPOTHESIS_LINE = re.compile(r"H-(\d+)\t[^\t]*\t(.*)")


class OfflineRouge(Rouge):
    """py-rouge with a tokenizer that needs no downloaded nltk data.

    py-rouge calls ``nltk.word_tokenize``, which first splits sentences with the punkt model
    (``punkt_tab`` data, not downloadable here). Each text scored here is a single line, so
    skipping the sentence split (``preserve_line=True``) gives the same tokens.
    """

    @staticmethod
    def tokenize_text(text, language="english"):
        """Tokenize one line of text with nltk's word tokenizer, without sentence splitting."""
        return nltk.word_tokenize(text, language, preserve_line=True)


def tokenize(line: str) -> List[str]:
    """Lowercase an already tokenized line and split it into tokens."""
    return line.lower().split()


def corpus_bleu_x100(hypotheses: Sequence[List[str]], references: Sequence[List[List[str]]],
                     weights: Tuple[float, ...]) -> float:
    """nltk corpus BLEU without smoothing, x100.

    nltk warns when some n-gram order has no match and then returns 0 (or a tiny value): that
    unsmoothed value is what the literature reports, so the warning is silenced.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return 100.0 * corpus_bleu(references, hypotheses, weights=weights)


def length_percent(hypotheses: Sequence[List[str]], references: Sequence[List[List[str]]]) -> float:
    """Hypothesis tokens as a percentage of the closest references' tokens (BLEU's brevity)."""
    hypothesis_length = sum(len(hypothesis) for hypothesis in hypotheses)
    reference_length = sum(closest_ref_length(sentence_references, len(hypothesis))
                           for hypothesis, sentence_references in zip(hypotheses, references))
    return 100.0 * hypothesis_length / reference_length


def rouge_f_x100(hypotheses: Sequence[str], references: Sequence[List[str]]) -> dict:
    """py-rouge ROUGE-1, ROUGE-2 and ROUGE-L F, averaged over sentences, x100."""
    scores = OfflineRouge(metrics=["rouge-n", "rouge-l"], max_n=2).get_scores(
        list(hypotheses), [list(sentence_references) for sentence_references in references])
    return {
        "rouge1": 100.0 * scores["rouge-1"]["f"],
        "rouge2": 100.0 * scores["rouge-2"]["f"],
        "rougeL": 100.0 * scores["rouge-l"]["f"],
    }


def ibleu(bleu4: float, self_bleu: float) -> float:
    """iBLEU: BLEU-4 against the references, penalized by BLEU-4 against the source."""
    return IBLEU_ALPHA * bleu4 - (1 - IBLEU_ALPHA) * self_bleu


def tokenized(hypotheses: Sequence[str], sources: Sequence[str],
              references: Sequence[Sequence[str]]):
    """The tokens BLEU reads: per hypothesis its tokens, per source the list holding its tokens
    (the source as the only reference, for self-BLEU), per source the list of its references'
    tokens (nltk's and py-rouge's layout)."""
    hypothesis_tokens = [tokenize(line) for line in hypotheses]
    source_tokens = [[tokenize(line)] for line in sources]
    reference_tokens = [[tokenize(reference_set[index]) for reference_set in references]
                        for index in range(len(hypotheses))]
    return hypothesis_tokens, source_tokens, reference_tokens


def score(hypotheses: Sequence[str], sources: Sequence[str],
          references: Sequence[Sequence[str]]) -> dict:
    """Score hypotheses against their references and sources.

    Args:
        hypotheses: one tokenized sentence per source.
        sources: the tokenized source sentences.
        references: one sequence per reference set (per reference file), each aligned with
            ``sources``; e.g. ``[refs]`` for a single reference, four sequences on MSCOCO.

    Returns:
        A dict with the keys of :data:`COLUMNS` (bleu1..bleu4, rouge1, rouge2, rougeL, sacrebleu,
        self_bleu, ibleu, length), every value x100.
    """
    if not hypotheses:
        raise ValueError("no hypotheses to score")
    if not references:
        raise ValueError("at least one reference set is needed")
    for name, lines in [("sources", sources)] + [
            (f"reference set {number}", reference_set)
            for number, reference_set in enumerate(references, 1)]:
        if len(lines) != len(hypotheses):
            raise ValueError(f"{len(hypotheses)} hypotheses but {len(lines)} {name}")

    hypothesis_tokens, source_tokens, reference_tokens = tokenized(hypotheses, sources, references)
    metrics = {name: corpus_bleu_x100(hypothesis_tokens, reference_tokens, weights)
               for name, weights in BLEU_WEIGHTS.items()}
    metrics.update(rouge_f_x100(
        [" ".join(tokens) for tokens in hypothesis_tokens],
        [[" ".join(tokens) for tokens in sentence_references]
         for sentence_references in reference_tokens]))
    metrics["sacrebleu"] = sacrebleu.corpus_bleu(
        [" ".join(tokens) for tokens in hypothesis_tokens],
        [[" ".join(sentence_references[set_index]) for sentence_references in reference_tokens]
         for set_index in range(len(references))]).score
    metrics["self_bleu"] = corpus_bleu_x100(hypothesis_tokens, source_tokens, BLEU_WEIGHTS["bleu4"])
    metrics["ibleu"] = ibleu(metrics["bleu4"], metrics["self_bleu"])
    metrics["length"] = length_percent(hypothesis_tokens, reference_tokens)
    return {key: metrics[key] for key, _ in COLUMNS}


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
    and the hypotheses of a system read against them (each file checked against the source file's
    lines)."""

    def __init__(self, source_path: str, reference_paths: Sequence[str], group_sources: bool = False):
        self.source_path = source_path
        self.sources, self.references = read_sources_and_references(source_path, reference_paths)
        self.lines = len(self.sources)
        self.firsts = None
        if group_sources:
            self.sources, self.references, self.firsts = group_repeated_sources(
                self.sources, self.references, source_path)

    @classmethod
    def of(cls, arguments: argparse.Namespace) -> "ScoringInputs":
        """The inputs of pgkpr-score's command line."""
        return cls(arguments.src, arguments.refs, arguments.group_sources)

    def hypotheses(self, path: Optional[str], file_format: str) -> List[str]:
        """A system's hypotheses, one per (grouped) source; the sources themselves for no path."""
        if path is None:
            return list(self.sources)
        return self.scored(read_hypotheses(path, file_format), path)

    def scored(self, hypotheses: Sequence[str], origin: str) -> List[str]:
        """Of hypotheses read from `origin`, one per line of the source file (checked), those of
        the scored sources."""
        check_same_line_count(origin, len(hypotheses), self.source_path, self.lines)
        if self.firsts is None:
            return list(hypotheses)
        return [hypotheses[index] for index in self.firsts]


def format_metrics(metrics: Mapping[str, float]) -> str:
    """One system's scores as a two-column text table (metric, value with 2 decimals)."""
    width = max(len(header) for _, header in COLUMNS)
    lines = [f"{'metric':<{width}}  {'value':>6}"]
    lines += [f"{header:<{width}}  {metrics[key]:6.2f}" for key, header in COLUMNS]
    return "\n".join(lines)


def format_table(rows: Iterable[Tuple[str, Mapping[str, float]]]) -> str:
    """Several systems' scores as a markdown table in the paper's column layout.

    ``rows`` holds (system name, metrics from :func:`score`) pairs, e.g. ``dict.items()``.
    """
    lines = ["| System | " + " | ".join(header for _, header in COLUMNS) + " |",
             "|---|" + "---:|" * len(COLUMNS)]
    for name, metrics in rows:
        lines.append(f"| {name} | " + " | ".join(
            "n/a" if metrics.get(key) is None else f"{metrics[key]:.2f}" for key, _ in COLUMNS) + " |")
    return "\n".join(lines)


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


def parse_row(text: str) -> Tuple[str, str]:
    """Split a ``--row NAME=FILE`` value."""
    name, separator, path = text.partition("=")
    if not separator or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=FILE, got {text!r}")
    return name, path


def add_common_options(parser: argparse.ArgumentParser, required: bool) -> None:
    """Options shared by single-system scoring and the table."""
    parser.add_argument("--src", required=required, metavar="FILE",
                        help="source sentences, one per line (tokenized)")
    parser.add_argument("--refs", required=required, nargs="+", metavar="FILE",
                        help="reference files, one sentence per line aligned with --src; give "
                             "several for several references per source (MSCOCO: four)")
    parser.add_argument("--format", dest="file_format", choices=("auto", "fairseq", "plain"),
                        default="auto",
                        help="hypothesis file format: fairseq-generate output (its H- lines, "
                             "put in id order), plain (one sentence per line), or auto "
                             "(fairseq if the file has H-<id> lines) [%(default)s]")
    parser.add_argument("--json", metavar="FILE",
                        help="also write the scores and their inputs to this JSON file")
    parser.add_argument("--group-sources", action="store_true",
                        help="score each run of consecutive identical --src lines as one source "
                             "with the run's references and the hypothesis of its first line "
                             "(a pair split of MSCOCO, one pair per reference, scored as its "
                             "test split is)")


def build_parser() -> argparse.ArgumentParser:
    """Parser of ``pgkpr-score`` (one system) and its subcommand ``table`` (several systems)."""
    parser = argparse.ArgumentParser(
        prog="pgkpr-score",
        description="Score one system's paraphrases: BLEU-1..4 (nltk), ROUGE-1/2/L F (py-rouge), "
                    "sacreBLEU, self-BLEU and iBLEU, all x100, and Len% (output length as a % of "
                    "the references'). To score several systems into one markdown table, run "
                    "`pgkpr-score table --help`; to test whether one system beats another, "
                    "`pgkpr-score bootstrap --help`.")
    # One system needs --src, --refs and --hyp or --copy-source; run_single checks them, since
    # argparse would require them of `pgkpr-score table` too.
    hypotheses = parser.add_mutually_exclusive_group()
    hypotheses.add_argument("--hyp", metavar="FILE",
                            help="hypotheses: fairseq-generate output or one sentence per line")
    hypotheses.add_argument("--copy-source", action="store_true",
                            help="score the sources themselves as hypotheses (the floor)")
    add_common_options(parser, required=False)
    parser.set_defaults(run=lambda arguments: run_single(arguments, parser))
    commands = parser.add_subparsers(title="subcommands")
    table = commands.add_parser(
        "table", help="score several systems into one markdown table",
        description="Score several systems on the same sources and references and print a "
                    "markdown table in the paper's layout (B-1 B-2 B-3 B-4 R-1 R-2 R-L sacreBLEU "
                    "self-BLEU iBLEU), then Len%: output length as a % of the references'.")
    table.add_argument("--row", action="append", type=parse_row, default=[], metavar="NAME=FILE",
                       help="a system: its row name and hypothesis file; repeat for each row")
    table.add_argument("--copy-source", action="store_true",
                       help=f"add a last row '{COPY_SOURCE_NAME}' scoring the sources themselves "
                            "(the floor)")
    add_common_options(table, required=True)
    table.set_defaults(run=lambda arguments: run_table(arguments, table))
    paired = commands.add_parser(
        "bootstrap", help="is one system's BLEU-4 and iBLEU better than another's beyond the "
                          "test set's noise? (paired bootstrap resampling)",
        description="Paired bootstrap resampling (Koehn, 2004) of the BLEU-4 and iBLEU difference "
                    "A - B on the same sources and references: both systems' scores, the "
                    "difference, its 95% interval over the resamples, and p, the share of "
                    "resamples in which A does not beat B.")
    paired.add_argument("--a", required=True, type=parse_row, metavar="NAME=FILE",
                        help="system A: its name and hypothesis file")
    paired.add_argument("--b", required=True, type=parse_row, metavar="NAME=FILE",
                        help="system B: its name and hypothesis file")
    paired.add_argument("--samples", type=int, default=1000, help="resamples [%(default)s]")
    paired.add_argument("--seed", type=int, default=1, help="seed of the resampling [%(default)s]")
    add_common_options(paired, required=True)
    paired.set_defaults(run=run_bootstrap)
    return parser


def run_single(arguments: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Score one system, print its table and write the JSON if asked."""
    if arguments.src is None or arguments.refs is None:
        parser.error("the following arguments are required: --src, --refs")
    if arguments.hyp is None and not arguments.copy_source:
        parser.error("one of the arguments --hyp --copy-source is required")
    inputs = ScoringInputs.of(arguments)
    hypothesis_path = None if arguments.copy_source else arguments.hyp
    metrics = score(inputs.hypotheses(hypothesis_path, arguments.file_format), inputs.sources,
                    inputs.references)
    print(format_metrics(metrics))
    if arguments.json:
        write_json(arguments.json, {
            "hypotheses": hypothesis_path or "copy-source",
            "sources": arguments.src,
            "references": arguments.refs,
            "sentences": len(inputs.sources),
            "metrics": metrics,
        })


def run_table(arguments: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Score every row, print the markdown table and write the JSON if asked."""
    systems = list(arguments.row)
    if arguments.copy_source:
        systems.append((COPY_SOURCE_NAME, None))
    if not systems:
        parser.error("give at least one --row NAME=FILE or --copy-source")
    names = [name for name, _ in systems]
    if len(set(names)) != len(names):
        parser.error("row names must be distinct")
    inputs = ScoringInputs.of(arguments)
    rows = [(name, score(inputs.hypotheses(path, arguments.file_format), inputs.sources,
                         inputs.references))
            for name, path in systems]
    print(format_table(rows))
    if arguments.json:
        write_json(arguments.json, {
            "sources": arguments.src,
            "references": arguments.refs,
            "sentences": len(inputs.sources),
            "rows": [{"name": name, "hypotheses": path or "copy-source", "metrics": metrics}
                     for (name, path), (_, metrics) in zip(systems, rows)],
        })


def run_bootstrap(arguments: argparse.Namespace) -> None:
    """Compare two systems by paired bootstrap, print the table and write the JSON if asked."""
    from . import bootstrap  # it builds on this module's metrics

    inputs = ScoringInputs.of(arguments)
    systems = [bootstrap.SystemStatistics.of(inputs.hypotheses(path, arguments.file_format),
                                             inputs.sources, inputs.references)
               for _, path in (arguments.a, arguments.b)]
    comparisons = bootstrap.paired_bootstrap(*systems, arguments.samples, arguments.seed)
    print(bootstrap.format_comparisons(arguments.a[0], arguments.b[0], comparisons,
                                       arguments.samples))
    if arguments.json:
        write_json(arguments.json, {
            "sources": arguments.src, "references": arguments.refs,
            "sentences": len(inputs.sources),
            "a": {"name": arguments.a[0], "hypotheses": arguments.a[1]},
            "b": {"name": arguments.b[0], "hypotheses": arguments.b[1]},
            "samples": arguments.samples, "seed": arguments.seed,
            "comparisons": [vars(comparison) for comparison in comparisons],
        })


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``pgkpr-score`` and ``pgkpr-score table``; returns the exit code."""
    arguments = build_parser().parse_args(argv)
    return run_command("pgkpr-score", lambda: arguments.run(arguments))


if __name__ == "__main__":
    sys.exit(main())
