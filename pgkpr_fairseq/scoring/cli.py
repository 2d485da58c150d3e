"""The command line of `pgkpr-score`: one system's scores, several systems' table, and the paired
bootstrap of two systems."""
import argparse
from typing import Optional, Sequence, Tuple

from ..cli import run_command
from . import bootstrap
from .files import ScoringInputs, write_json
from .metrics import COPY_SOURCE_NAME, format_metrics, format_table, score


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
    parser.add_argument("--unseen-in", metavar="FILE",
                        help="score only the sources that are not a line of FILE, e.g. the "
                             "training sources: the pairs of a val split unseen in training, as "
                             "a leak-free test split's are (after --group-sources)")


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

