"""Optional sentencepiece pieces. Words are split one at a time, so a piece never spans two words:
every piece inherits its word's POS tag and keyword probability, and the word index stream says
which word it belongs to (docs/data-format.md)."""
import os
from typing import Dict, List, Sequence, Tuple

import sentencepiece

from ..textio import InputError

Segmented = Tuple[List[str], List[int]]  # tokens, and the index of the word each token belongs to


def train_sentencepiece(sentences: Sequence[Sequence[str]], model_prefix: str, vocab_size: int) -> str:
    """Train a unigram sentencepiece model on tokenized sentences; returns the `.model` path.

    Identity normalization keeps the text exactly as the other steps see it, so the pieces of a word
    join back to that very word.
    """
    tmp_prefix = model_prefix + ".tmp"
    try:
        sentencepiece.SentencePieceTrainer.train(
            sentence_iterator=(" ".join(words) for words in sentences),
            model_prefix=tmp_prefix, vocab_size=vocab_size, character_coverage=1.0,
            normalization_rule_name="identity", minloglevel=2,
        )
    except RuntimeError as err:  # e.g. a vocabulary larger than the text allows
        raise InputError(f"sentencepiece training of {model_prefix}.model failed: {err}") from None
    for suffix in (".model", ".vocab"):
        os.replace(tmp_prefix + suffix, model_prefix + suffix)
    return model_prefix + ".model"


def word_level(words: Sequence[str]) -> Segmented:
    """The identity segmentation: one token per word."""
    return list(words), list(range(len(words)))


class WordPieces:
    """Segments sentences into the pieces of a sentencepiece model, word by word."""

    def __init__(self, model_path: str):
        try:
            self.processor = sentencepiece.SentencePieceProcessor(model_file=model_path)
        except (OSError, RuntimeError) as err:
            raise InputError(f"{model_path}: not a sentencepiece model ({err})") from None
        self.cache: Dict[str, List[str]] = {}  # words repeat a lot: split each one once

    def pieces(self, word: str) -> List[str]:
        """The pieces of one word."""
        if word not in self.cache:
            self.cache[word] = self.processor.encode(word, out_type=str)
        return self.cache[word]

    def __call__(self, words: Sequence[str]) -> Segmented:
        tokens, word_index = [], []
        for index, word in enumerate(words):
            pieces = self.pieces(word)
            tokens.extend(pieces)
            word_index.extend([index] * len(pieces))
        return tokens, word_index


def expand(word_values: Sequence, word_index: Sequence[int]) -> list:
    """Per-word values (POS tags, probabilities) repeated for every token of their word."""
    return [word_values[index] for index in word_index]
