"""Data-parallel training as users scale out: two CPU processes under torchrun, fairseq's default
--ddp-backend (PyTorch's DistributedDataParallel) over gloo, and the combinations that cannot work."""
import os
import re
import subprocess

import pytest

from databin import write_data_bin
from test_train_e2e import BIN, TINY_MODEL, USER_DIR


def fairseq_train(data_bin, save_dir, *extra, processes=None):
    """(exit code, output) of fairseq-train on the tiny model, under torchrun when `processes` is given."""
    launcher = [os.path.join(BIN, "torchrun"), "--nproc_per_node", str(processes)] if processes else []
    command = [
        *launcher, os.path.join(BIN, "fairseq-train"), data_bin, "--user-dir", USER_DIR, "--task", "pgkpr",
        *TINY_MODEL, "--criterion", "pgkpr", "--optimizer", "adam", "--lr", "1e-3", "--batch-size", "8",
        "--save-dir", save_dir, "--cpu", "--num-workers", "0", "--log-format", "simple",
        "--log-interval", "1", "--seed", "3", *extra,
    ]
    result = subprocess.run(list(map(str, command)), capture_output=True, text=True, timeout=600)
    return result.returncode, result.stdout + result.stderr



@pytest.mark.slow
def test_two_processes_train_and_resume_with_the_default_ddp_backend(data_bin, tmp_path):
    code, log = fairseq_train(data_bin, tmp_path, "--max-update", "3", "--distributed-backend", "gloo",
                              processes=2)
    assert code == 0, log
    assert "training on 2 devices" in log, log
    # each update sums the batches of both processes: 2 x --batch-size 8 sentences
    assert re.findall(r"bsz=(\d+), num_updates=(\d+)", log) == [("16", "1"), ("16", "2"), ("16", "3")], log

    # rank 0 reads the checkpoint and sends it to rank 1
    code, log = fairseq_train(data_bin, tmp_path, "--max-update", "5", "--distributed-backend", "gloo",
                              processes=2)
    assert code == 0, log
    assert re.search(r"Loaded checkpoint .*checkpoint_last.pt \(epoch \d+ @ 3 updates\)", log), log
    assert "num_updates=5" in log, log


@pytest.mark.slow
def test_cpu_processes_without_a_launcher_are_refused_in_one_line(data_bin, tmp_path):
    code, log = fairseq_train(data_bin, tmp_path, "--max-update", "1", "--distributed-world-size", "2")
    assert code == 1
    assert "Traceback" not in log, log
    assert log.rstrip().splitlines()[-1].startswith(
        "--distributed-world-size 2: fairseq starts one process per GPU and found 0; on CPU start the "
        "processes with torchrun: torchrun --nproc_per_node 2 "), log


@pytest.mark.slow
def test_the_nccl_backend_on_cpu_is_refused_in_one_line(data_bin, tmp_path):
    code, log = fairseq_train(data_bin, tmp_path, "--max-update", "1", processes=2)
    assert code != 0
    refusals = [line for line in log.splitlines()
                if line == "--cpu: the nccl backend needs GPUs; add --distributed-backend gloo"]
    assert len(refusals) == 2, log  # one per process
    assert "Distributed package doesn't have NCCL" not in log, log


def first_update(data_bin, save_dir, processes, batch_size, *extra):
    """The weights after one plain SGD update (lr 1: the initial weights minus the gradient)."""
    import torch

    code, log = fairseq_train(
        data_bin, save_dir, "--max-update", "1", "--optimizer", "sgd", "--lr", "1", "--dropout", "0",
        "--batch-size", str(batch_size), "--save-interval-updates", "1", "--con-weight", "1",
        *(["--distributed-backend", "gloo"] if processes else []), *extra, processes=processes)
    assert code == 0, log
    assert re.findall(r"bsz=(\d+), num_updates=1", log) == ["16"], log
    after = torch.load(os.path.join(save_dir, "checkpoint_last.pt"), weights_only=False)["model"]
    # _float_tensor: fairseq's uninitialized buffer that only tells the device and dtype
    return {name: value for name, value in after.items() if not name.endswith("_float_tensor")}


@pytest.mark.slow
def test_gathered_negatives_make_two_processes_update_like_one(tmp_path):
    """16 training pairs: one process takes them as one batch of 16; two processes take 8 each.
    With --con-gather-across-processes, eq. 3 compares every anchor with all 16 pairs in both, so
    the first update is the same; without it, each process's negatives are its own 8."""
    data_bin = write_data_bin(str(tmp_path / "bin"), splits=(("train", 16), ("valid", 8), ("test", 4)))
    one = first_update(data_bin, tmp_path / "one", None, 16)
    gathered = first_update(data_bin, tmp_path / "two", 2, 8, "--con-gather-across-processes")
    apart = first_update(data_bin, tmp_path / "apart", 2, 8)
    for name, value in one.items():
        assert torch_close(gathered[name], value), name
    assert not all(torch_close(apart[name], value) for name, value in one.items())


def torch_close(a, b):
    import torch
    return torch.allclose(a.float(), b.float(), rtol=1e-4, atol=1e-6)
