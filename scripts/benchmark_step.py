#!/usr/bin/env python
"""Time one training update of PGKPR (and its ablations) against the Transformer's, interleaved.

Takes pgkpr-experiment's command line and builds every row from the very fairseq-train command that
pgkpr-experiment runs for it (same data-bin, sizes, losses and batch size), in one process. Each run
times --updates consecutive updates of every row in turn (data loading and the keyword draw, forward,
backward, Adam step), so a noisy neighbour slows all rows alike; the report gives, per row, the
median over --runs of the seconds per update and target words per second, each row's time per
update as a ratio to the first row's (per run, then the median), and where an update's time goes:
loading the batch (collater, keyword draw), the forward pass with the losses, the backward pass,
the optimizer step.

  python scripts/benchmark_step.py --rows "Transformer,PGKPR,PGKPR w/o L_con" \
      --variant "PGKPR, detached=--con-counterparts detached" [--precisions float32,bf16] \
      -- WORK [pgkpr-experiment options]

Each update goes through the task's train_step, as in fairseq-train, so --precisions bf16 runs the
forward pass under the plugin's CPU bf16 autocast (pgkpr-experiment --precision bf16).
"""
import argparse
import os
import statistics
import tempfile
import time

import torch
from fairseq import options as fairseq_options
from fairseq import tasks
from fairseq.dataclass.utils import convert_namespace_to_omegaconf

from pgkpr_fairseq import experiment

PHASES = ("data", "forward", "backward", "optimizer")


class Trainee:
    """One row: its task, model, criterion, Adam, and an endless stream of training batches."""

    def __init__(self, name: str, train_command):
        parser = fairseq_options.get_training_parser()
        cfg = convert_namespace_to_omegaconf(
            fairseq_options.parse_args_and_arch(parser, train_command[1:]))
        self.name = name
        self.task = tasks.setup_task(cfg.task)
        self.task.load_dataset(cfg.dataset.train_subset)
        self.model = self.task.build_model(cfg.model)
        self.criterion = self.task.build_criterion(cfg.criterion)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.optimization.lr[0])
        self.cfg = cfg
        self.epoch = 0
        self.batches = iter(())
        self.seconds = dict.fromkeys(PHASES, 0.0)  # time spent per phase, since the last reset

    def next_batch(self):
        sample = next(self.batches, None)
        if sample is None:
            self.epoch += 1
            iterator = self.task.get_batch_iterator(
                self.task.dataset(self.cfg.dataset.train_subset),
                max_sentences=self.cfg.dataset.batch_size, seed=self.cfg.common.seed,
                epoch=self.epoch, num_workers=0)
            self.batches = iter(iterator.next_epoch_itr(shuffle=True))
            sample = next(self.batches)
        return sample

    def backward(self, loss):
        """What the task's train_step asks of fairseq's optimizer wrapper."""
        started = time.perf_counter()
        loss.backward()
        self.seconds["backward"] += time.perf_counter() - started

    def update(self) -> int:
        """One update on the next batch; returns its target tokens."""
        started = time.perf_counter()
        sample = self.next_batch()
        loaded = time.perf_counter()
        self.optimizer.zero_grad()
        backward_before = self.seconds["backward"]
        _, _, logging_output = self.task.train_step(sample, self.model, self.criterion, self, 0)
        stepped = time.perf_counter()
        self.optimizer.step()
        done = time.perf_counter()
        self.seconds["data"] += loaded - started
        self.seconds["forward"] += stepped - loaded - (self.seconds["backward"] - backward_before)
        self.seconds["optimizer"] += done - stepped
        return int(logging_output["ntokens"])


def build_trainees(row_names, variants, precisions, experiment_args, save_dir: str):
    parser = experiment.build_parser()
    options = parser.parse_args(experiment_args)
    inputs = experiment.resolve_paths(options)
    experiment.resolve_device(options)
    systems = experiment.make_systems()
    trained = [name for name, system in systems.items() if system.task is not None]
    for name in row_names:
        if name not in trained:
            raise SystemExit(f"--rows: {name!r} is not a trained row (from: {', '.join(trained)})")
    rows = [(name, systems[name], options) for name in row_names]
    for label, variant_options in variants:  # the variant's options after the common ones win
        rows.append((label, systems[experiment.PGKPR],
                     parser.parse_args(experiment_args + variant_options)))
    trainees = []
    for precision in precisions:
        for name, system, row_options in rows:
            row_options = argparse.Namespace(**{**vars(row_options), "precision": precision})
            label = name if len(precisions) == 1 else f"{name}, {precision}"
            trainees.append(Trainee(label, experiment.train_command(
                system, row_options, inputs.data_bin, save_dir)))
    return trainees


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=experiment.parse_systems,
                        default=f"{experiment.TRANSFORMER},{experiment.PGKPR}",
                        help="comma-separated trained rows, the first is the baseline [%(default)s]")
    parser.add_argument("--variant", type=experiment.parse_variant, action="append", default=[],
                        metavar="LABEL=OPTIONS",
                        help="add a PGKPR row trained with these pgkpr-experiment options besides "
                             "the common ones (repeatable), e.g. 'PGKPR, detached=--con-counterparts "
                             "detached'")
    parser.add_argument("--precisions", default="float32",
                        help="comma-separated precisions, every row in each (float32, bf16) "
                             "[%(default)s]")
    parser.add_argument("--updates", type=int, default=10, help="timed updates per run [%(default)s]")
    parser.add_argument("--runs", type=int, default=5, help="runs [%(default)s]")
    parser.add_argument("--warmup", type=int, default=3, help="untimed updates first [%(default)s]")
    parser.add_argument("--threads", type=int, help="torch threads [torch's default]")
    parser.add_argument("experiment_args", nargs=argparse.REMAINDER,
                        help="-- then pgkpr-experiment's WORK and options")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as save_dir:  # fairseq-train's --save-dir; nothing is saved
        trainees = build_trainees(args.rows, args.variant, args.precisions.split(","),
                                  [arg for arg in args.experiment_args if arg != "--"], save_dir)
    for trainee in trainees:
        for _ in range(args.warmup):
            trainee.update()

    names = [trainee.name for trainee in trainees]
    seconds = {name: [] for name in names}
    words = {name: [] for name in names}
    phases = {name: {phase: [] for phase in PHASES} for name in names}
    for run in range(args.runs):
        for trainee in trainees:
            trainee.seconds = dict.fromkeys(PHASES, 0.0)
            started, tokens = time.perf_counter(), 0
            for _ in range(args.updates):
                tokens += trainee.update()
            elapsed = time.perf_counter() - started
            seconds[trainee.name].append(elapsed / args.updates)
            words[trainee.name].append(tokens / elapsed)
            for phase, spent in trainee.seconds.items():
                phases[trainee.name][phase].append(spent / args.updates)
        print(f"run {run + 1}/{args.runs}: " + ", ".join(
            f"{name} {seconds[name][-1]:.3f} s/update" for name in names), flush=True)

    baseline = names[0]
    print(f"\n{os.cpu_count()} CPUs, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"load average {os.getloadavg()[0]:.2f}; {args.runs} runs of {args.updates} updates")
    print(f"| row | s/update | target words/s | time per update / {baseline} | "
          + " | ".join(f"{phase} s" for phase in PHASES) + " |")
    print("|---|---:|---:|---:|" + "---:|" * len(PHASES))
    for name in names:
        ratios = [mine / base for mine, base in zip(seconds[name], seconds[baseline])]
        print(f"| {name} | {statistics.median(seconds[name]):.3f} | "
              f"{statistics.median(words[name]):.0f} | {statistics.median(ratios):.2f}x | "
              + " | ".join(f"{statistics.median(phases[name][phase]):.3f}" for phase in PHASES)
              + " |")


if __name__ == "__main__":
    main()
