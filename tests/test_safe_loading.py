"""Checkpoints cannot run code: every way users load one reads weights only, whatever torch's default.

torch >= 2.6 loads weights only by default; TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 brings back the old
default (that of torch < 2.6), under which a crafted checkpoint runs its code when unpickled.
"""
import os
import subprocess

import pytest
import torch
from fairseq import checkpoint_utils, hub_utils

from test_train_e2e import BIN, USER_DIR, train

OLD_DEFAULT = {"TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}


class RunsCommand:
    """Unpickling this runs a shell command (what a crafted checkpoint does)."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)



@pytest.fixture(scope="module")
def checkpoint(data_bin, tmp_path_factory):
    save_dir = tmp_path_factory.mktemp("checkpoints")
    code, log = train(data_bin, save_dir, "--max-update", "1", "--no-epoch-checkpoints")
    assert code == 0, log
    return save_dir / "checkpoint_last.pt"


@pytest.fixture
def crafted(checkpoint, tmp_path):
    """(a copy of the genuine checkpoint that also holds a pickled os.system call, the file that call
    would create)."""
    ran = tmp_path / "code-ran"
    state = torch.load(checkpoint, weights_only=True)
    state["extra_state"]["note"] = RunsCommand(f"touch {ran}")
    path = tmp_path / "crafted.pt"
    torch.save(state, path)
    return path, ran


REFUSAL = "crafted.pt: refused: loading it would import and run posix.system; checkpoints are read as weights only"


@pytest.mark.slow
@pytest.mark.parametrize("tool", ["fairseq-generate", "fairseq-interactive", "fairseq-train"])
def test_a_crafted_checkpoint_is_refused_in_one_line(tool, data_bin, crafted, tmp_path):
    path, ran = crafted
    load = ["--restore-file", path, "--save-dir", tmp_path / "save", "--arch", "pgkpr_transformer_small",
            "--criterion", "pgkpr", "--optimizer", "adam", "--lr", "1e-3", "--batch-size", "4"] \
        if tool == "fairseq-train" else ["--path", path]
    result = subprocess.run(
        [os.path.join(BIN, tool), data_bin, "--user-dir", USER_DIR, "--task", "pgkpr", "--cpu", *map(str, load)],
        input="", capture_output=True, text=True, timeout=600, env=dict(os.environ, **OLD_DEFAULT),
    )
    output = result.stdout + result.stderr
    assert not ran.exists(), output
    assert result.returncode == 1, output
    assert "Traceback" not in output, output
    assert output.rstrip().splitlines()[-1].endswith(REFUSAL), output


@pytest.mark.slow
def test_the_python_api_refuses_it_too(data_bin, crafted, monkeypatch):
    path, ran = crafted
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    with pytest.raises(SystemExit, match=REFUSAL):
        hub_utils.from_pretrained(str(path.parent), checkpoint_file=path.name, data_name_or_path=data_bin,
                                  user_dir=USER_DIR)
    assert not ran.exists()


@pytest.mark.slow
def test_a_genuine_checkpoint_still_loads(data_bin, checkpoint, monkeypatch):
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    models, cfg, task = checkpoint_utils.load_model_ensemble_and_task(
        [str(checkpoint)], arg_overrides={"data": data_bin})
    assert cfg.task._name == "pgkpr" and len(models) == 1
