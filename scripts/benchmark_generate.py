#!/usr/bin/env python
"""Generation speed of PGKPR against the Transformer, interleaved runs of fairseq-generate.

Takes pgkpr-experiment's command line (the same WORK, model and decoding options, so it finds the
same trained models in the cache) and decodes the test split (--test-split) with every trained row
in turn, in every precision of --precisions, --runs times. Reports fairseq's own sentences/s per
run, their medians, each row's speed as a ratio to the first row's (per run, then the median), and
the BLEU-4 and length (Len%, as pgkpr-score) of each row's output against the split's references
(the first run's: decoding is deterministic). The models are the ones trained with the options given (--precision among them);
--precisions only changes the precision they decode in.

  python scripts/benchmark_generate.py --runs 3 [--precisions float32,bf16] -- WORK [pgkpr-experiment options]
"""
import argparse
import os
import statistics
import subprocess
import sys

from pgkpr_fairseq import experiment, scoring


def generate(command, environment):
    """(sentences/s that fairseq-generate reports, its hypotheses in id order) for one run."""
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=environment)
    if result.returncode != 0:
        sys.exit(f"fairseq-generate failed:\n{result.stderr[-2000:]}")
    speed = experiment.parse_generate_log(result.stderr, "fairseq-generate")["sentences_per_second"]
    return speed, scoring.parse_fairseq_generate(result.stdout.splitlines(), "fairseq-generate")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per row [%(default)s]")
    parser.add_argument("--rows", type=experiment.parse_systems,
                        default=f"{experiment.TRANSFORMER},{experiment.PGKPR}",
                        help="comma-separated trained rows, the first is the baseline [%(default)s]")
    parser.add_argument("--precisions",
                        help="comma-separated precisions to decode in, every row in each "
                             "(float32, bf16) [the models' --precision]")
    parser.add_argument("--checkpoint", default="checkpoint_best.pt",
                        help="the checkpoint file of each row's model folder, e.g. a copy of a "
                             "training run's checkpoint_best.pt that the run cannot overwrite "
                             "meanwhile [%(default)s]")
    parser.add_argument("experiment_args", nargs=argparse.REMAINDER,
                        help="-- then pgkpr-experiment's WORK and options")
    args = parser.parse_args()
    options = experiment.build_parser().parse_args(
        [arg for arg in args.experiment_args if arg != "--"])
    inputs = experiment.resolve_paths(options)
    experiment.resolve_device(options)
    runner = experiment.Experiment(options, inputs)
    systems = experiment.make_systems()
    precisions = args.precisions.split(",") if args.precisions else [options.precision]

    commands = {}
    for precision in precisions:
        decoding = argparse.Namespace(**{**vars(options), "precision": precision})
        for name in args.rows:
            system = systems[name]
            checkpoint = os.path.join(runner.model_folder(system), "checkpoints", args.checkpoint)
            if not os.path.exists(checkpoint):
                sys.exit(f"{name}: no trained model at {checkpoint} (run pgkpr-experiment first)")
            label = name if len(precisions) == 1 else f"{name}, {precision}"
            commands[label] = experiment.generate_command(system, decoding, inputs.data_bin,
                                                          checkpoint)

    scoring_inputs = runner.scoring_inputs()  # as the runner scores its rows (--score-units)
    speeds = {label: [] for label in commands}
    scores = {}
    for run in range(args.runs):
        for label, command in commands.items():
            speed, hypotheses = generate(command, runner.environment)
            speeds[label].append(speed)
            if label not in scores:
                scored = scoring_inputs.scored(hypotheses, f"fairseq-generate output of {label}")
                scores[label] = scoring.score(scored, scoring_inputs.sources,
                                              scoring_inputs.references)
        print(f"run {run + 1}/{args.runs}: " + ", ".join(
            f"{label} {values[-1]:.1f} sentences/s" for label, values in speeds.items()), flush=True)

    baseline = next(iter(commands))
    print(f"\n{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; beam {options.beam}, "
          f"{options.gen_batch_size} sentences per batch, split {options.test_split}, "
          f"models trained in {options.precision}")
    print(f"| row | sentences/s | speed / {baseline} | BLEU-4 | Len% |")
    print("|---|---:|---:|---:|---:|")
    for label, values in speeds.items():
        ratios = [mine / base for mine, base in zip(values, speeds[baseline])]
        print(f"| {label} | {statistics.median(values):.1f} | {statistics.median(ratios):.2f}x | "
              f"{scores[label]['bleu4']:.2f} | {scores[label]['length']:.1f} |")


if __name__ == "__main__":
    main()
