#!/usr/bin/env python
"""Mean and spread over training seeds of the rows exported by `pgkpr-experiment --hypotheses DIR`:

  python scripts/summarize_seeds.py benchmarks/quora [--split test]

reads every DIR/*.scores.json and prints a markdown table with one line per system, split and
lenpen: each metric's mean over the seeds ± its sample standard deviation (the mean alone for one
seed), and which seeds went into it.
"""
import argparse

from pgkpr_fairseq.experiment import format_seed_summary, read_scores, summarize_seeds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", help="the folder given to pgkpr-experiment --hypotheses")
    parser.add_argument("--split", help="only the rows of this split (e.g. test) [all]")
    args = parser.parse_args()
    records = [record for record in read_scores(args.directory)
               if args.split is None or record["split"] == args.split]
    if not records:
        parser.error(f"no *.scores.json in {args.directory}"
                     + (f" for split {args.split}" if args.split else ""))
    print(format_seed_summary(summarize_seeds(records)))


if __name__ == "__main__":
    main()
