#!/usr/bin/env python
"""Are stage one's keywords the words a paraphrase keeps? For each keyword stream of a prepared text
folder, the share of keyword draws whose word is in the target, against the share of the other
words, in expectation over the Bernoulli draws of training (a word is a keyword with its probability).

  python scripts/keyword_overlap.py --text WORK/text [--split train] [--streams kwprob_ref,kwprob]

A stream whose keywords are kept more often than the other words teaches PGKPR "a keyword stays";
one whose keywords are kept less often teaches the opposite.
"""
import argparse
import os
import sys

from pgkpr_fairseq.cli import run_command
from pgkpr_fairseq.preprocessing.binarize import read_probabilities
from pgkpr_fairseq.textio import check_same_line_count, check_words_per_line, read_lines


def overlap(sources, targets, probabilities):
    """(P(in target | keyword), P(in target | not a keyword), mean keyword probability), for aligned
    source lines, target lines and rows of one probability per source word."""
    kept_keyword = keyword = kept_other = other = 0.0
    for source, target, row in zip(sources, targets, probabilities):
        target_words = set(target.split())
        for word, probability in zip(source.split(), row):
            in_target = word in target_words
            keyword += probability
            kept_keyword += probability * in_target
            other += 1 - probability
            kept_other += (1 - probability) * in_target
    return kept_keyword / keyword, kept_other / other, keyword / (keyword + other)


def report(text: str, split: str, streams: str) -> None:
    prefix = os.path.join(text, split)
    sources, targets = read_lines(prefix + ".src"), read_lines(prefix + ".tgt")
    check_same_line_count(prefix + ".tgt", len(targets), prefix + ".src", len(sources))
    print(f"| stream ({split}, {len(sources)} pairs) | in target: keywords % | in target: "
          "other words % | mean keyword probability |\n|---|---:|---:|---:|")
    for stream in streams.split(","):
        path = f"{prefix}.{stream}"
        probabilities = read_probabilities(path)
        check_words_per_line(path, probabilities, prefix + ".src",
                             [source.split() for source in sources])
        with_keyword, without, mean = overlap(sources, targets, probabilities)
        print(f"| {stream} | {100 * with_keyword:.1f} | {100 * without:.1f} | {mean:.3f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text", required=True, help="a prepare.sh text folder")
    parser.add_argument("--split", default="train", help="split [%(default)s]")
    parser.add_argument("--streams", default="kwprob_ref,kwprob",
                        help="comma-separated keyword streams [%(default)s]")
    args = parser.parse_args()
    return run_command("keyword_overlap.py", lambda: report(args.text, args.split, args.streams))


if __name__ == "__main__":
    sys.exit(main())
