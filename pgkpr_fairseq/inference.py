"""The inference path of the `pgkpr` task, shared by fairseq-interactive and the Python API
(`pgkpr_fairseq.paraphrase`): sentences that arrive as text are cut to what the model can read,
tagged and scored (`annotate.Annotator`), and turned into the PGKPR dataset that fairseq decodes.

fairseq hands a task only dictionary ids (`build_dataset_for_inference(src_tokens, ...)`), in which
every out-of-vocabulary word is already `<unk>`: the lists below travel through fairseq's calls in
place of its plain list of token tensors and carry what the ids lose.
"""
import logging
from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np
import torch
from fairseq.data import ListDataset

from . import perturb
from .annotate import Annotator, group_pieces
from .data import NO_TRAINING_INPUTS, KeywordSelection, PGKPRDataset
from .data.side_data import quantize_probs

logger = logging.getLogger(__name__)

# The TS_s of an empty sentence: [SEP] </s>. Every sentence with a word is longer.
EMPTY_SOURCE_LENGTH = 2


@dataclass
class AnnotatedSource:
    """One input sentence ready for TS_s."""

    symbols: List[str]  # its tokens as typed: words, or sentencepiece pieces
    word_index: List[int]  # the word of every token
    words: List[str]
    tags: List[str]  # one POS tag per word
    probs: np.ndarray  # one keyword probability per word (stage one, mode self)
    pinned: Optional[np.ndarray] = None  # one flag per word: to keep (the API's keep=)


class TypedTokens(list):
    """fairseq's list of source token tensors, with every sentence's tokens as typed."""

    def __init__(self, tokens, symbols: Sequence[Sequence[str]]):
        super().__init__(tokens)
        self.symbols = symbols


class PreparedTokens(list):
    """fairseq's list of source token tensors, with the dataset already built from them (the API
    annotates once, then builds one dataset per keyword draw)."""

    def __init__(self, tokens, dataset: PGKPRDataset):
        super().__init__(tokens)
        self.dataset = dataset


def max_source_tokens(max_source_positions: int) -> int:
    """The longest sentence, in tokens, whose TS_s (2l+1 tokens and </s>) fits the encoder."""
    return (max_source_positions - EMPTY_SOURCE_LENGTH) // 2


def fit_to_positions(symbols: Sequence[str], max_tokens: int) -> List[str]:
    """The leading whole words of a sentence that fit in `max_tokens` tokens."""
    if len(symbols) <= max_tokens:
        return list(symbols)
    _, word_index = group_pieces(symbols)
    cut = max_tokens
    while 0 < cut < len(symbols) and word_index[cut] == word_index[cut - 1]:
        cut -= 1  # do not split the pieces of a word
    return list(symbols[:cut])


def annotate_sources(
    annotator: Annotator, symbol_lists: Sequence[Sequence[str]], labels: Sequence[str], max_tokens: int
) -> List[AnnotatedSource]:
    """Cut every sentence to `max_tokens`, then tag and score it. An empty sentence gets no
    annotation (and an empty result from `PGKPRTask.inference_step`); cuts and empty sentences are
    logged as warnings naming the sentence by its label."""
    fitted = []
    for symbols, label in zip(symbol_lists, labels):
        kept = fit_to_positions(symbols, max_tokens)
        if not kept:
            logger.warning(f"{label} is empty: skipped, its result is empty")
        elif len(kept) < len(symbols):
            logger.warning(f"{label} has {len(symbols)} tokens, more than the model's positions "
                           f"allow (TS_s has 2n+1 tokens, at most {max_tokens} input tokens): "
                           f"cut to its first {len(kept)}")
        fitted.append(kept)
    segmented = [group_pieces(symbols) for symbols in fitted]
    non_empty = [i for i, symbols in enumerate(fitted) if symbols]
    tags, probs = annotator([segmented[i][0] for i in non_empty]) if non_empty else ([], [])
    annotations = dict(zip(non_empty, zip(tags, probs)))
    return [
        AnnotatedSource(symbols, word_index, words, *annotations.get(i, ([], np.zeros(0))))
        for i, (symbols, (words, word_index)) in enumerate(zip(fitted, segmented))
    ]


def sentence_label(text: str, width: int = 40) -> str:
    """How a warning names an input line of fairseq-interactive: its beginning."""
    return f"input {text[:width] + '...' if len(text) > width else text!r}"


def inference_dataset(
    sources: Sequence[AnnotatedSource], dictionary, selection: KeywordSelection,
    constraints: Optional[torch.Tensor] = None, left_pad_source: bool = True, pipeline: str = "",
) -> PGKPRDataset:
    """The PGKPR dataset of annotated sentences: TS_s from their tags, keyword probabilities and pins
    (unknown words are `<unk>` in TS_s, but were tagged and scored as typed)."""
    tag_ids = {}
    for tag in {tag for source in sources for tag in source.tags}:
        tag_ids[tag] = dictionary.index(perturb.pos_token(tag))
        if tag_ids[tag] == dictionary.unk():
            raise ValueError(f"POS tag {tag} of the spaCy pipeline {pipeline} is not in the model's "
                             f"dictionary: prepare and tag with one pipeline")
    tokens, src_pos, src_word, src_kwprob, src_pinned = [], [], [], [], []
    for source in sources:
        ids = dictionary.encode_line(" ".join(source.symbols), add_if_not_exist=False).long()
        # A typed "</s>" or "<pad>" is a word, not the end of the sentence or padding.
        ids[:-1][ids[:-1] < dictionary.nspecial] = dictionary.unk()
        tokens.append(ids)
        src_pos.append(torch.LongTensor([tag_ids[source.tags[w]] for w in source.word_index]))
        src_word.append(torch.LongTensor(source.word_index))
        word_of_token = np.asarray(source.word_index, dtype=np.int64)
        src_kwprob.append(torch.from_numpy(quantize_probs(source.probs[word_of_token]).astype("int64")))
        word_pinned = source.pinned if source.pinned is not None else np.zeros(len(source.words), bool)
        src_pinned.append(word_pinned[word_of_token])
    source_tokens = ListDataset(tokens, sizes=np.array([len(t) for t in tokens]))
    return PGKPRDataset(source_tokens, None, src_pos, None, src_word, [src_kwprob], dictionary, selection,
                        shuffle=False, left_pad_source=left_pad_source, constraints=constraints,
                        training_inputs=NO_TRAINING_INPUTS, src_pinned=src_pinned)


def empty_hypothesis() -> dict:
    """The result of an empty input: nothing generated, and a score no paraphrase can have."""
    return {"tokens": torch.LongTensor(), "score": float("-inf"), "attention": None,
            "alignment": None, "positional_scores": torch.FloatTensor()}
