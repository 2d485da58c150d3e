"""End to end through fairseq's own command-line tools, as a user runs them (--user-dir)."""
import os
import re
import subprocess
import sys

import pytest
import torch
from fairseq import options, tasks
from fairseq.criterions.label_smoothed_cross_entropy import LabelSmoothedCrossEntropyCriterion
from fairseq.dataclass.utils import convert_namespace_to_omegaconf

import pgkpr_fairseq
from pgkpr_fairseq.losses import contrastive_loss
from pgkpr_fairseq.models.pgkpr_transformer import mean_pool

from databin import write_data_bin

USER_DIR = os.path.dirname(pgkpr_fairseq.__file__)
BIN = os.path.dirname(sys.executable)
TINY_MODEL = (
    "--arch pgkpr_transformer_small --encoder-layers 1 --decoder-layers 1 "
    "--encoder-embed-dim 32 --decoder-embed-dim 32 --encoder-ffn-embed-dim 64 "
    "--decoder-ffn-embed-dim 64 --encoder-attention-heads 2 --decoder-attention-heads 2"
).split()


def run(tool, *args):
    result = subprocess.run(
        [os.path.join(BIN, tool), *map(str, args)], capture_output=True, text=True, timeout=600
    )
    return result.returncode, result.stdout + result.stderr


def train(data_bin, save_dir, *extra):
    return run(
        "fairseq-train", data_bin, "--user-dir", USER_DIR, "--task", "pgkpr", *TINY_MODEL,
        "--criterion", "pgkpr", "--label-smoothing", "0.1", "--optimizer", "adam", "--lr", "1e-3",
        "--batch-size", "16", "--save-dir", save_dir, "--cpu", "--num-workers", "0",
        "--log-format", "simple", "--log-interval", "1", "--seed", "3", *extra,
    )


@pytest.fixture(scope="module")
def data_bin(tmp_path_factory):
    return write_data_bin(str(tmp_path_factory.mktemp("bin")))


@pytest.mark.slow
def test_train_resume_generate(data_bin, tmp_path):
    save_dir = tmp_path / "checkpoints"
    code, log = train(data_bin, save_dir, "--max-update", "3")
    assert code == 0, log
    for term in ("gen_loss", "rec_loss", "con_loss", "rec_accuracy", "con_accuracy"):
        assert re.search(rf"\| {term} [0-9.]+", log), f"{term} not logged:\n{log}"
    assert (save_dir / "checkpoint_last.pt").exists()

    code, log = train(data_bin, save_dir, "--max-update", "6")
    assert code == 0, log
    assert re.search(r"Loaded checkpoint .*checkpoint_last.pt \(epoch \d+ @ 3 updates\)", log), log
    assert "num_updates 6" in log, log

    code, out = run(
        "fairseq-generate", data_bin, "--user-dir", USER_DIR, "--task", "pgkpr",
        "--path", save_dir / "checkpoint_last.pt", "--cpu", "--beam", "2", "--batch-size", "4",
        "--max-len-b", "20", "--num-workers", "0",
    )
    assert code == 0, out
    hypotheses = re.findall(r"^H-(\d+)\t", out, flags=re.M)
    assert sorted(map(int, hypotheses)) == list(range(8))
    assert re.search(r"^S-0\t.*\[SEP\]", out, flags=re.M)  # the source is the two-part input


@pytest.mark.slow
def test_zero_weights_train_a_plain_transformer(data_bin, tmp_path):
    code, log = train(data_bin, tmp_path, "--max-update", "2", "--rec-weight", "0", "--con-weight", "0")
    assert code == 0, log
    assert "gen_loss" in log and "rec_loss" not in log and "con_loss" not in log


@pytest.mark.slow
def test_bad_data_bin_stops_before_training(data_bin, tmp_path):
    broken = tmp_path / "bin"
    broken.mkdir()
    for name in os.listdir(data_bin):
        if not name.startswith("valid.src-tgt.src.kwprob"):
            os.symlink(os.path.join(data_bin, name), broken / name)
    code, log = train(str(broken), tmp_path / "ck", "--max-update", "2")
    assert code != 0
    assert "split 'valid': missing" in log and "valid.src-tgt.src.kwprob" in log
    assert "num_updates" not in log


def build(data_bin, rec_weight, con_weight, *extra):
    """Task, model and criterion as fairseq-train builds them from its command line."""
    parser = options.get_training_parser()
    args = options.parse_args_and_arch(parser, [
        data_bin, "--user-dir", USER_DIR, "--task", "pgkpr", *TINY_MODEL, "--dropout", "0",
        "--criterion", "pgkpr", "--label-smoothing", "0.1", "--rec-weight", str(rec_weight),
        "--con-weight", str(con_weight), "--con-temperature", "0.5", "--cpu", *extra,
    ])
    cfg = convert_namespace_to_omegaconf(args)
    task = tasks.setup_task(cfg.task)
    task.load_dataset("valid")
    return task, task.build_model(cfg.model), task.build_criterion(cfg.criterion)


def test_zero_weights_give_exactly_the_generation_loss(data_bin):
    torch.manual_seed(0)
    task, model, criterion = build(data_bin, 0.0, 0.0)
    dataset = task.dataset("valid")
    sample = dataset.collater([dataset[i] for i in range(6)])
    loss, sample_size, logs = criterion(model, sample)
    plain = LabelSmoothedCrossEntropyCriterion(task, False, 0.1)
    plain_loss, _, _ = plain(model, sample)
    assert torch.allclose(loss, plain_loss)
    assert "rec_loss" not in logs and "con_loss" not in logs
    loss.backward()
    assert model.reconstruction_head.dense.weight.grad is None


def test_weighted_terms_add_up(data_bin):
    torch.manual_seed(0)
    task, model, criterion = build(data_bin, 0.7, 0.3)
    model.eval()
    dataset = task.dataset("valid")
    sample = dataset.collater([dataset[i] for i in range(6)])
    loss, sample_size, logs = criterion(model, sample)
    # eq. 5 summed over the batch: per-sentence L_rec and L_con beside L_gen summed over tokens
    expected = logs["gen_loss"] + 0.7 * logs["rec_loss"] + 0.3 * logs["con_loss"]
    assert torch.isclose(loss, expected)
    assert sample_size == sample["ntokens"]
    assert logs["rec_total"] == int((sample["reconstruction_target"] != 1).sum())
    loss.backward()
    assert model.reconstruction_head.dense.weight.grad.abs().sum() > 0


def test_detached_counterparts_change_only_the_gradient(data_bin):
    """--con-detach-counterparts: the same loss, and the gradient of eq. 3 through the anchors only."""
    gradients, losses = {}, {}
    for detach in (False, True):
        torch.manual_seed(0)
        task, model, criterion = build(data_bin, 0.0, 1.0, *(["--con-detach-counterparts"] * detach))
        assert criterion.con_detach_counterparts == detach
        model.eval()
        dataset = task.dataset("valid")
        sample = dataset.collater([dataset[i] for i in range(6)])
        loss, _, _ = criterion(model, sample)
        loss.backward()
        losses[detach] = loss.detach()
        gradients[detach] = model.encoder.layers[0].fc1.weight.grad.clone()

        # the same gradient by hand: generation loss plus eq. 3 with constant counterparts
        model.zero_grad()
        net_output = model(**sample["net_input"], return_encoder_out=True)
        gen_loss, _ = criterion.compute_loss(model, net_output, sample)
        states, padding_mask = model.encoder_states(net_output[1]["encoder_out"])
        counterparts = [model.encode_pooled(**sample[key]) for key in
                        ("contrastive_sources", "contrastive_targets")]
        if detach:
            counterparts = [encoding.detach() for encoding in counterparts]
        con_loss, _ = contrastive_loss(mean_pool(states, padding_mask), *counterparts, 0.5)
        (gen_loss + con_loss).backward()
        assert torch.allclose(model.encoder.layers[0].fc1.weight.grad, gradients[detach], atol=1e-6)
    assert torch.isclose(losses[False], losses[True])
    assert not torch.allclose(gradients[False], gradients[True])
