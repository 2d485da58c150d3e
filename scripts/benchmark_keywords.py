#!/usr/bin/env python
"""Benchmark stage one (pgkpr-keywords) with MiniLM on this machine, in one run.

(a) the fp32 matmul peak: a large square torch.matmul, GFLOP/s;
(b) fine-tuning speed, examples/s (all weights; and with the word-embedding table frozen);
(c) attribution speed, sentences/s (s [SEP] s): the batched scorer (length-sorted, batch 64, no
    weight gradients) against one sentence at a time, same model, same inputs;
(d) the scorer's achieved FLOP/s as a share of (a).

FLOP count, per sentence of n real tokens (padding is not counted: it is waste), for an encoder of
`layers` layers, width d and FFN width f:
  forward multiply-adds  = layers * (n * (4 d^2 + 2 d f) + 2 n^2 d)
      (Q, K, V, output projections; the two FFN matrices; attention scores QK^T and weights x V)
  backward to the inputs = layers * (n * (4 d^2 + 2 d f) + 4 n^2 d)
      (each projection needs only dX = dY W^T, as many multiply-adds as forward, because weight
       gradients are off; each attention product needs the gradient of both of its operands)
  FLOPs = 2 * (forward + backward) multiply-adds.
Embeddings, layer norms, softmax, GELU and the classifier head are left out (a few percent at most).

Timings are medians over --repeats runs. Other processes sharing the cores lower every number; the
load average is printed at the start and the end, and the peak is re-measured next to each scoring run.
"""
import argparse
import os
import random
import shlex
import statistics
import sys
import time

import torch

from pgkpr_fairseq.keywords.attribution import KeywordScorer
from pgkpr_fairseq.keywords.classifier import default_model_folder, load_classifier, set_threads
from pgkpr_fairseq.keywords.examples import build_examples
from pgkpr_fairseq.keywords.textio import read_lines
from pgkpr_fairseq.keywords.train import TrainingOptions, fine_tune


def median_seconds(run, repeats: int) -> float:
    """Median wall time of `run()` over `repeats` calls."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def matmul_peak_gflops(size: int, repeats: int) -> float:
    """fp32 GFLOP/s of a size x size matmul (2 size^3 FLOPs), median of `repeats` after a warm-up."""
    left, right = torch.randn(size, size), torch.randn(size, size)
    torch.matmul(left, right)
    return 2 * size**3 / median_seconds(lambda: torch.matmul(left, right), repeats) / 1e9


def synthetic_sentences(tokenizer, count: int, seed: int):
    """Sentences of 10-17 words drawn from the whole-word entries of the tokenizer's vocabulary."""
    words = sorted(token for token in tokenizer.get_vocab() if token.isalpha() and len(token) > 2)
    rng = random.Random(seed)
    return [" ".join(rng.choice(words) for _ in range(rng.randint(10, 17))) for _ in range(count)]


def scoring_gflop(model, tokenizer, sentences, max_length: int) -> float:
    """Useful GFLOP of scoring `sentences` as s [SEP] s (formula in the module docstring)."""
    config = model.config
    d, f, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    total = 0
    for sentence in sentences:
        words = sentence.split(" ")
        n = min(len(tokenizer(words, words, is_split_into_words=True)["input_ids"]), max_length)
        linear = n * (4 * d * d + 2 * d * f)
        forward = layers * (linear + 2 * n * n * d)
        backward = layers * (linear + 4 * n * n * d)
        total += 2 * (forward + backward)
    return total / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="local model folder (default: the packaged MiniLM)")
    parser.add_argument("--src", help="tokenized sentences to score (default: synthetic, 10-17 words)")
    parser.add_argument("--sentences", type=int, default=256, help="sentences to score (default 256)")
    parser.add_argument("--batch-size", type=int, default=64, help="batch size of the batched scorer (default 64)")
    parser.add_argument("--train-examples", type=int, default=256, help="examples per fine-tuning run (default 256)")
    parser.add_argument("--matmul-size", type=int, default=2048, help="side of the square matmul (default 2048)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement; medians are reported")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's, one per core)")
    args = parser.parse_args()

    set_threads(args.threads)
    torch.manual_seed(0)
    model_folder = args.model or default_model_folder()
    model, tokenizer = load_classifier(model_folder, fine_tuned=False)
    sentences = (
        read_lines(args.src)[: args.sentences] if args.src else synthetic_sentences(tokenizer, args.sentences, 0)
    )
    words = [len(sentence.split(" ")) for sentence in sentences]
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"model: {model_folder} ({model.config.num_hidden_layers} layers, width {model.config.hidden_size})")
    print(f"inputs: {len(sentences)} sentences, {min(words)}-{max(words)} words (mean {statistics.mean(words):.1f})")

    print(f"load average (1 min) at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    peaks = [matmul_peak_gflops(args.matmul_size, 5)]
    print(f"(a) fp32 matmul peak ({args.matmul_size}^3), at start: {peaks[0]:.1f} GFLOP/s")

    # Fine-tuning speed on sentence pairs like the inputs (positives and negatives of section 3).
    half = len(sentences) // 2
    examples = build_examples(sentences[:half], sentences[half : 2 * half], seed=0)[: args.train_examples]
    for frozen in (False, True):
        speeds = [
            fine_tune(
                model, tokenizer, examples,
                TrainingOptions(batch_size=32, seed=run, freeze_word_embeddings=frozen), progress_bar=False,
            )
            for run in range(args.repeats)
        ]
        print(
            f"(b) fine-tuning{' with frozen word embeddings' if frozen else ''}: "
            f"{statistics.median(speeds):.1f} examples/s (batch 32, {len(examples)} examples per run)"
        )

    scorers = {
        f"batched (length-sorted, batch {args.batch_size}, no weight grads)": KeywordScorer(
            model, tokenizer, batch_size=args.batch_size
        ),
        "one sentence at a time (batch 1, no weight grads)": KeywordScorer(model, tokenizer, batch_size=1),
    }
    next(iter(scorers.values())).score(sentences[: args.batch_size])  # warm-up: first-call allocations
    gflop = scoring_gflop(model, tokenizer, sentences, next(iter(scorers.values())).max_length)
    # Other jobs come and go on shared cores, so the peak is measured again next to every scoring
    # run and each run's share is taken against the peak of its own moment.
    seconds = {name: [] for name in scorers}
    shares = {name: [] for name in scorers}
    for _ in range(args.repeats):
        peaks.append(matmul_peak_gflops(args.matmul_size, 3))
        for name, scorer in scorers.items():
            seconds[name].append(median_seconds(lambda: scorer.score(sentences), 1))
            shares[name].append(gflop / seconds[name][-1] / peaks[-1])
    print(f"(a) fp32 matmul peak, median of all {len(peaks)} measurements: {statistics.median(peaks):.1f} GFLOP/s "
          f"(range {min(peaks):.1f}-{max(peaks):.1f})")
    for name in scorers:
        median = statistics.median(seconds[name])
        print(
            f"(c,d) {name}: {len(sentences) / median:.1f} sentences/s, {gflop / median:.1f} GFLOP/s, "
            f"{100 * statistics.median(shares[name]):.0f}% of the peak measured next to it"
        )
    speedup = statistics.median(seconds[list(scorers)[1]]) / statistics.median(seconds[list(scorers)[0]])
    print(f"batched / one at a time: {speedup:.2f}x; {gflop / len(sentences):.2f} GFLOP per sentence")
    print(f"load average (1 min) at end: {os.getloadavg()[0]:.2f}")

if __name__ == "__main__":
    main()
