#!/usr/bin/env python
"""Time one training update of PGKPR against the Transformer's, interleaved in one process.

Both systems are built by fairseq from the same data-bin with the same sizes (as pgkpr-experiment
trains them): fairseq's `transformer` with label-smoothed cross-entropy on the plain source, and
`pgkpr_transformer` with the `pgkpr` criterion on TS_s. Each run times --updates consecutive updates
of every system in turn (data loading and the keyword draw, forward, backward, Adam step), so a
noisy neighbour slows all systems alike; the report gives, per system, the median over --runs of the
seconds per update and target words per second, and each system's time per update as a ratio to the
Transformer's (also per run, then the median).

  python scripts/benchmark_step.py DATA_BIN [--systems transformer,pgkpr,pgkpr-rec,...]
"""
import argparse
import os
import shlex
import statistics
import time

import torch
from fairseq import options, tasks
from fairseq.dataclass.utils import convert_namespace_to_omegaconf

import pgkpr_fairseq

USER_DIR = os.path.dirname(pgkpr_fairseq.__file__)

PGKPR = "--task pgkpr --arch pgkpr_transformer --criterion pgkpr"
# name -> fairseq options of that system (the sizes come from the command line)
SYSTEMS = {
    "transformer": "--task translation --arch transformer --criterion label_smoothed_cross_entropy",
    "pgkpr": f"{PGKPR} --rec-weight 1 --con-weight 0.1",
    "pgkpr-detached": f"{PGKPR} --rec-weight 1 --con-weight 0.1 --con-detach-counterparts",
    "pgkpr-rec": f"{PGKPR} --rec-weight 1 --con-weight 0",
    "pgkpr-con": f"{PGKPR} --rec-weight 0 --con-weight 0.1",
    "pgkpr-plain": f"{PGKPR} --rec-weight 0 --con-weight 0",
}


class Trainee:
    """One system: its task, model, criterion, Adam, and an endless stream of training batches."""

    def __init__(self, name: str, data_bin: str, common: str, extra: str):
        parser = options.get_training_parser()
        argv = [data_bin, "--user-dir", USER_DIR, "-s", "src", "-t", "tgt", "--cpu",
                *shlex.split(SYSTEMS[name]), *shlex.split(common), *shlex.split(extra)]
        cfg = convert_namespace_to_omegaconf(options.parse_args_and_arch(parser, argv))
        self.name = name
        self.task = tasks.setup_task(cfg.task)
        self.task.load_dataset(cfg.dataset.train_subset)
        self.model = self.task.build_model(cfg.model)
        self.criterion = self.task.build_criterion(cfg.criterion)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.optimization.lr[0])
        self.cfg = cfg
        self.epoch = 0
        self.batches = iter(())

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

    def update(self) -> int:
        """One update on the next batch; returns its target tokens."""
        sample = self.next_batch()
        self.model.train()
        self.optimizer.zero_grad()
        loss, _, logging_output = self.criterion(self.model, sample)
        loss.backward()
        self.optimizer.step()
        return int(logging_output["ntokens"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_bin", help="a PGKPR data-bin (preprocess/prepare.sh)")
    parser.add_argument("--systems", default="transformer,pgkpr",
                        help="comma-separated, the first is the baseline of the ratios, from "
                             + ", ".join(SYSTEMS) + " [%(default)s]")
    parser.add_argument("--model-args", default="--encoder-layers 3 --decoder-layers 3 "
                        "--encoder-embed-dim 256 --decoder-embed-dim 256 --encoder-ffn-embed-dim 1024 "
                        "--decoder-ffn-embed-dim 1024 --encoder-attention-heads 4 "
                        "--decoder-attention-heads 4 --share-all-embeddings --dropout 0.1",
                        help="fairseq options of every system [the benchmark's small model]")
    parser.add_argument("--train-args", default="--batch-size 128 --lr 5e-4 --label-smoothing 0.1 "
                        "--seed 1 --optimizer adam",
                        help="further fairseq options of every system [%(default)s]")
    parser.add_argument("--pgkpr-args", default="",
                        help="further options of the pgkpr systems only, e.g. '--con-similarity cosine'")
    parser.add_argument("--updates", type=int, default=10, help="timed updates per run [%(default)s]")
    parser.add_argument("--runs", type=int, default=5, help="runs [%(default)s]")
    parser.add_argument("--warmup", type=int, default=3, help="untimed updates first [%(default)s]")
    parser.add_argument("--threads", type=int, help="torch threads [torch's default]")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    names = [name.strip() for name in args.systems.split(",")]
    common = f"{args.model_args} {args.train_args}"
    trainees = [Trainee(name, args.data_bin, common,
                        args.pgkpr_args if name.startswith("pgkpr") else "") for name in names]
    for trainee in trainees:
        for _ in range(args.warmup):
            trainee.update()

    seconds = {name: [] for name in names}
    words = {name: [] for name in names}
    for run in range(args.runs):
        for trainee in trainees:
            started, tokens = time.perf_counter(), 0
            for _ in range(args.updates):
                tokens += trainee.update()
            elapsed = time.perf_counter() - started
            seconds[trainee.name].append(elapsed / args.updates)
            words[trainee.name].append(tokens / elapsed)
        print(f"run {run + 1}/{args.runs}: " + ", ".join(
            f"{name} {seconds[name][-1]:.3f} s/update" for name in names), flush=True)

    baseline = names[0]
    print(f"\n{os.cpu_count()} CPUs, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"load average {os.getloadavg()[0]:.2f}; {args.runs} runs of {args.updates} updates")
    print("| system | s/update | target words/s | time per update / " + baseline + " |")
    print("|---|---:|---:|---:|")
    for name in names:
        ratios = [mine / base for mine, base in zip(seconds[name], seconds[baseline])]
        print(f"| {name} | {statistics.median(seconds[name]):.3f} | "
              f"{statistics.median(words[name]):.0f} | {statistics.median(ratios):.2f}x |")


if __name__ == "__main__":
    main()
