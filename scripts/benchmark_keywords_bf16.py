#!/usr/bin/env python
"""Stage one's attribution in bf16 against float32: speed and agreement, interleaved in one run.

Scores the same sentences (s [SEP] s) with a fine-tuned classifier in float32 and under CPU bf16
autocast (`pgkpr-keywords score --bf16`), in turn, --repeats times; reports the median
sentences/s of each and their ratio (per repeat, then the median), and how well the bf16 keyword
probabilities agree with the float32 ones: Spearman's rank correlation per sentence (sentences of
at least 3 words) and the largest absolute difference.

  python scripts/benchmark_keywords_bf16.py --model WORK/stage1 --src WORK/text/valid.src
"""
import argparse
import os
import statistics
import time

import numpy as np
import torch
from scipy.stats import spearmanr

from pgkpr_fairseq.keywords.attribution import KeywordScorer
from pgkpr_fairseq.keywords.classifier import load_classifier, set_threads
from pgkpr_fairseq.keywords.textio import read_lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="classifier folder (pgkpr-keywords train)")
    parser.add_argument("--src", required=True, help="tokenized sentences, one per line")
    parser.add_argument("--sentences", type=int, default=512, help="first N sentences [%(default)s]")
    parser.add_argument("--batch-size", type=int, default=64, help="[%(default)s]")
    parser.add_argument("--repeats", type=int, default=3, help="[%(default)s]")
    parser.add_argument("--threads", type=int, help="torch threads [torch's default]")
    args = parser.parse_args()
    set_threads(args.threads)
    sentences = read_lines(args.src)[:args.sentences]
    model, tokenizer = load_classifier(args.model, fine_tuned=True)
    scorers = {precision: KeywordScorer(model, tokenizer, batch_size=args.batch_size,
                                        bf16=precision == "bf16")
               for precision in ("float32", "bf16")}
    speeds = {precision: [] for precision in scorers}
    scores = {}
    for _ in range(args.repeats):
        for precision, scorer in scorers.items():
            started = time.perf_counter()
            scores[precision] = scorer.score(sentences)
            speeds[precision].append(len(sentences) / (time.perf_counter() - started))
    correlations = [spearmanr(exact, bf16).statistic
                    for exact, bf16 in zip(scores["float32"], scores["bf16"]) if len(exact) >= 3]
    correlations = np.nan_to_num(np.array(correlations), nan=1.0)  # constant scores: same ranks
    largest = max(float(np.abs(exact - bf16).max())
                  for exact, bf16 in zip(scores["float32"], scores["bf16"]))
    ratios = [bf16 / exact for exact, bf16 in zip(speeds["float32"], speeds["bf16"])]
    print(f"{os.cpu_count()} CPUs, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"load average {os.getloadavg()[0]:.2f}; {len(sentences)} sentences of {args.src}, "
          f"{args.repeats} repeats")
    print("| precision | sentences/s (median) |\n|---|---:|")
    for precision, values in speeds.items():
        print(f"| {precision} | {statistics.median(values):.1f} |")
    print(f"bf16 / float32 speed: {statistics.median(ratios):.2f}x (per repeat: "
          f"{', '.join(f'{r:.2f}' for r in ratios)})")
    print(f"Spearman rank correlation per sentence ({len(correlations)} sentences of 3+ words): "
          f"median {np.median(correlations):.4f}, mean {correlations.mean():.4f}, 5th percentile "
          f"{np.percentile(correlations, 5):.4f}, share >= 0.99 {np.mean(correlations >= 0.99):.3f}; "
          f"largest probability difference {largest:.4f}")


if __name__ == "__main__":
    main()
