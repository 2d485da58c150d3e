"""The inference path's pure parts: cutting to the model's positions, and the dataset of typed words."""
import numpy as np
from fairseq.data import Dictionary

from pgkpr_fairseq.data import KeywordSelection
from pgkpr_fairseq.inference import (EMPTY_SOURCE_LENGTH, AnnotatedSource, fit_to_positions,
                                     inference_dataset, max_source_tokens)
from pgkpr_fairseq.perturb import NOK, SEP, pos_token


def test_max_source_tokens_fits_ts_s_in_the_positions():
    for positions in (6, 7, 1024):
        longest = max_source_tokens(positions)
        assert 2 * longest + EMPTY_SOURCE_LENGTH <= positions < 2 * (longest + 1) + EMPTY_SOURCE_LENGTH


def test_fit_to_positions_keeps_whole_words():
    assert fit_to_positions(["how", "are", "you"], 5) == ["how", "are", "you"]
    assert fit_to_positions(["how", "are", "you"], 2) == ["how", "are"]
    pieces = ["\u2581wor", "k", "outs", "\u2581to", "\u2581lose"]
    assert fit_to_positions(pieces, 4) == pieces[:4]
    assert fit_to_positions(pieces, 2) == []  # the first word alone is too long


def test_typed_special_symbols_are_words_not_the_end_of_the_sentence():
    dictionary = Dictionary()
    for symbol in ["how", SEP, NOK, pos_token("NN")]:
        dictionary.add_symbol(symbol)
    words = ["how", "</s>", "<pad>"]
    source = AnnotatedSource(words, [0, 1, 2], words, ["NN"] * 3, np.ones(3))
    dataset = inference_dataset([source], dictionary, KeywordSelection("threshold"))
    assert dataset.src[0].tolist() == [dictionary.index("how"), dictionary.unk(), dictionary.unk(), dictionary.eos()]
