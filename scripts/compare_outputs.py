#!/usr/bin/env python
"""Where two systems' paraphrases differ in length: what each leaves out of the source.

For systems A and B (fairseq-generate output or plain files, in source order) prints the mean
lengths, how many outputs of A are shorter / longer than B's, how many source words are missing
from each system's outputs (a source token counts as missing when its output does not contain it),
the words B leaves out most often beyond A, and each system's output length as a % of the source
length for short and long sources (buckets of --bucket-width source tokens).

  python scripts/compare_outputs.py --src test.src --a A/generate.out --b B/generate.out
"""
import argparse
import collections
import statistics
import sys

from pgkpr_fairseq.scoring import read_hypotheses, read_scored_lines, tokenize
from pgkpr_fairseq.textio import InputError, check_same_line_count


def missing_source_words(sources, outputs) -> collections.Counter:
    missing = collections.Counter()
    for source, output in zip(sources, outputs):
        present = set(output)
        missing.update(word for word in source if word not in present)
    return missing


def length_by_source_length(sources, outputs_a, outputs_b, width: int):
    """(first, last, sentences, A %, B %) per bucket of source lengths first..last: each system's
    output tokens as a percentage of the source tokens of the bucket's sentences."""
    buckets = collections.defaultdict(lambda: [0, 0, 0, 0])  # sentences, source, A, B tokens
    for source, output_a, output_b in zip(sources, outputs_a, outputs_b):
        bucket = buckets[len(source) // width]
        bucket[0] += 1
        bucket[1] += len(source)
        bucket[2] += len(output_a)
        bucket[3] += len(output_b)
    return [(index * width, index * width + width - 1, sentences,
             100.0 * tokens_a / max(source_tokens, 1), 100.0 * tokens_b / max(source_tokens, 1))
            for index, (sentences, source_tokens, tokens_a, tokens_b) in sorted(buckets.items())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", required=True, help="the sources, one per line")
    parser.add_argument("--a", required=True, help="system A's outputs (the baseline)")
    parser.add_argument("--b", required=True, help="system B's outputs")
    parser.add_argument("--top", type=int, default=15, help="words to list [%(default)s]")
    parser.add_argument("--bucket-width", type=int, default=4,
                        help="source lengths per bucket of the length comparison [%(default)s]")
    args = parser.parse_args()
    try:
        sources = [tokenize(line) for line in read_scored_lines(args.src)]
        outputs_a = [tokenize(line) for line in read_hypotheses(args.a)]
        outputs_b = [tokenize(line) for line in read_hypotheses(args.b)]
        check_same_line_count(args.a, len(outputs_a), args.src, len(sources))
        check_same_line_count(args.b, len(outputs_b), args.src, len(sources))
    except InputError as error:
        sys.exit(f"compare_outputs.py: error: {error}")

    print(f"sentences: {len(sources)}; mean tokens: source "
          f"{statistics.mean(map(len, sources)):.2f}, A {statistics.mean(map(len, outputs_a)):.2f}, "
          f"B {statistics.mean(map(len, outputs_b)):.2f}")
    shorter = sum(len(b) < len(a) for a, b in zip(outputs_a, outputs_b))
    longer = sum(len(b) > len(a) for a, b in zip(outputs_a, outputs_b))
    print(f"B shorter than A: {shorter}, longer: {longer}, same length: {len(sources) - shorter - longer}")
    missing_a = missing_source_words(sources, outputs_a)
    missing_b = missing_source_words(sources, outputs_b)
    print(f"source tokens missing from the output: A {sum(missing_a.values())}, "
          f"B {sum(missing_b.values())}")
    beyond = collections.Counter({word: missing_b[word] - missing_a[word] for word in missing_b})
    print("missing from B more often than from A: " + ", ".join(
        f"{word} +{count}" for word, count in beyond.most_common(args.top) if count > 0))
    print("output / source length, by source length: " + "; ".join(
        f"{first}-{last} tokens ({sentences}): A {percent_a:.1f}%, B {percent_b:.1f}%"
        for first, last, sentences, percent_a, percent_b
        in length_by_source_length(sources, outputs_a, outputs_b, args.bucket_width)))


if __name__ == "__main__":
    main()
