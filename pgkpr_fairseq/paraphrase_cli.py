"""`pgkpr-paraphrase`: paraphrase raw sentences (a file, or standard input) with a trained PGKPR model.

    pgkpr-paraphrase --model work/checkpoints sentences.txt -n 3 --keep python > paraphrases.tsv

One input sentence per line. TSV output: one row per paraphrase, `line  rank  score  paraphrase
keywords` (line and rank from 1, keywords space-separated); an input line without paraphrase (an
empty one) has no row. JSON lines: one object per input line, {"line", "source", "paraphrases":
[{"text", "tokens", "score", "keywords", "keeps_pinned"}]}. An --output file is written under a temporary name
and renamed when complete. Bad input stops with one line and exit code 1.
"""
import argparse
import json
import sys
from contextlib import nullcontext
from typing import List, Optional, Sequence

from tqdm import tqdm

from .cli import positive_int, run_command
from .paraphrase import Paraphrase, Paraphraser
from .textio import atomic_output, read_lines

# Sentences per call of the API: its stage-one and beam-search batches fill, and the bar moves.
SENTENCES_PER_CALL = 512


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pgkpr-paraphrase", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input", nargs="?", default="-", help="file of sentences, one per line [stdin]")
    parser.add_argument("--model", required=True, help="folder of the checkpoint (a training --save-dir)")
    parser.add_argument("--checkpoint", default="checkpoint_best.pt", help="file name in --model [%(default)s]")
    parser.add_argument("--data", help="the model's data-bin [found from the checkpoint]")
    parser.add_argument("--keyword-model", help="stage-one classifier folder [the data-bin's record]")
    parser.add_argument("--spacy-pipeline", help="spaCy pipeline [the data-bin's record]")
    parser.add_argument("-n", type=positive_int, default=1, help="paraphrases per sentence [%(default)s]")
    parser.add_argument("--keep", default="",
                        help="comma-separated words or phrases to keep where a sentence has them, e.g. "
                             "'python,new york' [none]")
    parser.add_argument("--hard-constraints", action="store_true",
                        help="the kept words must appear in the output (lexically constrained beam search)")
    parser.add_argument("--diverse", action="store_true",
                        help="n keyword draws, one paraphrase each, duplicates removed [off: beam search's n best]")
    parser.add_argument("--beam", type=positive_int, default=5, help="beam size [%(default)s]")
    parser.add_argument("--batch-size", type=positive_int, default=64, help="sentences per batch [%(default)s]")
    parser.add_argument("--format", choices=("tsv", "jsonl"), default="tsv", help="output format [%(default)s]")
    parser.add_argument("--output", default="-", help="output file [stdout]")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar [shown for file input]")
    return parser


def format_results(first_line: int, sentences: Sequence[str], results: Sequence[List[Paraphrase]],
                   output_format: str) -> str:
    lines = []
    for number, (sentence, paraphrases) in enumerate(zip(sentences, results), first_line):
        if output_format == "jsonl":
            lines.append(json.dumps({"line": number, "source": sentence,
                                     "paraphrases": [vars(p) for p in paraphrases]}, ensure_ascii=False))
        else:
            lines.extend(f"{number}\t{rank}\t{p.score:.4f}\t{p.text}\t{' '.join(p.keywords)}"
                         for rank, p in enumerate(paraphrases, 1))
    return "".join(line + "\n" for line in lines)


def paraphrase_file(args) -> None:
    paraphraser = Paraphraser.from_pretrained(
        args.model, args.checkpoint, data=args.data, keyword_model=args.keyword_model,
        spacy_pipeline=args.spacy_pipeline)
    from_file = args.input != "-"
    sentences = read_lines(args.input, allow_empty_lines=True) if from_file else sys.stdin.read().splitlines()
    keep = [phrase.strip() for phrase in args.keep.split(",") if phrase.strip()]
    output = atomic_output(args.output) if args.output != "-" else nullcontext(sys.stdout)
    with output as out, tqdm(total=len(sentences), unit=" sent", desc="paraphrasing",
                             disable=args.no_progress or not from_file) as progress:
        for start in range(0, len(sentences), SENTENCES_PER_CALL):
            chunk = sentences[start:start + SENTENCES_PER_CALL]
            results = paraphraser.paraphrase(
                chunk, n=args.n, keep=keep, diverse=args.diverse, beam=args.beam,
                batch_size=args.batch_size, hard_constraints=args.hard_constraints)
            out.write(format_results(start + 1, chunk, results, args.format))
            out.flush()
            progress.update(len(chunk))


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of `pgkpr-paraphrase`; returns the exit code."""
    args = build_parser().parse_args(argv)
    return run_command("pgkpr-paraphrase", lambda: paraphrase_file(args))


if __name__ == "__main__":
    sys.exit(main())
