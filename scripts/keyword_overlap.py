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

from pgkpr_fairseq.textio import read_lines


def overlap(sources, targets, probabilities, probability_path):
    """(P(in target | keyword), P(in target | not a keyword), mean keyword probability)."""
    kept_keyword = keyword = kept_other = other = 0.0
    for number, (source, target, line) in enumerate(zip(sources, targets, probabilities), 1):
        words, target_words = source.split(), set(target.split())
        values = [float(value) for value in line.split()]
        if len(values) != len(words):
            raise SystemExit(f"{probability_path}:{number}: {len(values)} probabilities for the "
                             f"{len(words)} words of the source")
        for word, probability in zip(words, values):
            in_target = word in target_words
            keyword += probability
            kept_keyword += probability * in_target
            other += 1 - probability
            kept_other += (1 - probability) * in_target
    return kept_keyword / keyword, kept_other / other, keyword / (keyword + other)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text", required=True, help="a prepare.sh text folder")
    parser.add_argument("--split", default="train", help="split [%(default)s]")
    parser.add_argument("--streams", default="kwprob_ref,kwprob",
                        help="comma-separated keyword streams [%(default)s]")
    args = parser.parse_args()
    prefix = os.path.join(args.text, args.split)
    sources, targets = read_lines(prefix + ".src"), read_lines(prefix + ".tgt")
    print(f"| stream ({args.split}, {len(sources)} pairs) | in target: keywords % | in target: "
          "other words % | mean keyword probability |\n|---|---:|---:|---:|")
    for stream in args.streams.split(","):
        path = f"{prefix}.{stream}"
        probabilities = read_lines(path)
        if not len(sources) == len(targets) == len(probabilities):
            raise SystemExit(f"{prefix}.src, .tgt and {path} have {len(sources)}, {len(targets)} "
                             f"and {len(probabilities)} lines")
        with_keyword, without, mean = overlap(sources, targets, probabilities, path)
        print(f"| {stream} | {100 * with_keyword:.1f} | {100 * without:.1f} | {mean:.3f} |")


if __name__ == "__main__":
    main()
