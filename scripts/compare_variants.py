#!/usr/bin/env python
"""Choose settings on val: rows of pgkpr-experiment under variants of its options, side by side, each
with a paired bootstrap of BLEU-4 and iBLEU against one row.

  python scripts/compare_variants.py [--run] [--rows Transformer,PGKPR] \
      --variant "tau 0.2=--con-temperature 0.2" --variant "aligned=--two-part-positions aligned" \
      -- WORK --test-split valid [pgkpr-experiment options]

The rows are --rows with the common options, then a PGKPR row per --variant trained with its options
besides the common ones (the variant's win). Each row is read from pgkpr-experiment's cache; with
--run, the rows not cached yet are first computed by pgkpr-experiment itself, one after the other
(interrupt and rerun to resume: its cache keeps what is done; each row's report goes to
CACHE/variants/, its progress to stderr). A second instance of the same
command computes other rows meanwhile: a row whose model another run is training is left to it. A
row not computed yet shows as pending. The table gives each row's BLEU-4, iBLEU, self-BLEU, Len%
and best epoch, and its BLEU-4 and iBLEU minus the --against row's, with the 95% interval and p of
`pgkpr-score bootstrap`. With --unseen-in WORK/text/train.src, every column is computed on the
sources that are not training sources only (as `pgkpr-score --unseen-in`), for a split such as
Quora's val, most of whose sources the models were trained on.
"""
import argparse
import os
import subprocess
import sys
from dataclasses import dataclass
from functools import cached_property
from typing import List, Optional

from pgkpr_fairseq import experiment
from pgkpr_fairseq.cli import run_command
from pgkpr_fairseq.scoring import bootstrap, score
from pgkpr_fairseq.textio import InputError


@dataclass
class Row:
    label: str
    system: experiment.System
    options: List[str]  # pgkpr-experiment's command line for this row
    result: Optional[dict] = None

    @cached_property
    def runner(self) -> experiment.Experiment:
        """The runner for this row's options (it caches the data's fingerprints)."""
        args = experiment.build_parser().parse_args(self.options)
        inputs = experiment.resolve_paths(args)
        experiment.resolve_device(args)
        return experiment.Experiment(args, inputs)


def build_rows(row_names: List[str], variants, experiment_args: List[str]) -> List[Row]:
    systems = experiment.make_systems()
    rows = [Row(name, systems[name], experiment_args) for name in row_names]
    rows += [Row(label, systems[experiment.PGKPR], experiment_args + options)
             for label, options in variants]
    return rows


def compute(row: Row) -> None:
    """pgkpr-experiment on this one row; its report goes beside the cache's results.md."""
    args = row.runner.args
    stem = experiment.file_stem(row.label, args.seed, args.test_split, args.lenpen)
    report = os.path.join(args.cache, "variants", stem + ".md")
    os.makedirs(os.path.dirname(report), exist_ok=True)
    command = ["pgkpr-experiment", *row.options, "--systems", row.system.name, "--output", report]
    print(f"== {row.label}: {' '.join(command)}", file=sys.stderr, flush=True)
    # the pgkpr-experiment of this interpreter's venv, whether or not the venv is on PATH; its
    # report goes to `report` and its stdout to stderr, so that stdout holds this script's table only
    executable = os.path.join(os.path.dirname(sys.executable), command[0])
    if subprocess.call([executable, *command[1:]], stdout=sys.stderr) != 0:
        # e.g. another instance holds the row's model folder: it computes the row, this one goes on
        print(f"== {row.label}: not computed here (pgkpr-experiment's message above); the table "
              "shows it as pending", file=sys.stderr)


def format_table(rows: List[Row], against: Row, samples: int, unseen_in: Optional[str]) -> str:
    runner = against.runner
    # as the rows were scored (--score-units), without the sources of unseen_in if given
    scoring = runner.scoring_inputs(seen_sources_path=unseen_in)
    sources = scoring.sources

    # each computed row's hypotheses of the scored sources, read once from its generate.out
    hypotheses = {row.label: scoring.hypotheses(os.path.join(row.result["folder"], "generate.out"),
                                                "fairseq")
                  for row in rows if row.result is not None}

    def statistics(row: Row) -> bootstrap.SystemStatistics:
        return bootstrap.SystemStatistics.of(hypotheses[row.label], sources, scoring.references)

    def metrics(row: Row) -> dict:
        if unseen_in is None:
            return row.result["metrics"]  # the runner's, on the whole split
        return score(hypotheses[row.label], sources, scoring.references)

    baseline = statistics(against) if against.result else None
    subset = f" whose source is not a line of {unseen_in}" if unseen_in else ""
    lines = [f"Rows on the {len(sources)} sentences of split '{runner.args.test_split}'{subset}; "
             f"differences are the row's minus {against.label}'s ({samples} paired bootstrap "
             "resamples: 95% interval, p = the share of resamples where the row does not beat it).",
             "",
             "| row | B-4 | iBLEU | self-BLEU | Len% | best epoch | stopped | B-4 difference | p "
             "| iBLEU difference | p |",
             "|---|" + "---:|" * 6 + "---|---:|---|---:|"]
    for row in rows:
        if row.result is None:
            lines.append(f"| {row.label} | pending |" + " |" * 9)
            continue
        row_metrics, training = metrics(row), row.result["training"]
        cells = [f"{row_metrics[key]:.2f}" for key in ("bleu4", "ibleu", "self_bleu", "length")]
        cells += [str(training["best_epoch"]), "early" if training["stopped_early"] else "budget"]
        if row is against or baseline is None:
            cells += ["", "", "", ""]
        else:
            for comparison in bootstrap.paired_bootstrap(statistics(row), baseline, samples):
                cells += [f"{comparison.difference:+.2f} [{comparison.low:+.2f}, "
                          f"{comparison.high:+.2f}]", f"{comparison.p_value:.3f}"]
        lines.append(f"| {row.label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=experiment.parse_systems, default=experiment.PGKPR,
                        help="comma-separated rows with the common options [%(default)s]")
    parser.add_argument("--variant", type=experiment.parse_variant, action="append", default=[],
                        metavar="LABEL=OPTIONS",
                        help="add a PGKPR row trained with these pgkpr-experiment options besides "
                             "the common ones (repeatable)")
    parser.add_argument("--against", help="the row the others are compared with [PGKPR]")
    parser.add_argument("--run", action="store_true",
                        help="compute the rows not cached yet (pgkpr-experiment, one at a time)")
    parser.add_argument("--samples", type=int, default=1000, help="bootstrap resamples [%(default)s]")
    parser.add_argument("--unseen-in", metavar="FILE",
                        help="compute every column on the sources that are not lines of FILE "
                             "only (e.g. WORK/text/train.src: the pairs unseen in training)")
    parser.add_argument("--output", help="also write the table (markdown) to this file")
    parser.add_argument("experiment_args", nargs=argparse.REMAINDER,
                        help="-- then pgkpr-experiment's WORK and options")
    args = parser.parse_args()
    experiment_args = [arg for arg in args.experiment_args if arg != "--"]
    rows = build_rows(args.rows, args.variant, experiment_args)
    labels = [row.label for row in rows]
    if len(set(labels)) != len(labels):
        parser.error(f"two rows share a label: {', '.join(labels)}")
    against_label = args.against or experiment.PGKPR
    if against_label not in labels:
        parser.error(f"--against {against_label!r}: not a row ({', '.join(labels)})")

    # A bad input (a missing WORK or --unseen-in file, ...) ends in one line naming it.
    return run_command("compare_variants.py",
                       lambda: compare(rows, rows[labels.index(against_label)], args),
                       (experiment.ExperimentError, InputError))


def compare(rows: List[Row], against: Row, args: argparse.Namespace) -> None:
    """Read (or with --run, compute) the rows, print the table and write it to --output."""
    for row in rows:
        row.result = row.runner.cached_row(row.system)
        if row.result is None and args.run:
            compute(row)
            row.result = row.runner.cached_row(row.system)
    table = format_table(rows, against, args.samples, args.unseen_in)
    print(table)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(table + "\n")


if __name__ == "__main__":
    sys.exit(main())
