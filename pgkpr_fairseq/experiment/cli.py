"""`pgkpr-experiment`: its options, and the run over the chosen rows."""
import argparse
import os
import shlex
import signal
import sys
from typing import List, Optional, Sequence

from ..scoring import read_sources_and_references
from ..textio import InputError, atomic_output
from .inputs import Inputs
from .messages import ExperimentError, progress
from .report import format_report
from .runner import Experiment
from .systems import QUICK_SYSTEMS, SYSTEM_NAMES, make_systems


def parse_systems(text: str) -> List[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in SYSTEM_NAMES]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown system {', '.join(map(repr, unknown))}; choose from {', '.join(SYSTEM_NAMES)}")
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pgkpr-experiment",
        description="Train, generate and score the paper's systems (Tables 2-3) on a folder prepared "
                    "by preprocess/prepare.sh, and print the table. Rows are cached: rerun to "
                    "resume or complete the table.")
    parser.add_argument("work", metavar="WORK",
                        help="folder written by preprocess/prepare.sh (WORK/text, WORK/data-bin)")
    where = parser.add_argument_group("inputs and outputs")
    where.add_argument("--data-bin", help="the data-bin [WORK/data-bin]")
    where.add_argument("--text", help="the text folder with the test sources and references "
                                      "[WORK/text]")
    where.add_argument("--cache", help="cache folder of trained models and rows [WORK/experiments]")
    where.add_argument("--output", help="also write the report (markdown) to this file "
                                        "[CACHE/results.md]")
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
    model = parser.add_argument_group("model (the same for every system; the paper's sizes by default)")
    model.add_argument("--encoder-layers", type=int, default=6, help="encoder layers [%(default)s]")
    model.add_argument("--decoder-layers", type=int, default=6, help="decoder layers [%(default)s]")
    model.add_argument("--embed-dim", type=int, default=512, help="model width [%(default)s]")
    model.add_argument("--ffn-dim", type=int, default=2048, help="feed-forward width [%(default)s]")
    model.add_argument("--heads", type=int, default=8, help="attention heads [%(default)s]")
    model.add_argument("--dropout", type=float, default=0.1, help="dropout [%(default)s]")
    losses = parser.add_argument_group("losses")
    losses.add_argument("--rec-weight", type=float, default=1.0,
                        help="lambda1 of PGKPR (reconstruction) [%(default)s]")
    losses.add_argument("--con-weight", type=float, default=0.1,
                        help="lambda2 of PGKPR (contrastive): the paper's 0.1 on Quora, 1 on "
                             "MSCOCO [%(default)s]")
    losses.add_argument("--con-temperature", type=float, default=0.1,
                        help="tau of the contrastive loss [%(default)s]")
    losses.add_argument("--con-similarity", choices=("dot", "cosine"), default="dot",
                        help="similarity of the contrastive loss [%(default)s]")
    losses.add_argument("--con-counterparts", choices=("trained", "detached"), default="trained",
                        help="counterparts of the contrastive loss encoded with gradients (as eq. 3 "
                             "reads) or without (fairseq's --con-detach-counterparts) [%(default)s]")
    losses.add_argument("--label-smoothing", type=float, default=0.1,
                        help="label smoothing of the generation loss, every system [%(default)s]")
    losses.add_argument("--inference-keywords", choices=("sample", "threshold"), default="sample",
                        help="PGKPR's keyword selection on valid and test [%(default)s]")
    losses.add_argument("--keyword-threshold", type=float, default=0.5,
                        help="threshold of --inference-keywords threshold [%(default)s]")
    budget = parser.add_argument_group("optimization and budget (the same for every system)")
    budget.add_argument("--lr", type=float, default=1e-4, help="Adam learning rate [%(default)s]")
    budget.add_argument("--lr-scheduler", choices=("fixed", "inverse_sqrt"), default="fixed",
                        help="learning-rate schedule [%(default)s: constant, as the authors]")
    budget.add_argument("--warmup-updates", type=int, default=0,
                        help="linear warm-up updates [%(default)s]")
    budget.add_argument("--clip-norm", type=float, default=0.0,
                        help="gradient norm clipping, 0 for none [%(default)s]")
    budget.add_argument("--batch-size", type=int, default=128,
                        help="sentences per batch [%(default)s]")
    budget.add_argument("--max-epoch", type=int, default=35,
                        help="epochs at most [%(default)s: the authors' 35 on Quora]")
    budget.add_argument("--max-update", type=int, default=0,
                        help="updates at most, 0 for no limit [%(default)s]")
    budget.add_argument("--patience", type=int, default=5,
                        help="stop after this many validations without a better valid "
                             "nll_loss [%(default)s]")
    budget.add_argument("--seed", type=int, default=1, help="training seed [%(default)s]")
    budget.add_argument("--train-args", default="",
                        help="further fairseq-train options for every system, one string "
                             "(part of the cache key)")
    decoding = parser.add_argument_group("decoding (the same for every system)")
    decoding.add_argument("--beam", type=int, default=5, help="beam size [%(default)s]")
    decoding.add_argument("--lenpen", type=float, default=1.0, help="length penalty [%(default)s]")
    decoding.add_argument("--max-len", type=int, default=200,
                          help="generated tokens at most (absolute: fairseq's --max-len-b with "
                               "--max-len-a 0) [%(default)s]")
    decoding.add_argument("--gen-batch-size", type=int, default=128,
                          help="sentences per generation batch [%(default)s]")
    decoding.add_argument("--generate-args", default="",
                          help="further fairseq-generate options for every system, one string "
                               "(part of the cache key)")
    machine = parser.add_argument_group("machine (not part of the cache key)")
    machine.add_argument("--cpu", action=argparse.BooleanOptionalAction, default=None,
                         help="train and generate on the CPU [when no GPU is visible]")
    machine.add_argument("--threads", type=int,
                         help="OMP_NUM_THREADS / MKL_NUM_THREADS of the fairseq runs [torch's default]")
    machine.add_argument("--num-workers", type=int, default=0,
                         help="fairseq data-loading worker processes; 0 loads (and perturbs) in "
                              "the training process, so time per update includes it [%(default)s]")
    machine.add_argument("--log-interval", type=int, default=20,
                         help="updates per fairseq log line (the speeds are medians over them) "
                              "[%(default)s]")
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


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Entry point of `pgkpr-experiment`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # A terminated run cleans up like an interrupted one: fairseq stopped, no temporary files left.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    args = build_parser().parse_args(argv)
    try:
        inputs = resolve_paths(args)
        resolve_device(args)
        systems = make_systems(args.rec_weight, args.con_weight)
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
            except (ExperimentError, InputError) as error:
                failures.append(system.name)
                progress(f"pgkpr-experiment: {error}")
        sources, _ = read_sources_and_references(inputs.source_path(), inputs.reference_paths())
        pending = [system.name for system in chosen if system.name not in results]
        report = format_report(results, pending, len(sources), args.test_split,
                               shlex.join(["pgkpr-experiment"] + argv))
        print(report, end="")
        with atomic_output(args.output) as handle:
            handle.write(report)
        progress(f"report written to {args.output}")
        if failures:
            sys.exit(f"pgkpr-experiment: error: failed rows: {', '.join(failures)} (logs above)")
    except (ExperimentError, InputError) as error:
        sys.exit(f"pgkpr-experiment: error: {error}")
