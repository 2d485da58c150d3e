import os
import shutil

import numpy as np
import pytest
import torch
from fairseq.data import Dictionary, indexed_dataset

from pgkpr_fairseq.data import (NO_TRAINING_INPUTS, KeywordSelection, TrainingInputs, collate,
                                load_pgkpr_dataset)
from pgkpr_fairseq.data import side_data
from pgkpr_fairseq.data.side_data import SideDataError




def load(folder, split="valid", selection=KeywordSelection("sample", seed=3), **kwargs):
    dictionary = Dictionary.load(os.path.join(folder, "dict.src.txt"))
    return load_pgkpr_dataset(folder, split, "src", "tgt", dictionary, selection, **kwargs), dictionary


def test_example_is_the_two_part_input_of_its_draw(data_bin):
    dataset, dictionary = load(data_bin)
    example = dataset[3]
    words = dataset.src[3][:-1].tolist()
    tags = dataset.src_pos[3].tolist()
    l = len(words)
    tokens = example["source"].tolist()
    assert len(tokens) == 2 * l + 2 and tokens[l] == dictionary.index("[SEP]")
    assert tokens[-1] == dictionary.eos()
    is_keyword = [tokens[j] == words[j] for j in range(l)]
    # part 1 keeps keywords and tags the rest; part 2 is the other way round
    for j in range(l):
        assert tokens[j] == (words[j] if is_keyword[j] else tags[j])
        assert tokens[l + 1 + j] == (tags[j] if is_keyword[j] else words[j])
    targets = example["reconstruction_target"].tolist()
    nok = dictionary.index("[NOK]")
    assert targets[:l] == tags and targets[l] == dictionary.index("[SEP]")
    assert targets[l + 1:-1] == [w if k else nok for w, k in zip(words, is_keyword)]
    assert targets[-1] == dictionary.pad()
    sep = dictionary.index("[SEP]")
    assert example["source_with_tags"].tolist() == words + [sep] + tags + [dictionary.eos()]
    target_words = dataset.tgt[3][:-1].tolist()
    assert example["target_with_tags"].tolist() == (
        target_words + [sep] + dataset.tgt_pos[3].tolist() + [dictionary.eos()]
    )


@pytest.mark.parametrize("inputs", [TrainingInputs(True, False), TrainingInputs(False, True),
                                    NO_TRAINING_INPUTS])
def test_examples_carry_only_the_training_inputs_asked_for(data_bin, inputs):
    full, dictionary = load(data_bin)
    dataset, _ = load(data_bin, training_inputs=inputs)
    batch = collate([dataset[i] for i in range(5)], dictionary.pad(), dictionary.eos())
    everything = collate([full[i] for i in range(5)], dictionary.pad(), dictionary.eos())
    reconstruction = {"reconstruction_target"}
    contrastive = {"contrastive_sources", "contrastive_targets", "contrastive_text_ids"}
    expected = (set(everything) - reconstruction - contrastive
                | (reconstruction if inputs.reconstruction else set())
                | (contrastive if inputs.contrastive else set()))
    assert set(batch) == expected
    # the same draw and batch either way
    for key in expected - {"net_input", "contrastive_sources", "contrastive_targets",
                           "contrastive_text_ids"}:
        assert torch.equal(torch.as_tensor(batch[key]), torch.as_tensor(everything[key])), key
    for key, value in batch["net_input"].items():
        assert torch.equal(value, everything["net_input"][key])


def test_draws_are_reproducible_per_epoch_and_differ_across_epochs(data_bin):
    train, _ = load(data_bin, "train", KeywordSelection("sample", seed=7))
    again, _ = load(data_bin, "train", KeywordSelection("sample", seed=7))
    draws = {}
    for epoch in (1, 2):
        train.set_epoch(epoch)
        again.set_epoch(epoch)
        draws[epoch] = [train[i]["source"].tolist() for i in range(len(train))]
        assert draws[epoch] == [again[i]["source"].tolist() for i in range(len(again))]
    assert draws[1] != draws[2]
    # the draw of one example does not depend on which other examples were read before it
    train.set_epoch(1)
    assert train[5]["source"].tolist() == draws[1][5]


def test_threshold_selection_keeps_probable_words(data_bin):
    dataset, _ = load(data_bin, selection=KeywordSelection("threshold", threshold=0.5))
    for i in range(len(dataset)):
        probs = dataset.keyword_probs(i)
        words = dataset.src[i][:-1].tolist()
        tokens = dataset[i]["source"].tolist()
        assert [tokens[j] == words[j] for j in range(len(words))] == (probs >= 0.5).tolist()


def test_collater_pads_aligned_and_batches_contrastive_inputs(data_bin):
    dataset, dictionary = load(data_bin)
    samples = [dataset[i] for i in (0, 1, 2, 5)]
    batch = collate(samples, dictionary.pad(), dictionary.eos())
    src = batch["net_input"]["src_tokens"]
    assert src.shape == batch["reconstruction_target"].shape
    lengths = batch["net_input"]["src_lengths"].tolist()
    assert lengths == sorted(lengths, reverse=True)
    by_id = {s["id"]: s for s in samples}
    for row, sample_id in enumerate(batch["id"].tolist()):
        sample = by_id[sample_id]
        n = sample["source"].numel()
        assert src[row, -n:].tolist() == sample["source"].tolist()  # left-padded source
        assert (src[row, :-n] == dictionary.pad()).all()
        assert batch["reconstruction_target"][row, -n:].tolist() == sample["reconstruction_target"].tolist()
        m = sample["target"].numel()
        assert batch["target"][row, :m].tolist() == sample["target"].tolist()
        assert batch["net_input"]["prev_output_tokens"][row, 0] == dictionary.eos()
        for side in ("source", "target"):
            contrastive = batch[f"contrastive_{side}s"]
            expected = sample[f"{side}_with_tags"].tolist()
            assert contrastive["tokens"][row, -len(expected):].tolist() == expected
            assert (contrastive["tokens"][row, :-len(expected)] == dictionary.pad()).all()
            assert contrastive["lengths"][row] == len(expected)
    for side in ("source", "target"):  # each padded to its own longest row, not the other's
        assert batch[f"contrastive_{side}s"]["tokens"].size(1) == max(
            s[f"{side}_with_tags"].numel() for s in samples)
    assert batch["ntokens"] == sum(s["target"].numel() for s in samples)
    assert collate([], 1, 2) == {}


def test_sizes_are_the_lengths_of_the_examples(data_bin):
    """--max-tokens batching and max-position filtering read the sizes, not the examples."""
    dataset, _ = load(data_bin, "train")
    for i in range(len(dataset)):
        example = dataset[i]
        assert dataset.size(i) == (len(example["source"]), len(example["target"]))
        assert dataset.sizes[i] == len(example["source"])
        assert dataset.num_tokens(i) == max(len(example["source"]), len(example["target"]))
    indices = np.arange(len(dataset))
    assert dataset.num_tokens_vec(indices).tolist() == [dataset.num_tokens(i) for i in indices]


def test_keyword_coins_are_independent_across_examples(data_bin):
    """Each example flips its own coins: were they shared by the examples of an epoch, the first
    word would be a keyword exactly when its probability exceeds one common draw, so that every
    keyword first word would be more probable than every other first word."""
    dataset, _ = load(data_bin, "train", KeywordSelection("sample", seed=11))
    probs, chosen = [], []
    for i in range(len(dataset)):
        words = dataset.src[i][:-1].tolist()
        probs.append(dataset.keyword_probs(i)[0])
        chosen.append(dataset[i]["source"][0].item() == words[0])
    probs, chosen = np.array(probs), np.array(chosen)
    assert chosen.any() and not chosen.all()
    assert probs[chosen].min() < probs[~chosen].max()


def stream_values(textdir, split, stream):
    with open(os.path.join(textdir, f"{split}.{stream}"), encoding="utf-8") as lines:
        return [np.array(line.split(), dtype=float) for line in lines]


def test_training_reads_the_chosen_streams(data_bin):
    """The training split reads stage one's (s [SEP] t) scores by default, validation the
    (s [SEP] s) ones; with both streams, each example reads one of them, chosen per epoch."""
    textdir = os.path.join(os.path.dirname(data_bin), "text")
    for split, streams in (("train", ["kwprob_ref"]), ("valid", ["kwprob"])):
        dataset, _ = load(data_bin, split, keyword_prob_streams=streams)
        expected = stream_values(textdir, split, streams[0])
        for i in range(len(dataset)):
            assert np.allclose(dataset.keyword_probs(i), expected[i], atol=1e-4)
    both, _ = load(data_bin, "train", keyword_prob_streams=["kwprob", "kwprob_ref"])
    self_probs, ref_probs = (stream_values(textdir, "train", name) for name in ("kwprob", "kwprob_ref"))
    read = {"kwprob": 0, "kwprob_ref": 0}
    for epoch in (1, 2):
        both.set_epoch(epoch)
        for i in range(len(both)):
            probs = both.keyword_probs(i)
            name = "kwprob" if np.allclose(probs, self_probs[i], atol=1e-4) else "kwprob_ref"
            assert np.allclose(probs, (self_probs if name == "kwprob" else ref_probs)[i], atol=1e-4)
            read[name] += 1
    assert min(read.values()) > 0.3 * sum(read.values())


# --- bad input: every problem names the split, the stream and the sentence ---

@pytest.fixture
def broken_bin(data_bin, tmp_path):
    folder = str(tmp_path / "bin")
    shutil.copytree(data_bin, folder)
    return folder


def rewrite(folder, lang, stream, change, dtype=np.uint16):
    prefix = side_data.side_stream_prefix(folder, "valid", "src", "tgt", lang, stream)
    dataset = indexed_dataset.MMapIndexedDataset(prefix)
    sequences = [dataset[i].numpy().copy() for i in range(len(dataset))]
    del dataset
    change(sequences)
    side_data.write_side_stream(prefix, sequences, dtype=dtype)


def test_side_stream_shorter_than_its_sentence(broken_bin):
    rewrite(broken_bin, "src", "pos", lambda seqs: seqs.__setitem__(4, seqs[4][:-1]))
    with pytest.raises(SideDataError, match=r"split 'valid'.*valid.src-tgt.src.pos: sentence 4 has"):
        load(broken_bin)


def test_side_stream_with_fewer_sentences(broken_bin):
    rewrite(broken_bin, "tgt", "pos", lambda seqs: seqs.pop())
    with pytest.raises(SideDataError, match=r"valid.src-tgt.tgt.pos: 15 sentences, but the token stream has 16"):
        load(broken_bin)


def test_probability_above_one(broken_bin):
    rewrite(broken_bin, "src", "kwprob", lambda seqs: seqs[6].__setitem__(0, 70000), dtype=np.uint32)
    with pytest.raises(SideDataError, match=r"kwprob: sentence 6 has a keyword probability above 1"):
        load(broken_bin)


def test_writer_refuses_nan_and_out_of_range():
    for bad in ([0.5, float("nan")], [-0.1], [1.5]):
        with pytest.raises(ValueError, match="not in"):
            side_data.quantize_probs(bad)
    assert side_data.quantize_probs([0.0, 0.5, 1.0]).tolist() == [0, 32768, 65535]


def test_pos_tag_missing_from_dictionary(broken_bin):
    unk = Dictionary.load(os.path.join(broken_bin, "dict.src.txt")).unk()
    rewrite(broken_bin, "src", "pos", lambda seqs: seqs[2].__setitem__(1, unk))
    with pytest.raises(SideDataError, match=r"src.pos: sentence 2 has a POS id that is not a tag"):
        load(broken_bin)


def test_word_index_that_skips_a_word(broken_bin):
    rewrite(broken_bin, "src", "word", lambda seqs: seqs[9].__setitem__(-1, seqs[9][-1] + 1))
    with pytest.raises(SideDataError, match=r"word: sentence 9 has word indices"):
        load(broken_bin)


def test_pieces_of_one_word_with_different_probabilities(broken_bin):
    def merge_first_two_words(seqs):
        seqs[1][1:] -= 1  # 0 1 2 3 -> 0 0 1 2

    rewrite(broken_bin, "src", "word", merge_first_two_words)
    with pytest.raises(SideDataError, match=r"sentence 1 gives pieces of one word different"):
        load(broken_bin)


def test_empty_source_sentence(broken_bin):
    prefix = os.path.join(broken_bin, "valid.src-tgt.src")
    dataset = indexed_dataset.MMapIndexedDataset(prefix)
    sentences = [dataset[i] for i in range(len(dataset))]
    del dataset
    sentences[11] = torch.tensor([2])  # only </s>
    builder = indexed_dataset.MMapIndexedDatasetBuilder(prefix + ".bin", dtype=np.uint16)
    for tokens in sentences:
        builder.add_item(tokens)
    builder.finalize(prefix + ".idx")
    with pytest.raises(SideDataError, match=r"split 'valid': source sentence 11 is empty"):
        load(broken_bin)
