"""fairseq-interactive on plain sentences: the task tags and scores them itself (--keyword-model)."""
import os
import subprocess

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

from pgkpr_fairseq.annotate import group_pieces
from pgkpr_fairseq.preprocessing.pos import load_tagger, tag_set
from pgkpr_fairseq.sample_corpus import make_pairs

from databin import write_data_bin
from test_train_e2e import BIN, USER_DIR, run, train


def test_group_pieces():
    assert group_pieces(["how", "are", "you"]) == (["how", "are", "you"], [0, 1, 2])
    assert group_pieces(["\u2581wor", "k", "outs", "\u2581to", "\u2581lose"]) == (
        ["workouts", "to", "lose"], [0, 0, 0, 1, 2])


@pytest.fixture(scope="module")
def tiny_classifier(tmp_path_factory):
    """A tiny BERT classifier over the sample corpus' words, fine-tuned for a few steps."""
    folder = tmp_path_factory.mktemp("bert")
    pairs = make_pairs(64, 5)
    words = sorted({w for pair in pairs for side in pair for w in side.split()})
    (folder / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words) + "\n")
    BertTokenizer(vocab=str(folder / "vocab.txt")).save_pretrained(folder)
    torch.manual_seed(0)
    BertForSequenceClassification(BertConfig(
        vocab_size=len(words) + 5, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=64)).save_pretrained(folder)
    for side, column in (("src", 0), ("tgt", 1)):
        (folder / f"train.{side}").write_text("".join(p[column] + "\n" for p in pairs))
    code, log = run("pgkpr-keywords", "train", "--src", folder / "train.src", "--tgt", folder / "train.tgt",
                    "--model", folder, "--output", folder / "tuned", "--examples", "64", "--no-progress")
    assert code == 0, log
    return folder / "tuned"


@pytest.mark.slow
def test_interactive_paraphrases_plain_sentences(tiny_classifier, tmp_path):
    spacy_tags = tag_set(load_tagger())
    data_bin = write_data_bin(str(tmp_path / "data"), extra_tags=spacy_tags)
    code, log = train(data_bin, tmp_path / "ck", "--max-update", "2")
    assert code == 0, log
    sentences = "how can i learn python ?\nwhat are good ways to cook rice ?\n"
    command = [os.path.join(BIN, "fairseq-interactive"), data_bin, "--user-dir", USER_DIR,
               "--task", "pgkpr", "--path", str(tmp_path / "ck" / "checkpoint_last.pt"), "--cpu",
               "--beam", "2", "--max-len-b", "10", "--keyword-model", str(tiny_classifier)]
    result = subprocess.run(command, input=sentences, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    hypotheses = [line for line in result.stdout.splitlines() if line.startswith("H-")]
    assert [h.split("\t")[0] for h in hypotheses] == ["H-0", "H-1"]

    missing = subprocess.run(command[:-2], input=sentences, capture_output=True, text=True, timeout=300)
    assert missing.returncode != 0 and "needs --keyword-model" in missing.stderr
