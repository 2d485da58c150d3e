"""End to end through fairseq's own command-line tools, as a user runs them (--user-dir)."""
import json
import math
import os
import re
import subprocess
import sys

import pytest
import torch
from fairseq import options, tasks
from fairseq.data import Dictionary
from fairseq.criterions.label_smoothed_cross_entropy import LabelSmoothedCrossEntropyCriterion
from fairseq.dataclass.utils import convert_namespace_to_omegaconf

import pgkpr_fairseq
from pgkpr_fairseq.data import KeywordSelection, load_pgkpr_dataset
from pgkpr_fairseq.losses import contrastive_loss
from pgkpr_fairseq.models.pgkpr_transformer import mean_pool

from test_losses import direct_eq3

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



@pytest.mark.slow
def test_train_resume_generate(data_bin, tmp_path):
    save_dir = tmp_path / "checkpoints"
    code, log = train(data_bin, save_dir, "--max-update", "3")
    assert code == 0, log
    for term in ("gen_loss", "rec_loss", "con_loss", "rec_accuracy", "rec_keyword_accuracy",
                 "con_accuracy"):
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

    # --inference-keywords reaches generation: threshold 0 keeps every word as a keyword (part 1
    # holds all the words, part 2 all the tags), a threshold above 1 none (the other way round)
    for threshold, part1_is_words in (("0", True), ("1.5", False)):
        code, out = run(
            "fairseq-generate", data_bin, "--user-dir", USER_DIR, "--task", "pgkpr",
            "--path", save_dir / "checkpoint_last.pt", "--cpu", "--beam", "1", "--batch-size", "4",
            "--max-len-b", "5", "--num-workers", "0", "--inference-keywords", "threshold",
            "--keyword-threshold", threshold)
        assert code == 0, out
        sources = re.findall(r"^S-\d+\t(.*)$", out, flags=re.M)
        assert len(sources) == 8
        for source in sources:
            part1, part2 = (part.split() for part in source.split(" [SEP] "))
            tags = [[token.startswith("[") for token in part] for part in (part1, part2)]
            assert tags == [[not part1_is_words] * len(part1), [part1_is_words] * len(part2)], source


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


@pytest.mark.parametrize("rec_weight,con_weight", [(1.0, 0.1), (1.0, 0.0), (0.0, 0.1), (0.0, 0.0)])
def test_batches_carry_only_the_inputs_of_the_criterions_losses(data_bin, rec_weight, con_weight):
    """The reconstruction targets and contrastive inputs are built only for a loss that is on
    (also in the validation split, loaded before the criterion), and never for generation."""
    task, _, _ = build(data_bin, rec_weight, con_weight)
    task.load_dataset("train")
    for split in ("valid", "train"):
        dataset = task.dataset(split)
        batch = dataset.collater([dataset[i] for i in range(4)])
        assert ("reconstruction_target" in batch) == (rec_weight > 0)
        assert ("contrastive_targets" in batch) == ("contrastive_sources" in batch) == (con_weight > 0)
    parser = options.get_generation_parser()
    args = options.parse_args_and_arch(parser, [data_bin, "--user-dir", USER_DIR, "--task", "pgkpr"])
    generation_task = tasks.setup_task(convert_namespace_to_omegaconf(args).task)
    generation_task.load_dataset("test")
    dataset = generation_task.dataset("test")
    batch = dataset.collater([dataset[i] for i in range(4)])
    assert not {"reconstruction_target", "contrastive_sources", "contrastive_targets"} & set(batch)


def test_targets_only_candidates_encode_no_source(data_bin):
    """--con-candidates targets: eq. 3 against the batch's targets, without encoding s [SEP] POS(s)."""
    torch.manual_seed(0)
    task, model, criterion = build(data_bin, 0.0, 1.0, "--con-candidates", "targets")
    model.eval()
    dataset = task.dataset("valid")
    sample = dataset.collater([dataset[i] for i in range(6)])
    encoded = []
    original = model.encode_pooled
    model.encode_pooled = lambda tokens, lengths: encoded.append(tokens) or original(tokens, lengths)
    _, _, logs = criterion(model, sample)
    assert len(encoded) == 1 and encoded[0] is sample["contrastive_targets"]["tokens"]
    net_output = model(**sample["net_input"], return_encoder_out=True)
    states, padding_mask = model.encoder_states(net_output[1]["encoder_out"])
    text_ids = sample["contrastive_text_ids"]
    expected = contrastive_loss(mean_pool(states, padding_mask), None, original(
        **sample["contrastive_targets"]), 0.5, "cosine", text_ids["sources"], text_ids["targets"])
    assert torch.isclose(logs["con_loss"], expected.loss)


def test_tag_softmax_predicts_tag_targets_among_the_tags(data_bin):
    """--rec-tag-softmax: eq. 2 with the POS-tag targets (and [SEP]) normalized over the tags and
    [SEP], the word and [NOK] targets over the whole dictionary, per sentence as eq. 2 averages."""
    losses = {}
    for tag_softmax in (False, True):
        torch.manual_seed(0)
        task, model, criterion = build(data_bin, 1.0, 0.0, *(["--rec-tag-softmax"] * tag_softmax))
        model.eval()
        dataset = task.dataset("valid")
        sample = dataset.collater([dataset[i] for i in range(6)])
        _, _, logs = criterion(model, sample)
        losses[tag_softmax] = logs["rec_loss"].item()
    dictionary = task.source_dictionary
    tags = [i for i, symbol in enumerate(dictionary.symbols)
            if symbol == "[SEP]" or (symbol.startswith("[") and symbol.endswith("]")
                                     and symbol not in ("[NOK]",))]
    net_output = model(**sample["net_input"], return_encoder_out=True)
    states, _ = model.encoder_states(net_output[1]["encoder_out"])
    expected, correct, keyword_correct, keywords = 0.0, 0, 0, 0
    for b in range(states.size(0)):
        row = sample["reconstruction_target"][b]
        positions = row.ne(dictionary.pad()).nonzero().squeeze(1)
        nll = []
        for position in positions.tolist():
            target = int(row[position])
            # a keyword's position: its target (its tag in part 1, the word in part 2) is not shown
            is_keyword = (target != int(sample["net_input"]["src_tokens"][b, position])
                          and dictionary[target] != "[NOK]")
            logits = model.reconstruction_head(states[b, position:position + 1])[0]
            if target in tags:
                logits, target = logits[tags], tags.index(target)
            log_probs = torch.log_softmax(logits, dim=-1)
            nll.append(-log_probs[target].item())
            correct += int(log_probs.argmax()) == target
            keywords += is_keyword
            keyword_correct += is_keyword and int(log_probs.argmax()) == target
        expected += sum(nll) / len(nll)
    assert math.isclose(losses[True], expected, rel_tol=1e-5)
    assert logs["rec_correct"] == correct
    assert 0 < keywords < logs["rec_total"]
    assert (logs["rec_keyword_correct"], logs["rec_keyword_total"]) == (keyword_correct, keywords)
    assert losses[True] < losses[False]  # a smaller normalizer for the tag targets


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
        text_ids = sample["contrastive_text_ids"]
        con = contrastive_loss(mean_pool(states, padding_mask), *counterparts, 0.5, "cosine",
                               text_ids["sources"], text_ids["targets"])
        (gen_loss + con.loss).backward()
        assert torch.allclose(model.encoder.layers[0].fc1.weight.grad, gradients[detach], atol=1e-6)
    assert torch.isclose(losses[False], losses[True])
    assert not torch.allclose(gradients[False], gradients[True])


RECORDER_DIR = os.path.join(os.path.dirname(__file__), "pgkpr_draw_recorder")


def recorded_epochs(record_path, examples):
    """The TS_s each training step received, as one {id: tokens} per epoch (every example is
    seen once per epoch)."""
    with open(record_path, encoding="utf-8") as record:
        steps = [json.loads(line) for line in record]
    assert len(steps) % examples == 0, len(steps)
    epochs = []
    for start in range(0, len(steps), examples):
        epoch = dict((index, tokens) for index, tokens in steps[start:start + examples])
        assert sorted(epoch) == list(range(examples))
        epochs.append(epoch)
    return epochs


def train_recording(data_bin, save_dir, record_path, workers, max_epoch):
    environment = dict(os.environ, PGKPR_RECORD=str(record_path))
    result = subprocess.run(
        [os.path.join(BIN, "fairseq-train"), data_bin, "--user-dir", RECORDER_DIR, "--task", "pgkpr",
         *TINY_MODEL, "--criterion", "pgkpr_recording", "--optimizer", "adam", "--lr", "1e-3",
         "--batch-size", "16", "--save-dir", str(save_dir), "--cpu", "--num-workers", str(workers),
         "--max-epoch", str(max_epoch), "--seed", "5", "--no-epoch-checkpoints",
         "--log-format", "simple"],
        capture_output=True, text=True, timeout=600, env=environment)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_keyword_draws_are_fresh_every_epoch_with_any_worker_count(data_bin, tmp_path):
    """fairseq-train itself, 3 epochs: the TS_s of every training step is the seeded draw of
    (seed, epoch, index), the same with 0, 1 and 2 data-loading workers and after a resume."""
    examples = 64
    runs = {}
    for workers in (0, 1, 2):
        record = tmp_path / f"workers{workers}.jsonl"
        train_recording(data_bin, tmp_path / f"ck{workers}", record, workers, 3)
        runs[workers] = recorded_epochs(record, examples)
    resumed = tmp_path / "resumed.jsonl"
    train_recording(data_bin, tmp_path / "ck-resumed", resumed, 1, 2)
    train_recording(data_bin, tmp_path / "ck-resumed", resumed, 1, 3)
    runs["resumed"] = recorded_epochs(resumed, examples)

    dictionary = Dictionary.load(os.path.join(data_bin, "dict.src.txt"))
    train_split = load_pgkpr_dataset(data_bin, "train", "src", "tgt", dictionary,
                                     KeywordSelection("sample", seed=5),
                                     keyword_prob_streams=["kwprob_ref"])
    expected = []
    for epoch in (1, 2, 3):
        train_split.set_epoch(epoch)
        expected.append({i: train_split[i]["source"].tolist() for i in range(examples)})
    assert expected[0] != expected[1] != expected[2]
    for name, epochs in runs.items():
        assert epochs == expected, f"{name}: the draws differ from the seeded draws"


def test_auxiliary_terms_match_a_sentence_by_sentence_computation(data_bin):
    """The criterion's L_rec, L_con and contrastive accuracy against eq. 2 and eq. 3 computed one
    sentence at a time: every encoding from an unpadded encoder call (so padding cannot leak into
    the pooling), L_rec averaged within each sentence, eq. 3's negatives chosen by text."""
    torch.manual_seed(0)
    task, model, criterion = build(data_bin, 1.0, 1.0)
    model.eval()
    dictionary = task.source_dictionary
    dataset = task.dataset("valid")
    indices = [0, 1, 2, 3, 0, 5, 6, 9]  # example 0 twice: a copy of its own pair
    sample = dataset.collater([dataset[i] for i in indices])
    _, _, logs = criterion(model, sample)

    def unpadded(row):
        return row[row.ne(dictionary.pad())]

    def pooled(tokens):
        encoder_out = model.encoder(tokens.unsqueeze(0), src_lengths=torch.tensor([len(tokens)]))
        return encoder_out["encoder_out"][0][:, 0].mean(dim=0)

    batch = len(indices)
    rec_loss, anchors, sources, targets = 0.0, [], [], []
    for b in range(batch):
        tokens = unpadded(sample["net_input"]["src_tokens"][b])
        states = model.encoder(tokens.unsqueeze(0), src_lengths=torch.tensor([len(tokens)]))
        states = states["encoder_out"][0][:, 0]
        reconstruction = unpadded(sample["reconstruction_target"][b])
        log_probs = torch.log_softmax(model.reconstruction_head(states[:len(reconstruction)]), -1)
        rec_loss += -log_probs[torch.arange(len(reconstruction)), reconstruction].mean().item()
        anchors.append(states.mean(dim=0))
        sources.append(pooled(unpadded(sample["contrastive_sources"]["tokens"][b])))
        targets.append(pooled(unpadded(sample["contrastive_targets"]["tokens"][b])))
    assert math.isclose(logs["rec_loss"].item(), rec_loss, rel_tol=1e-4)

    ids = sample["id"].tolist()
    source_texts = [tuple(dataset.src[i].tolist()) for i in ids]
    target_texts = [tuple(dataset.tgt[i].tolist()) for i in ids]
    con_loss = direct_eq3(anchors, sources, targets, criterion.con_temperature, cosine=True,
                          source_texts=source_texts, target_texts=target_texts)
    assert math.isclose(logs["con_loss"].item(), con_loss, rel_tol=1e-4)

    def cosine(a, b):
        return float(torch.cosine_similarity(a, b, dim=0))

    correct = 0
    for i in range(batch):
        own = {source_texts[i], target_texts[i]}
        negatives = [cosine(anchors[i], targets[j]) for j in range(batch) if target_texts[j] not in own]
        negatives += [cosine(anchors[i], sources[j]) for j in range(batch) if source_texts[j] not in own]
        correct += cosine(anchors[i], targets[i]) > max(negatives)
    assert logs["con_correct"] == correct and logs["con_anchors"] == batch
    assert logs["con_masked"] == 2 * 2  # the two copies of example 0 see each other's s and t
