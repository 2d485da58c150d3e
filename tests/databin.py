"""Tiny PGKPR data-bins for the tests: sample-corpus pairs with made-up POS tags and keyword
probabilities (no spaCy, no BERT; both streams, kwprob and kwprob_ref, as preprocess/prepare.sh
writes them), binarized by the project's own binarizer."""
import os

import numpy as np

from pgkpr_fairseq.preprocessing.binarize import binarize
from pgkpr_fairseq.preprocessing.record import tokenization_record, write_record
from pgkpr_fairseq.sample_corpus import make_pairs

FAKE_TAGS = ["NN", "VB", "JJ", "DT", "IN", "."]
PROB_STREAMS = ("kwprob", "kwprob_ref")


def fake_tags(words):
    return [FAKE_TAGS[len(w) % len(FAKE_TAGS)] for w in words]


def write_data_bin(folder, splits=(("train", 64), ("valid", 16), ("test", 8)), seed=1, extra_tags=()):
    """Write the text layout into folder/text and binarize it into folder/bin; returns the latter."""
    textdir = os.path.join(folder, "text")
    os.makedirs(textdir, exist_ok=True)
    rng = np.random.default_rng(seed)

    def write(name, rows):
        with open(os.path.join(textdir, name), "w", encoding="utf-8") as out:
            out.writelines(" ".join(map(str, row)) + "\n" for row in rows)

    for i, (split, count) in enumerate(splits):
        pairs = [(s.split(), t.split()) for s, t in make_pairs(count, seed + i)]
        for side, column in (("src", 0), ("tgt", 1)):
            write(f"{split}.{side}", (pair[column] for pair in pairs))
            write(f"{split}.pos.{side}", (fake_tags(pair[column]) for pair in pairs))
        for stream in PROB_STREAMS:
            write(f"{split}.{stream}", (np.round(rng.random(len(s)), 4) for s, _ in pairs))
    write_record(textdir, tokenization_record("moses", 17))  # what raw sentences get in the API tests
    destdir = os.path.join(folder, "bin")
    binarize(textdir, destdir, [split for split, _ in splits],
             tags=FAKE_TAGS + [t for t in extra_tags if t not in FAKE_TAGS], nwords=None,
             prob_streams=PROB_STREAMS)
    return destdir
