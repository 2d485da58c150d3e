"""Tiny PGKPR data-bins for the tests: made-up POS tags and keyword probabilities, no spaCy or BERT."""
import os

import numpy as np
from fairseq.data import Dictionary, indexed_dataset

from pgkpr_fairseq import perturb
from pgkpr_fairseq.data import side_data
from pgkpr_fairseq.sample_corpus import make_pairs

FAKE_TAGS = ["NN", "VB", "JJ", "DT", "IN", "."]


def fake_tags(words):
    return [FAKE_TAGS[len(w) % len(FAKE_TAGS)] for w in words]


def write_data_bin(folder, splits=(("train", 64), ("valid", 16), ("test", 8)), seed=1):
    """A joined-dictionary data-bin with side streams, from sample_corpus pairs."""
    os.makedirs(folder, exist_ok=True)
    data = {split: make_pairs(count, seed + i) for i, (split, count) in enumerate(splits)}
    dictionary = Dictionary()
    for symbol in [perturb.SEP, perturb.NOK] + [perturb.pos_token(t) for t in FAKE_TAGS]:
        dictionary.add_symbol(symbol)
    for source, target in data["train"]:
        for word in (source + " " + target).split():
            dictionary.add_symbol(word)
    dictionary.finalize()
    for lang in ("src", "tgt"):
        dictionary.save(os.path.join(folder, f"dict.{lang}.txt"))
    rng = np.random.default_rng(seed)
    for split, pairs in data.items():
        sides = {"src": [p[0].split() for p in pairs], "tgt": [p[1].split() for p in pairs]}
        for lang, sentences in sides.items():
            prefix = os.path.join(folder, f"{split}.src-tgt.{lang}")
            builder = indexed_dataset.MMapIndexedDatasetBuilder(
                indexed_dataset.data_file_path(prefix), dtype=np.uint16
            )
            for words in sentences:
                builder.add_item(dictionary.encode_line(" ".join(words), add_if_not_exist=False))
            builder.finalize(indexed_dataset.index_file_path(prefix))
            side_data.write_side_stream(
                side_data.side_stream_prefix(folder, split, "src", "tgt", lang, "pos"),
                ([dictionary.index(perturb.pos_token(t)) for t in fake_tags(w)] for w in sentences),
            )
        src_words = sides["src"]
        side_data.write_side_stream(
            side_data.side_stream_prefix(folder, split, "src", "tgt", "src", "word"),
            (range(len(w)) for w in src_words),
        )
        side_data.write_side_stream(
            side_data.side_stream_prefix(folder, split, "src", "tgt", "src", "kwprob"),
            (side_data.quantize_probs(rng.random(len(w))) for w in src_words),
        )
    return folder
