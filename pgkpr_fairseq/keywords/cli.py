"""`pgkpr-keywords`: stage one of PGKPR from the command line (train, score, merge, plot).

Every bad input stops with one line `pgkpr-keywords: error: FILE:LINE: what` and exit code 1
(pgkpr_fairseq.cli).
"""
import argparse
import sys
from pathlib import Path

from ..cli import positive_int, run_command
from ..precision import require_cpu_bf16
from ..textio import InputError

PROGRAM = "pgkpr-keywords"


def _shard(text: str):
    from .attribution import parse_shard

    try:
        return parse_shard(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _add_machine_options(parser) -> None:
    parser.add_argument("--threads", type=positive_int, help="CPU threads for torch; fewer than the cores when other jobs share them, which otherwise stalls every parallel step [one per core]")
    parser.add_argument("--bf16", action="store_true",
                        help="forward passes under CPU bf16 autocast, float32 weights: for CPUs "
                             "with AVX512-BF16 or AMX (refused elsewhere)")


def _check_bf16(args) -> None:
    if args.bf16:
        try:
            require_cpu_bf16("--bf16")
        except ValueError as error:
            raise InputError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of all subcommands."""
    parser = argparse.ArgumentParser(prog=PROGRAM, description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="fine-tune the paraphrase classifier on the 4N examples of section 3")
    train.add_argument("--src", required=True, type=Path, help="tokenized source sentences, one per line")
    train.add_argument("--tgt", required=True, type=Path, help="tokenized target sentences, aligned with --src")
    train.add_argument("--model", type=Path, help="local BERT-style model folder [the packaged MiniLM]")
    train.add_argument("--output", required=True, type=Path, help="folder for the fine-tuned classifier")
    train.add_argument("--overwrite", action="store_true", help="replace --output if it exists")
    train.add_argument(
        "--examples", type=positive_int, default=20000,
        help="random subset of the 4N examples to use (4N or more: all) [%(default)s: practical on a CPU]",
    )
    train.add_argument("--all-examples", action="store_true", help="use all 4N examples (ignores --examples)")
    train.add_argument("--epochs", type=positive_int, default=1, help="passes over the examples [%(default)s]")
    train.add_argument("--batch-size", type=positive_int, default=32, help="examples per batch [%(default)s]")
    train.add_argument("--lr", type=float, default=5e-5, help="peak AdamW learning rate [%(default)s]")
    train.add_argument("--warmup", type=float, default=0.1, help="share of steps with linear warmup [%(default)s]")
    train.add_argument("--max-length", type=positive_int, default=128, help="word pieces per pair [%(default)s]")
    train.add_argument("--held-out", type=float, default=0.05, help="share of pairs held out for accuracy [%(default)s]")
    train.add_argument("--freeze-word-embeddings", action="store_true",
                       help="do not train the word-embedding table (about a third faster on a CPU for MiniLM)")
    train.add_argument("--seed", type=int, default=1, help="seed of the negatives, the subset, the split and the head [%(default)s]")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_machine_options(train)

    score = commands.add_parser("score", help="keyword probabilities of source words by gradient attribution")
    score.add_argument("--model", required=True, type=Path, help="classifier folder written by `train`")
    score.add_argument("--src", required=True, type=Path, help="tokenized source sentences, one per line")
    score.add_argument("--mode", choices=("self", "ref"), default="self",
                       help="self: score s [SEP] s (training and inference); ref: s [SEP] t with --tgt (PGKPR-ref) [%(default)s]")
    score.add_argument("--tgt", type=Path, help="tokenized targets aligned with --src (mode ref only)")
    score.add_argument("--output", required=True, type=Path, help="one line per sentence, one probability per word")
    score.add_argument("--batch-size", type=positive_int, default=64, help="sentences per forward+backward pass [%(default)s]")
    score.add_argument("--max-length", type=positive_int, help="word pieces per pair [the model's limit]")
    score.add_argument("--limit", type=positive_int, help="score only the first K sentences")
    score.add_argument("--shard", type=_shard,
                       help="i/n: score only the i-th of n contiguous ranges of the sentences (0-based); join with `merge`")
    score.add_argument("--resume", action="store_true", help="continue from OUTPUT.partial left by an interrupted run")
    score.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_machine_options(score)

    merge = commands.add_parser("merge", help="join the outputs of `score --shard 0/n .. n-1/n` into one file")
    merge.add_argument("--src", required=True, type=Path, help="the source file the shards were scored from")
    merge.add_argument("--limit", type=positive_int, help="the --limit the shards were scored with")
    merge.add_argument("--output", required=True, type=Path, help="merged probability file")
    merge.add_argument("shards", nargs="+", type=Path, help="shard outputs in shard order 0/n, 1/n, ...")

    plot = commands.add_parser("plot", help="POS families of sampled keywords as a PNG bar chart (paper Fig. 3, 4)")
    plot.add_argument("--src", required=True, type=Path, help="tokenized sentences, one per line")
    plot.add_argument("--pos", required=True, type=Path, help="one Penn Treebank tag per word, aligned with --src")
    plot.add_argument("--probs", required=True, type=Path, help="keyword probabilities written by `score`")
    plot.add_argument("--limit", type=positive_int, help="use only the first K sentences")
    plot.add_argument("--seed", type=int, default=1, help="seed of the keyword coins [%(default)s]")
    plot.add_argument("--title", default="POS tags of the sampled keywords", help="chart title [%(default)s]")
    plot.add_argument("--output", required=True, type=Path, help="PNG file to write")
    return parser


def run_train(args) -> None:
    """`pgkpr-keywords train`."""
    import torch

    from .classifier import default_model_folder, load_classifier, set_threads
    from .examples import build_examples, split_held_out
    from .textio import read_parallel
    from .train import TrainingOptions, accuracy, fine_tune, save_classifier

    if args.output.exists() and not args.overwrite:
        raise InputError(f"{args.output}: already exists (use --overwrite to replace it)")
    if not 0.0 <= args.held_out < 1.0:
        raise InputError(f"--held-out {args.held_out}: must be in [0, 1)")
    set_threads(args.threads)
    _check_bf16(args)
    sources, targets = read_parallel(args.src, args.tgt)
    count = None if args.all_examples or args.examples >= 4 * len(sources) else args.examples
    try:
        examples = build_examples(sources, targets, args.seed, count)
    except ValueError as error:
        raise InputError(f"{args.src}: {error}") from None
    training, held_out = split_held_out(examples, args.held_out, args.seed)
    torch.manual_seed(args.seed)  # the new classification head
    model, tokenizer = load_classifier(args.model or default_model_folder(), fine_tuned=False)
    options = TrainingOptions(
        epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr,
        warmup_fraction=args.warmup, max_length=args.max_length, seed=args.seed,
        freeze_word_embeddings=args.freeze_word_embeddings, bf16=args.bf16,
    )
    speed = fine_tune(model, tokenizer, training, options, progress_bar=not args.no_progress)
    held_out_accuracy = accuracy(model, tokenizer, held_out, max_length=args.max_length)
    save_classifier(model, tokenizer, args.output, overwrite=args.overwrite)
    print(
        f"fine-tuned on {len(training)} examples ({speed:.1f} examples/s); "
        f"held-out accuracy {held_out_accuracy:.4f} on {len(held_out)} examples; saved to {args.output}"
    )


def run_score(args) -> None:
    """`pgkpr-keywords score`."""
    from .attribution import KeywordScorer, score_file
    from .classifier import load_classifier, set_threads

    if (args.mode == "ref") != (args.tgt is not None):
        raise InputError("--tgt is needed with --mode ref and only there")
    set_threads(args.threads)
    _check_bf16(args)
    model, tokenizer = load_classifier(args.model, fine_tuned=True)
    try:
        scorer = KeywordScorer(model, tokenizer, batch_size=args.batch_size, max_length=args.max_length,
                               bf16=args.bf16)
    except ValueError as error:
        raise InputError(f"--max-length: {error}") from None
    written = score_file(
        scorer, args.src, args.output, partners_path=args.tgt, limit=args.limit, shard=args.shard,
        resume=args.resume, progress_bar=not args.no_progress,
    )
    print(f"wrote keyword probabilities of {written} sentences to {args.output}")


def run_merge(args) -> None:
    """`pgkpr-keywords merge`."""
    from .attribution import merge_shards

    written = merge_shards(args.src, args.shards, args.output, limit=args.limit)
    print(f"merged {len(args.shards)} shards ({written} lines) into {args.output}")


def run_plot(args) -> None:
    """`pgkpr-keywords plot`."""
    from .plot import FAMILY_NAMES, count_families, sample_keyword_tags, save_bar_chart
    from ..textio import read_lines
    from .textio import check_word_aligned, parse_probability

    sentences = read_lines(args.src)[: args.limit]
    tags = check_word_aligned(args.pos, read_lines(args.pos)[: args.limit], args.src, sentences)
    probabilities = check_word_aligned(
        args.probs, read_lines(args.probs)[: args.limit], args.src, sentences, parse_probability
    )
    keyword_tags = sample_keyword_tags(tags, probabilities, args.seed)
    counts = count_families(keyword_tags)
    save_bar_chart(counts, args.output, args.title)
    words = sum(len(sentence_tags) for sentence_tags in tags)
    print(f"{len(keyword_tags)} keywords sampled from {words} words of {len(sentences)} sentences (seed {args.seed})")
    for family, count in counts.items():
        print(f"{family}\t{count}\t{FAMILY_NAMES[family]}")
    print(f"chart written to {args.output}")


COMMANDS = {"train": run_train, "score": run_score, "merge": run_merge, "plot": run_plot}


def main(argv=None) -> int:
    """Entry point of `pgkpr-keywords`; returns the exit code."""
    args = build_parser().parse_args(argv)
    return run_command(PROGRAM, lambda: COMMANDS[args.command](args))


if __name__ == "__main__":
    sys.exit(main())
