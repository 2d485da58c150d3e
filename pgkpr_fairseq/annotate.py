"""POS tags and keyword probabilities for sentences that arrive at inference time (fairseq-interactive,
the Python API).

Training data comes annotated from `pgkpr-prepare`; inference input is plain text, so the task
runs the same two annotators itself: the spaCy tagger of `pgkpr_fairseq.preprocessing.pos` and the
stage-one scorer of `pgkpr_fairseq.keywords` (mode `self`, s [SEP] s, as at test time).
"""
from typing import List, Sequence, Tuple

import numpy as np

WORD_START = "\u2581"  # sentencepiece's mark of a piece that begins a word


def group_pieces(symbols: Sequence[str]) -> Tuple[List[str], List[int]]:
    """Words and the word index of every token, from a sentence's dictionary symbols.

    Sentencepiece pieces (some start with "▁") are joined into words at each "▁"; otherwise every
    token is a word. The inverse of `preprocessing.subwords.WordPieces` on its own output.
    """
    if not any(symbol.startswith(WORD_START) for symbol in symbols):
        return list(symbols), list(range(len(symbols)))
    words, word_index = [], []
    for symbol in symbols:
        if symbol.startswith(WORD_START) or not words:
            words.append(symbol[len(WORD_START):] if symbol.startswith(WORD_START) else symbol)
        else:
            words[-1] += symbol
        word_index.append(len(words) - 1)
    return words, word_index


class Annotator:
    """Tags and scores tokenized sentences; the spaCy pipeline and the classifier load once."""

    def __init__(self, keyword_model: str, spacy_pipeline: str, batch_size: int = 64,
                 bf16: bool = False):
        from .keywords.attribution import KeywordScorer
        from .keywords.classifier import load_classifier
        from .preprocessing.pos import load_tagger

        self.nlp = load_tagger(spacy_pipeline)
        self.scorer = KeywordScorer(*load_classifier(keyword_model, fine_tuned=True),
                                    batch_size=batch_size, bf16=bf16)

    def __call__(self, sentences: Sequence[Sequence[str]]) -> Tuple[List[List[str]], List[np.ndarray]]:
        """(POS tags, keyword probabilities) per word of every sentence."""
        from .preprocessing.pos import tag_sentences

        tags = tag_sentences(self.nlp, sentences, desc=None)  # a bar per input batch is noise
        probs = self.scorer.score([" ".join(words) for words in sentences])
        return tags, probs
