#!/usr/bin/env python
"""How much a busy neighbour slows multi-threaded CPU training, under each OpenMP wait policy.

Times the forward and backward pass of a Transformer encoder-decoder of the benchmarks' size
(3+3 layers, 256 wide, 4 heads, FFN 1024, a batch of 128 x 20 tokens, bf16 autocast where the CPU
has native bf16) with --threads torch threads, alone and beside --neighbours processes that each
keep one core busy, for OMP_WAIT_POLICY unset (libgomp's default: spin, then sleep) and PASSIVE
(sleep at once). Each measurement is a fresh process (OpenMP reads the policy when it starts); the
conditions are interleaved and repeated --runs times, and the report gives each one's median
seconds per step and its ratio to the default policy alone.

  python scripts/benchmark_omp_wait.py [--threads 2] [--neighbours 1] [--runs 3] [--steps 20]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

POLICIES = ("default", "PASSIVE")


def time_steps(threads: int, steps: int) -> float:
    """Median seconds per forward + backward step, in this process."""
    import torch

    from pgkpr_fairseq.precision import cpu_autocast, cpu_bf16_unsupported_reason

    torch.manual_seed(1)
    torch.set_num_threads(threads)
    model = torch.nn.Transformer(d_model=256, nhead=4, num_encoder_layers=3, num_decoder_layers=3,
                                 dim_feedforward=1024, batch_first=True)
    source, target = torch.randn(128, 20, 256), torch.randn(128, 20, 256)
    bf16 = cpu_bf16_unsupported_reason() is None
    times = []
    for _ in range(steps + 3):  # the first 3 warm up
        started = time.perf_counter()
        with cpu_autocast(bf16):
            loss = model(source, target).float().pow(2).mean()
        loss.backward()
        times.append(time.perf_counter() - started)
    return statistics.median(times[3:])


def measure(policy: str, threads: int, steps: int) -> float:
    environment = dict(os.environ)
    environment.pop("OMP_WAIT_POLICY", None)
    if policy != "default":
        environment["OMP_WAIT_POLICY"] = policy
    done = subprocess.run([sys.executable, __file__, "--child", "--threads", str(threads),
                           "--steps", str(steps)], env=environment, check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout)["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="torch threads of the timed process")
    parser.add_argument("--neighbours", type=int, default=1,
                        help="busy processes (one core each) beside it in the 'shared' condition")
    parser.add_argument("--runs", type=int, default=3, help="repetitions of every condition")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per measurement")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps({"seconds": time_steps(args.threads, args.steps)}))
        return

    conditions = [(policy, shared) for shared in (False, True) for policy in POLICIES]
    seconds = {condition: [] for condition in conditions}
    for run in range(args.runs):
        for policy, shared in conditions:
            busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                    for _ in range(args.neighbours if shared else 0)]
            try:
                seconds[policy, shared].append(measure(policy, args.threads, args.steps))
            finally:
                for process in busy:
                    process.kill()
                    process.wait()
            print(f"run {run + 1}: {policy}, {'shared' if shared else 'alone'}: "
                  f"{seconds[policy, shared][-1]:.3f} s/step", file=sys.stderr, flush=True)
    baseline = statistics.median(seconds["default", False])
    print(f"{args.threads} threads; shared = beside {args.neighbours} busy process(es); "
          f"median of {args.runs} runs of {args.steps} steps\n")
    print("| OMP_WAIT_POLICY | neighbour | s/step (median) | runs | ratio to default alone |")
    print("|---|---|---:|---|---:|")
    for policy, shared in conditions:
        runs = seconds[policy, shared]
        print(f"| {policy} | {'busy' if shared else 'none'} | {statistics.median(runs):.3f} | "
              f"{', '.join(f'{value:.3f}' for value in runs)} | "
              f"{statistics.median(runs) / baseline:.2f} |")


if __name__ == "__main__":
    main()
