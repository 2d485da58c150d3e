"""The PGKPR Transformer's own parts: TS_s positions (sequential, aligned, segments)."""
import os

import pytest
import torch

from pgkpr_fairseq.models.pgkpr_transformer import TwoPartPositions, two_part_positions

from test_train_e2e import build, run, train, USER_DIR

PAD, SEP = 1, 9


def test_aligned_positions_restart_after_sep():
    w, t, eos = 20, 30, 2  # any word and tag ids
    right_padded = torch.tensor([[w, w, w, SEP, t, t, t, eos], [w, SEP, t, eos, PAD, PAD, PAD, PAD]])
    left_padded = torch.tensor([[PAD, PAD, PAD, PAD, w, SEP, t, eos], [w, w, w, SEP, t, t, t, eos]])
    no_sep = torch.tensor([[PAD, w, w, eos]])
    # fairseq numbers positions from pad + 1 = 2 and puts pad (1) at padding
    assert two_part_positions(right_padded, PAD, SEP).tolist() == [
        [2, 3, 4, 5, 2, 3, 4, 5], [2, 3, 2, 3, 1, 1, 1, 1]]
    assert two_part_positions(left_padded, PAD, SEP).tolist() == [
        [1, 1, 1, 1, 2, 3, 2, 3], [2, 3, 4, 5, 2, 3, 4, 5]]
    assert two_part_positions(no_sep, PAD, SEP).tolist() == [[1, 2, 3, 4]]


def test_sequential_is_the_default_and_aligned_shares_positions(data_bin):
    _, model, _ = build(data_bin, 1.0, 0.0)
    assert not isinstance(model.encoder.embed_positions, TwoPartPositions)
    task, model, _ = build(data_bin, 1.0, 0.0, "--two-part-positions", "aligned")
    positions = model.encoder.embed_positions
    assert isinstance(positions, TwoPartPositions) and positions.segments is None
    sample = task.dataset("valid").collater([task.dataset("valid")[i] for i in range(3)])
    tokens = sample["net_input"]["src_tokens"]
    embedded = positions(tokens)
    for row in range(tokens.size(0)):
        real = tokens[row].ne(task.source_dictionary.pad()).nonzero().squeeze(1)
        length = (len(real) - 2) // 2  # l words: l + [SEP] + l + </s>
        first, second = real[:length], real[length + 1:2 * length + 1]
        assert torch.equal(embedded[row, first], embedded[row, second])
        assert not torch.equal(embedded[row, first[0]], embedded[row, first[1]])


@pytest.mark.slow
def test_aligned_positions_with_segments_train_and_generate(data_bin, tmp_path):
    options = ["--two-part-positions", "aligned", "--segment-embeddings"]
    code, log = train(data_bin, tmp_path, "--max-update", "2", *options)
    assert code == 0, log
    checkpoint = torch.load(os.path.join(tmp_path, "checkpoint_last.pt"), weights_only=False)
    assert "encoder.embed_positions.segments.weight" in checkpoint["model"]
    code, out = run(
        "fairseq-generate", data_bin, "--user-dir", USER_DIR, "--task", "pgkpr",
        "--path", tmp_path / "checkpoint_last.pt", "--cpu", "--beam", "2", "--batch-size", "4",
        "--max-len-b", "10", "--num-workers", "0")
    assert code == 0, out
    assert len([line for line in out.splitlines() if line.startswith("H-")]) == 8
