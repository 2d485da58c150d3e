"""`pgkpr-experiment`: its options, and the run over the chosen rows."""
import argparse
import os
import shlex
import signal
import sys
from dataclasses import fields
from typing import List, Optional, Sequence, Tuple

from ..cli import run_command
from ..textio import InputError, atomic_output
from .export import export_hypotheses
from .inputs import Inputs
from .messages import ExperimentError, progress
from .report import format_report
from .runner import Experiment
from .settings import (MACHINE, SETTINGS, add_arguments, default_variable, option_name,
                       recipe_variables)
from .systems import QUICK_SYSTEMS, SYSTEM_NAMES, make_systems

PROGRAM = "pgkpr-experiment"
# What stops a row, or the run, with one line (pgkpr_fairseq.cli).
USER_ERRORS = (ExperimentError, InputError)


def parse_systems(text: str) -> List[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in SYSTEM_NAMES]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown system {', '.join(map(repr, unknown))}; choose from {', '.join(SYSTEM_NAMES)}")
    return names


def parse_variant(text: str) -> Tuple[str, List[str]]:
    """'LABEL=pgkpr-experiment options' -> (label, the options as a list): a row of the benchmark
    scripts trained with these options besides the common ones."""
    label, separator, options = text.partition("=")
    if not separator or not label.strip():
        raise argparse.ArgumentTypeError(f"--variant {text!r}: expected LABEL=OPTIONS")
    return label.strip(), shlex.split(options)


def recipe_options() -> List[Tuple[str, Tuple[str, ...]]]:
    """The options the recipes set from environment variables (scripts/experiment_env.sh), each with
    its variables: every setting, and --cache."""
    return ([(option_name(setting), recipe_variables(setting))
             for settings_class in SETTINGS for setting in fields(settings_class)]
            + [("--cache", (default_variable("--cache"),))])


class PrintRecipeOptions(argparse.Action):
    """Prints recipe_options(), one option and its variables per line, and exits."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print("\n".join(" ".join([option, *variables]) for option, variables in recipe_options()))
        parser.exit()


def recipe_epilog() -> str:
    exceptions = [f"{option}: {' or '.join(variables)}" for option, variables in recipe_options()
                  if variables != (default_variable(option),)]
    return ("The recipes (scripts/quora/run.sh, scripts/mscoco/run.sh, scripts/benchmark_quora.sh) set "
            "each option from the environment variable of its name in capitals (--embed-dim: "
            f"EMBED_DIM), except {'; '.join(exceptions)}.")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="Train, generate and score the paper's systems (Tables 2-3) on a folder prepared "
                    "by preprocess/prepare.sh, and print the table. Rows are cached: rerun to "
                    "resume or complete the table.",
        epilog=recipe_epilog())
    parser.add_argument("--recipe-variables", action=PrintRecipeOptions,
                        help="print each option the recipes set from environment variables, with "
                             "its variables (the first one set wins), and exit")
    parser.add_argument("work", metavar="WORK",
                        help="folder written by preprocess/prepare.sh (WORK/text, WORK/data-bin)")
    where = parser.add_argument_group("inputs and outputs")
    where.add_argument("--data-bin", help="the data-bin [WORK/data-bin]")
    where.add_argument("--text", help="the text folder with the test sources and references "
                                      "[WORK/text]")
    where.add_argument("--cache", help="cache folder of trained models and rows [WORK/experiments]")
    where.add_argument("--output", help="also write the report (markdown) to this file "
                                        "[CACHE/results.md]")
    where.add_argument("--hypotheses", metavar="DIR",
                       help="also write each decoded row's hypotheses (one line per test source, in "
                            "file order) to DIR/<system>.seed<N>.<split>[.lenpen<L>].hyp.gz, for "
                            "pgkpr-score, and its scores to DIR/<same name>.scores.json")
    where.add_argument("--test-split", default="test",
                       help="split to generate and score [%(default)s]; references are "
                            "TEXT/SPLIT.ref0, .ref1, ... when present (MSCOCO), else TEXT/SPLIT.tgt")
    rows = parser.add_argument_group("rows")
    tier = rows.add_mutually_exclusive_group()
    tier.add_argument("--systems", type=parse_systems, default=list(SYSTEM_NAMES),
                      help="comma-separated rows to compute, from: " + ", ".join(SYSTEM_NAMES)
                           + " [all]")
    tier.add_argument("--quick", dest="systems", action="store_const", const=list(QUICK_SYSTEMS),
                      help="only " + ", ".join(QUICK_SYSTEMS))
    rows.add_argument("--table-only", action="store_true",
                      help="compute nothing: print the table of the rows already cached")
    groups = {}
    for settings_class in SETTINGS:
        groups.update(add_arguments(parser, settings_class))
    groups[MACHINE].add_argument("--cpu", action=argparse.BooleanOptionalAction, default=None,
                                 help="train and generate on the CPU [when no GPU is visible]")
    return parser


def resolve_device(args: argparse.Namespace) -> None:
    """--cpu unless given: the CPU when no GPU is visible."""
    if args.cpu is None:
        import torch  # here, not at start-up: the runner itself needs no torch
        args.cpu = not torch.cuda.is_available()


def resolve_paths(args: argparse.Namespace) -> Inputs:
    args.work = os.path.abspath(args.work)
    if not os.path.isdir(args.work):
        raise ExperimentError(f"no folder {args.work} (run preprocess/prepare.sh first)")
    args.cache = os.path.abspath(args.cache or os.path.join(args.work, "experiments"))
    args.output = args.output or os.path.join(args.cache, "results.md")
    return Inputs(os.path.abspath(args.data_bin or os.path.join(args.work, "data-bin")),
                  os.path.abspath(args.text or os.path.join(args.work, "text")), args.test_split)


def run(args: argparse.Namespace, command_line: str) -> None:
    """Compute (or read from the cache) the chosen rows, print and write the report."""
    inputs = resolve_paths(args)
    resolve_device(args)
    systems = make_systems()
    chosen = [systems[name] for name in SYSTEM_NAMES if name in args.systems]
    inputs.check([] if args.table_only else chosen)
    os.makedirs(args.cache, exist_ok=True)
    experiment = Experiment(args, inputs)
    results, failures = {}, []
    for position, system in enumerate(chosen, 1):
        if args.table_only:
            cached = experiment.cached_row(system)
            if cached is not None:
                results[system.name] = cached
            continue
        progress(f"[{position}/{len(chosen)}] {system.name}")
        try:
            results[system.name] = experiment.run_row(system)
        except USER_ERRORS as error:  # the other rows can still be computed
            failures.append(system.name)
            progress(f"{PROGRAM}: {error}")
    sources = experiment.scoring_inputs().sources
    pending = [system.name for system in chosen if system.name not in results]
    report = format_report(results, pending, len(sources), args.test_split, command_line)
    print(report, end="")
    with atomic_output(args.output) as handle:
        handle.write(report)
    progress(f"report written to {args.output}")
    if args.hypotheses:
        for path in export_hypotheses(results, args.hypotheses, args.seed, args.test_split,
                                      args.lenpen):
            progress(f"hypotheses written to {path}")
    if failures:
        raise ExperimentError(f"failed rows: {', '.join(failures)} (logs above)")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of `pgkpr-experiment`; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # A terminated run cleans up like an interrupted one: fairseq stopped, no temporary files left.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.hypotheses and args.score_units != "lines":
        parser.error("--hypotheses writes one line per line of the split, scored line by line: "
                     "not with --score-units sources")
    return run_command(PROGRAM, lambda: run(args, shlex.join([PROGRAM] + argv)), USER_ERRORS)
