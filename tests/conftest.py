"""Fixtures shared by the test modules."""
import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

from pgkpr_fairseq.sample_corpus import make_pairs

from databin import write_data_bin
from test_train_e2e import run


@pytest.fixture(scope="session")
def data_bin(tmp_path_factory):
    """The tiny data-bin of databin.py (read only), written once for every test module."""
    return write_data_bin(str(tmp_path_factory.mktemp("bin")))


@pytest.fixture(scope="session")
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
