"""The CPU bf16 option: training, validation and generation under autocast for both tasks that
the comparison trains (pgkpr, and translation_bf16 for the Transformer), and its refusal."""
import re

import pytest
import torch

from pgkpr_fairseq import precision

from test_train_e2e import USER_DIR, run, train

needs_bf16 = pytest.mark.skipif(precision.cpu_bf16_unsupported_reason() is not None,
                                reason="no native bf16 on this CPU")


def test_refused_without_native_bf16(monkeypatch):
    monkeypatch.setattr(precision, "NATIVE_BF16_FLAGS", ("no_such_flag",))
    with pytest.raises(ValueError, match=r"--cpu-bf16: this CPU has no native bf16 instructions"):
        precision.require_cpu_bf16("--cpu-bf16")
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)
    with pytest.raises(ValueError, match=r"no bf16 CPU kernels"):
        precision.require_cpu_bf16("--cpu-bf16")


def test_autocast_runs_matrix_products_in_bf16():
    layer = torch.nn.Linear(4, 4)
    with precision.cpu_autocast(True):
        assert layer(torch.randn(2, 4)).dtype == torch.bfloat16
    with precision.cpu_autocast(False):
        assert layer(torch.randn(2, 4)).dtype == torch.float32


@needs_bf16
@pytest.mark.slow
@pytest.mark.parametrize("task", ["pgkpr", "translation_bf16"])
def test_bf16_trains_and_generates(data_bin, tmp_path, task):
    options = ["--cpu-bf16"] if task == "pgkpr" else [
        "--task", "translation_bf16", "--arch", "transformer", "--criterion",
        "label_smoothed_cross_entropy", "--cpu-bf16"]
    code, log = train(data_bin, tmp_path, "--max-update", "3", "--validate-interval-updates", "3",
                      *options)
    assert code == 0, log
    assert re.search(r"valid on 'valid' subset .*\| nll_loss [0-9.]+", log), log
    checkpoint = torch.load(tmp_path / "checkpoint_last.pt", weights_only=False)
    assert all(value.dtype == torch.float32 for value in checkpoint["model"].values()
               if value.is_floating_point())  # float32 weights
    code, out = run("fairseq-generate", data_bin, "--user-dir", USER_DIR, "--task", task,
                    "--path", tmp_path / "checkpoint_last.pt", "--cpu", "--beam", "2",
                    "--batch-size", "4", "--max-len-b", "10", "--num-workers", "0", "--cpu-bf16")
    assert code == 0, out
    assert len(re.findall(r"^H-\d+\t", out, flags=re.M)) == 8


class Backward:
    def backward(self, loss):
        self.autocast_in_backward = torch.is_autocast_enabled("cpu")
        loss.backward()


@needs_bf16
@pytest.mark.parametrize("bf16", [False, True])
def test_each_step_runs_under_autocast_only_with_the_option(data_bin, bf16):
    from test_train_e2e import build
    task, model, criterion = build(data_bin, 1.0, 0.1, *(["--cpu-bf16"] * bf16))
    dataset = task.dataset("valid")
    sample = dataset.collater([dataset[i] for i in range(4)])
    seen = []

    def recording_criterion(model, sample):
        seen.append(torch.is_autocast_enabled("cpu"))
        return criterion(model, sample)

    recording_criterion.padding_idx = criterion.padding_idx
    optimizer = Backward()
    task.train_step(sample, model, recording_criterion, optimizer, 0)
    task.valid_step(sample, model, recording_criterion)

    class Generator:
        def generate(self, models, sample, **kwargs):
            seen.append(torch.is_autocast_enabled("cpu"))
            return []

    task.inference_step(Generator(), [model], sample)
    assert seen == [bf16] * 3
    assert optimizer.autocast_in_backward is False  # the backward pass runs outside autocast
