"""Throughput of POS tagging (pgkpr-prepare pos) on this machine: sentences/s and words/s.

Compares the settings that matter for spaCy on a CPU: every component of the pipeline against only
the tagger and the tok2vec it reads, nlp.pipe batch sizes, one process against two, and the
preparation step itself (which tags each distinct sentence once). Reports the median of --runs runs.

    python scripts/benchmark_pos.py --src ../shared/data/quora/train.src --lines 20000
"""
import argparse
import datetime
import os
import platform
import shlex
import statistics
import sys
import time

import spacy
from spacy.tokens import Doc

from pgkpr_fairseq.preprocessing import pos
from pgkpr_fairseq.preprocessing.textfiles import read_sentences

WARM_UP_SENTENCES = 500


def tag_docs(nlp, sentences, batch_size, n_process):
    """Tag every sentence (no deduplication), as Docs built on the given words."""
    docs = (Doc(nlp.vocab, words=words) for words in sentences)
    for doc in nlp.pipe(docs, batch_size=batch_size, n_process=n_process):
        doc[0].tag_  # noqa: B018  (touch the result, as the tool does)


def median_seconds(run, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", required=True, help="tokenized sentences, one per line")
    parser.add_argument("--lines", type=int, default=20000, help="use the first N lines (default 20000)")
    parser.add_argument("--runs", type=int, default=3, help="runs per setting; the median is reported (default 3)")
    parser.add_argument("--pipeline", default=pos.DEFAULT_PIPELINE, help="spaCy pipeline (default %(default)s)")
    parser.add_argument("--batch-sizes", default="32,128,256,1024",
                        help="nlp.pipe batch sizes to compare, tagger only (default %(default)s)")
    args = parser.parse_args()

    sentences = read_sentences(args.src)[: args.lines]
    words = sum(map(len, sentences))
    full = spacy.load(args.pipeline)
    tagger_only = pos.load_tagger(args.pipeline)
    batch_sizes = [int(size) for size in args.batch_sizes.split(",")]
    best = pos.DEFAULT_BATCH_SIZE
    # (name, function of the sentences to tag)
    settings = [(f"all components ({', '.join(full.pipe_names)}), batch {best}, 1 process",
                 lambda some: tag_docs(full, some, best, 1))]
    settings += [(f"tagger only ({', '.join(tagger_only.pipe_names)}), batch {size}, 1 process",
                  lambda some, size=size: tag_docs(tagger_only, some, size, 1)) for size in batch_sizes]
    settings += [
        (f"tagger only, batch {best}, 2 processes", lambda some: tag_docs(tagger_only, some, best, 2)),
        (f"pgkpr-prepare pos: tagger only, batch {best}, 1 process, each distinct sentence once",
         lambda some: pos.tag_sentences(tagger_only, some, best, 1, desc="tag_sentences")),
    ]

    print(f"$ {' '.join(shlex.quote(arg) for arg in [os.path.relpath(sys.executable)] + sys.argv)}")
    print(f"date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} cores "
          f"({platform.processor() or platform.machine()}); spaCy {spacy.__version__}, {args.pipeline} "
          f"{full.meta.get('version', '?')}; {len(sentences)} sentences, {words} words "
          f"({len(set(map(tuple, sentences)))} distinct); median of {args.runs} runs")
    print("| setting | sentences/s | words/s |")
    print("|---|---:|---:|")
    for name, run in settings:
        run(sentences[:WARM_UP_SENTENCES])  # first-call allocations and imports
        seconds = median_seconds(lambda: run(sentences), args.runs)
        print(f"| {name} | {len(sentences) / seconds:,.0f} | {words / seconds:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
