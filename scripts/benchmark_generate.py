#!/usr/bin/env python
"""Generation speed of PGKPR against the Transformer, interleaved runs of fairseq-generate.

Takes pgkpr-experiment's command line (the same WORK, model and decoding options, so it finds the
same trained models in the cache) and decodes the test split with every trained row in turn,
--runs times, into /dev/null. Reports fairseq's own sentences/s per run, their medians, and each
row's speed as a ratio to the first row's (per run, then the median): a noisy neighbour slows the
rows alike.

  python scripts/benchmark_generate.py --runs 3 -- WORK [pgkpr-experiment options]
"""
import argparse
import os
import statistics
import subprocess
import sys

from pgkpr_fairseq import experiment


def generation_speed(command, environment) -> float:
    """sentences/s that fairseq-generate reports for one run of `command`."""
    result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=environment)
    if result.returncode != 0:
        sys.exit(f"fairseq-generate failed:\n{result.stderr[-2000:]}")
    return experiment.parse_generate_log(result.stderr, "fairseq-generate")["sentences_per_second"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per row [%(default)s]")
    parser.add_argument("--rows", type=experiment.parse_systems,
                        default=f"{experiment.TRANSFORMER},{experiment.PGKPR}",
                        help="comma-separated trained rows, the first is the baseline [%(default)s]")
    parser.add_argument("experiment_args", nargs=argparse.REMAINDER,
                        help="-- then pgkpr-experiment's WORK and options")
    args = parser.parse_args()
    options = experiment.build_parser().parse_args(
        [arg for arg in args.experiment_args if arg != "--"])
    inputs = experiment.resolve_paths(options)
    experiment.resolve_device(options)
    runner = experiment.Experiment(options, inputs)
    systems = experiment.make_systems()
    rows = [systems[name] for name in args.rows]

    commands = {}
    for system in rows:
        checkpoint = os.path.join(runner.model_folder(system), "checkpoints", "checkpoint_best.pt")
        if not os.path.exists(checkpoint):
            sys.exit(f"{system.name}: no trained model at {checkpoint} (run pgkpr-experiment first)")
        commands[system.name] = experiment.generate_command(system, options, inputs.data_bin, checkpoint)

    speeds = {name: [] for name in commands}
    for run in range(args.runs):
        for name, command in commands.items():
            speeds[name].append(generation_speed(command, runner.environment))
        print(f"run {run + 1}/{args.runs}: " + ", ".join(
            f"{name} {values[-1]:.1f} sentences/s" for name, values in speeds.items()), flush=True)

    baseline = rows[0].name
    print(f"\n{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; beam {options.beam}, "
          f"{options.gen_batch_size} sentences per batch, split {options.test_split}")
    print(f"| row | sentences/s | speed / {baseline} |")
    print("|---|---:|---:|")
    for name, values in speeds.items():
        ratios = [mine / base for mine, base in zip(values, speeds[baseline])]
        print(f"| {name} | {statistics.median(values):.1f} | {statistics.median(ratios):.2f}x |")


if __name__ == "__main__":
    main()
