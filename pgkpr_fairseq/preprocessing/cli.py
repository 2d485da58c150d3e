"""`pgkpr-prepare`: the preparation steps from raw paraphrase pairs to a PGKPR data-bin.

    pgkpr-prepare quora|coco|folder ...  raw pairs -> TEXT/{split}.src, .tgt (tokenized, lowercased)
    pgkpr-prepare pos ...                -> TEXT/{split}.pos.src, .pos.tgt
    pgkpr-prepare distinct ...           distinct sentences of all splits, to score once
    (pgkpr-keywords train / score         stage one)
    pgkpr-prepare spread ...             their scores -> TEXT/{split}.kwprob
    pgkpr-prepare subwords ...           optional sentencepiece model
    pgkpr-prepare binarize ...           TEXT -> data-bin

`preprocess/prepare.sh` runs them all. Bad input stops with one line
`pgkpr-prepare: error: FILE:LINE: what` and exit code 1 (pgkpr_fairseq.cli).
"""
import argparse
import os
import sys
from typing import Dict, List, Optional, Sequence

from ..cli import positive_int, run_command
from ..textio import InputError
from . import binarize, distinct, pos, raw, record, subwords
from .textfiles import SOURCE, TARGET, read_sentences, text_file
from .tokenize import METHODS, SentenceTokenizer

DEFAULT_SEED = 666  # the random_state of the paper's authors


def count_or_all(value: str) -> int:
    """An argparse type: an integer >= 0, where 0 means no limit."""
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"expected an integer >= 0 (0: no limit), got {value!r}")
    return int(value)


def split_list(value: str) -> List[str]:
    """`train,valid,test` -> the list of split names."""
    names = [name for name in value.split(",") if name]
    if not names:
        raise argparse.ArgumentTypeError("give at least one split name")
    return names


def split_map(value: str) -> Dict[str, str]:
    """`train,valid=val,test=test_clean` -> {our split name: the folder's file name}."""
    mapping = {}
    for item in split_list(value):
        split, _, name = item.partition("=")
        mapping[split] = name or split
    return mapping


def split_limit(value: str) -> Dict[str, int]:
    """`train=2000` -> {"train": 2000}."""
    split, _, count = value.partition("=")
    if not split:
        raise argparse.ArgumentTypeError(f"expected SPLIT=N, got {value!r}")
    return {split: positive_int(count)}


def add_tokenizer_options(parser: argparse.ArgumentParser, max_len: int) -> None:
    parser.add_argument("--textdir", required=True, help="output folder of the text files")
    parser.add_argument("--max-len", type=count_or_all, default=max_len,
                        help="keep at most this many words per sentence, 0 keeps all [%(default)s]")
    parser.add_argument("--tokenizer", choices=METHODS, default="moses",
                        help="moses (sacremoses, for raw text) or space (text that is already tokenized) "
                             "[%(default)s]")


def add_split_size_options(
    parser: argparse.ArgumentParser, train: int, valid: int, test: int, unit: str
) -> None:
    for split, size in (("train", train), ("valid", valid), ("test", test)):
        parser.add_argument(f"--{split}-pairs", type=positive_int, default=size,
                            help=f"{split} split size in {unit} [%(default)s]")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help="seed of the random split [%(default)s]")


def add_pipeline_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pipeline", default=pos.DEFAULT_PIPELINE,
                        help="spaCy pipeline with a tagger, package name or folder [%(default)s]")


def tokenizer_of(args) -> SentenceTokenizer:
    return SentenceTokenizer(args.tokenizer, args.max_len or None)


def write_text_record(args) -> None:
    """Record the tokenization next to the text, for raw sentences given to the trained model."""
    record.write_record(args.textdir, record.tokenization_record(args.tokenizer, args.max_len or None))


def sizes_of(args) -> Dict[str, int]:
    return raw.split_sizes(args.train_pairs, args.valid_pairs, args.test_pairs)


def run_quora(args) -> None:
    raw.prepare_quora(args.input, args.textdir, sizes_of(args), args.seed, tokenizer_of(args))
    write_text_record(args)


def run_coco(args) -> None:
    raw.prepare_coco(args.input, args.textdir, sizes_of(args), args.seed, tokenizer_of(args))
    write_text_record(args)


def run_folder(args) -> None:
    limits = {split: count for limit in args.limit for split, count in limit.items()}
    unknown = set(limits) - set(args.splits)
    if unknown:
        raise InputError(f"--limit names splits that --splits does not: {', '.join(sorted(unknown))}")
    raw.prepare_folder(args.input, args.textdir, args.splits, tokenizer_of(args), limits)
    write_text_record(args)


def run_pos(args) -> None:
    nlp = pos.load_tagger(args.pipeline)
    pos.write_pos_files(args.textdir, args.splits, nlp, args.batch_size, args.n_process)


def run_distinct(args) -> None:
    count = distinct.write_distinct(args.textdir, args.splits, args.prefix, args.with_targets)
    print(f"{count} distinct {'pairs' if args.with_targets else 'sources'} written to {args.prefix}.*",
          file=sys.stderr)


def run_spread(args) -> None:
    distinct.spread_probabilities(
        args.textdir, args.splits, args.prefix, args.probs, args.stream, args.with_targets
    )


def run_subwords(args) -> None:
    sentences = [words for side in (SOURCE, TARGET)
                 for words in read_sentences(text_file(args.textdir, args.train_split, side))]
    prefix = args.model_prefix or os.path.join(args.textdir, "spm")
    print(f"training sentencepiece on {len(sentences)} sentences ...", file=sys.stderr)
    print(subwords.train_sentencepiece(sentences, prefix, args.vocab_size))


def run_binarize(args) -> None:
    tags = () if args.dict or args.base else pos.tag_set(pos.load_tagger(args.pipeline))
    binarize.binarize(
        args.textdir, args.destdir, args.splits, tags=tags, dictionary_path=args.dict,
        nwords=args.nwords or None, sentencepiece_model=args.sentencepiece,
        prob_streams=args.prob_streams, train_split=args.train_split, overwrite=args.overwrite,
        spacy_pipeline=args.pipeline, keyword_model=args.keyword_model, base=args.base,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pgkpr-prepare", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    quora = commands.add_parser("quora", help="Kaggle Quora question pairs -> tokenized text splits")
    quora.add_argument("--input", required=True,
                       help="quora_duplicate_questions.tsv or Kaggle's train.csv (columns id, qid1, "
                            "qid2, question1, question2, is_duplicate); duplicates only are kept")
    add_tokenizer_options(quora, max_len=17)
    add_split_size_options(quora, 100_000, 4_000, 20_000, "pairs")
    quora.set_defaults(run=run_quora)

    coco = commands.add_parser("coco", help="COCO captions -> tokenized text splits, by image")
    coco.add_argument("--input", required=True, nargs="+",
                      help="captions JSON file(s) (captions_train2017.json format), pooled by image")
    add_tokenizer_options(coco, max_len=16)
    add_split_size_options(coco, 93_000, 4_000, 20_000, "pairs, four per image")
    coco.set_defaults(run=run_coco)

    folder = commands.add_parser("folder", help="aligned NAME.src / NAME.tgt files -> tokenized text")
    folder.add_argument("--input", required=True, help="folder holding NAME.src and NAME.tgt per split")
    folder.add_argument("--splits", type=split_map, default="train,valid,test",
                        help="splits to take, SPLIT or SPLIT=NAME when the folder names it "
                             "differently, e.g. train,valid=val,test=test_clean [%(default)s]")
    folder.add_argument("--limit", type=split_limit, action="append", default=[],
                        help="keep only the first N pairs of a split, as SPLIT=N (repeatable); "
                             "e.g. to score only a subset with stage one")
    add_tokenizer_options(folder, max_len=17)
    folder.set_defaults(run=run_folder)

    tagging = commands.add_parser("pos", help="POS tag TEXT/{split}.src and .tgt -> .pos.src and .pos.tgt")
    tagging.add_argument("--textdir", required=True, help="folder of the text files")
    tagging.add_argument("--splits", type=split_list, default="train,valid,test",
                         help="comma-separated splits to tag [%(default)s]")
    add_pipeline_option(tagging)
    tagging.add_argument("--batch-size", type=positive_int, default=pos.DEFAULT_BATCH_SIZE,
                         help="sentences per spaCy batch [%(default)s]")
    tagging.add_argument("--n-process", type=positive_int, default=1,
                         help="spaCy worker processes; two were slower on 2 cores, see BENCHMARKS.md "
                              "[%(default)s]")
    tagging.set_defaults(run=run_pos)

    for name, help_text in (
        ("distinct", "write the distinct sources of the splits (PREFIX.src) for stage-one scoring"),
        ("spread", "spread the scores of PREFIX.src over the splits: TEXT/{split}.STREAM"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--textdir", required=True, help="folder of the text files")
        command.add_argument("--splits", type=split_list, default="train,valid,test",
                             help="comma-separated splits [%(default)s]")
        command.add_argument("--prefix", required=True,
                             help="PREFIX.src (and PREFIX.tgt): the distinct sentences")
        command.add_argument("--with-targets", action="store_true",
                             help="distinct source-target pairs, for `pgkpr-keywords score --mode ref`")
    commands.choices["distinct"].set_defaults(run=run_distinct)
    spread = commands.choices["spread"]
    spread.add_argument("--probs", required=True, help="the scores of PREFIX.src, one line per sentence")
    spread.add_argument("--stream", default="kwprob",
                        help="output name: TEXT/{split}.STREAM (kwprob_ref for ref scores) [%(default)s]")
    spread.set_defaults(run=run_spread)

    pieces = commands.add_parser("subwords", help="train a sentencepiece model on the training split")
    pieces.add_argument("--textdir", required=True, help="folder of the text files")
    pieces.add_argument("--vocab-size", type=positive_int, required=True, help="number of pieces")
    pieces.add_argument("--model-prefix",
                        help="writes PREFIX.model and PREFIX.vocab [TEXTDIR/spm]")
    pieces.add_argument("--train-split", default="train",
                        help="split whose src and tgt train it [%(default)s]")
    pieces.set_defaults(run=run_subwords)

    binarizing = commands.add_parser("binarize", help="text files -> PGKPR data-bin (docs/data-format.md)")
    binarizing.add_argument("--textdir", required=True, help="folder of the text files")
    binarizing.add_argument("--destdir", required=True, help="the data-bin folder to write")
    binarizing.add_argument("--splits", type=split_list, default="train,valid,test",
                            help="comma-separated splits to binarize [%(default)s]")
    binarizing.add_argument("--train-split", default="train",
                            help="split whose src and tgt make the dictionary [%(default)s]")
    binarizing.add_argument("--nwords", type=count_or_all, default=binarize.DEFAULT_NWORDS,
                            help="keep the N most frequent words or pieces, 0 keeps all [%(default)s]")
    add_pipeline_option(binarizing)
    binarizing.add_argument("--dict",
                            help="use this existing dictionary (e.g. a trained model's dict.src.txt) "
                                 "instead of building one; --pipeline and --nwords are then unused")
    binarizing.add_argument("--base",
                            help="an existing data-bin: write a copy of it with --splits added or "
                                 "replaced, binarized with its dictionary (and spm.model); its other "
                                 "files are copied byte for byte, so that the models trained on it "
                                 "(and pgkpr-experiment's cache) apply to the new splits [none]")
    binarizing.add_argument("--sentencepiece",
                            help="split words into the pieces of this sentencepiece model [none: words]")
    binarizing.add_argument("--prob-streams", type=split_list, default="kwprob,kwprob_ref",
                            help="comma-separated keyword probability files to store, TEXT/{split}.NAME "
                                 "-> stream NAME (stage two trains on kwprob_ref and generates from "
                                 "kwprob) [%(default)s]")
    binarizing.add_argument("--keyword-model",
                            help="the stage-one classifier folder that scored the probabilities: "
                                 "recorded in DESTDIR/preparation.json, where the Python API and "
                                 "pgkpr-paraphrase find it [none]")
    binarizing.add_argument("--overwrite", action="store_true", help="replace an existing DESTDIR")
    binarizing.set_defaults(run=run_binarize)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of `pgkpr-prepare`; returns the exit code."""
    args = build_parser().parse_args(argv)
    return run_command("pgkpr-prepare", lambda: args.run(args))


if __name__ == "__main__":
    sys.exit(main())
