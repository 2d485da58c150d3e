"""The side streams of a PGKPR data-bin (see docs/data-format.md): names, writing and reading."""
import os
from typing import Iterable, Sequence

import numpy as np
import torch
from fairseq.data import indexed_dataset

PROB_SCALE = 65535  # keyword probabilities are stored as uint16 fixed point q = round(p * PROB_SCALE)
SOURCE_STREAMS = ("pos", "word")  # besides the keyword probability stream, which is named by option
TARGET_STREAMS = ("pos",)


def side_stream_prefix(data_dir: str, split: str, src: str, tgt: str, lang: str, stream: str) -> str:
    """Path prefix (without .bin/.idx) of one side stream, e.g. DIR/train.src-tgt.src.pos."""
    return os.path.join(data_dir, f"{split}.{src}-{tgt}.{lang}.{stream}")


def quantize_probs(probs: Sequence[float]) -> np.ndarray:
    """Keyword probabilities in [0, 1] to the stored uint16 fixed point; ValueError otherwise."""
    probs = np.asarray(probs, dtype=np.float64)
    bad = ~((probs >= 0.0) & (probs <= 1.0))  # also catches NaN
    if bad.any():
        raise ValueError(f"probability {probs[bad][0]} is not in [0, 1]")
    return np.rint(probs * PROB_SCALE).astype(np.uint16)


def write_side_stream(prefix: str, sequences: Iterable[Sequence[int]], dtype=np.uint16) -> None:
    """Write sequences of non-negative ints as a fairseq mmap indexed dataset at `prefix`.

    Written under a temporary name and renamed at the end, so an interrupted run leaves no stream
    that looks complete.
    """
    tmp = prefix + ".tmp"
    builder = indexed_dataset.MMapIndexedDatasetBuilder(
        indexed_dataset.data_file_path(tmp), dtype=dtype
    )
    for values in sequences:
        builder.add_item(torch.as_tensor(np.asarray(values, dtype=np.int64)))
    builder.finalize(indexed_dataset.index_file_path(tmp))
    for path_of in (indexed_dataset.data_file_path, indexed_dataset.index_file_path):
        os.replace(path_of(tmp), path_of(prefix))


def read_flat(prefix: str) -> np.ndarray:
    """All values of a stream as one flat array (memory-mapped), for vectorized checks."""
    index = indexed_dataset.MMapIndexedDataset.Index(indexed_dataset.index_file_path(prefix))
    return np.memmap(indexed_dataset.data_file_path(prefix), dtype=index.dtype, mode="r")


class SideDataError(ValueError):
    """A data-bin whose side streams do not line up with its tokens, or hold invalid values."""


def _first_bad_sentence(bad_values: np.ndarray, sizes: np.ndarray) -> int:
    """Index of the sentence that holds the first True of a flat per-value array."""
    first_value = int(np.flatnonzero(bad_values)[0])
    return int(np.searchsorted(np.cumsum(sizes), first_value, side="right"))


def _sentence_starts(sizes: np.ndarray) -> np.ndarray:
    """Flat boolean array: True at the first value of every (non-empty) sentence."""
    starts = np.zeros(int(sizes.sum()), dtype=bool)
    offsets = np.cumsum(sizes) - sizes
    starts[offsets[sizes > 0]] = True
    return starts


def check_aligned(tokens_sizes: np.ndarray, stream_sizes: np.ndarray, where: str) -> None:
    """A side stream must hold one value per token, the final </s> excluded."""
    if len(stream_sizes) != len(tokens_sizes):
        raise SideDataError(
            f"{where}: {len(stream_sizes)} sentences, but the token stream has {len(tokens_sizes)}"
        )
    mismatch = np.flatnonzero(stream_sizes != tokens_sizes - 1)
    if len(mismatch):
        i = int(mismatch[0])
        raise SideDataError(
            f"{where}: sentence {i} has {stream_sizes[i]} values for {tokens_sizes[i] - 1} tokens"
        )


def check_pos_ids(values: np.ndarray, sizes: np.ndarray, is_tag: np.ndarray, where: str) -> None:
    """Every POS id must be a tag token of the dictionary (`is_tag` is a boolean lookup by id)."""
    bad = values >= len(is_tag)
    bad[~bad] = ~is_tag[values[~bad]]
    if bad.any():
        raise SideDataError(
            f"{where}: sentence {_first_bad_sentence(bad, sizes)} has a POS id that is not a tag "
            f"token of the dictionary (a tag missing from the dictionary is stored as <unk>)"
        )


def check_word_index(values: np.ndarray, sizes: np.ndarray, where: str) -> None:
    """Word indices start at 0 in every sentence and step by 0 or 1."""
    values = values.astype(np.int64)
    steps = np.diff(values, prepend=0)
    bad = np.where(_sentence_starts(sizes), values != 0, (steps < 0) | (steps > 1))
    if bad.any():
        raise SideDataError(
            f"{where}: sentence {_first_bad_sentence(bad, sizes)} has word indices that do not "
            f"start at 0 and step by 0 or 1"
        )


def check_probabilities(
    values: np.ndarray, word_index: np.ndarray, sizes: np.ndarray, where: str
) -> None:
    """Fixed-point probabilities are at most 1, and equal for all pieces of one word."""
    above_one = values > PROB_SCALE
    if above_one.any():
        raise SideDataError(
            f"{where}: sentence {_first_bad_sentence(above_one, sizes)} has a keyword probability "
            f"above 1"
        )
    same_word = (np.diff(word_index.astype(np.int64), prepend=-1) == 0) & ~_sentence_starts(sizes)
    differs = same_word & (np.diff(values.astype(np.int64), prepend=0) != 0)
    if differs.any():
        raise SideDataError(
            f"{where}: sentence {_first_bad_sentence(differs, sizes)} gives pieces of one word "
            f"different keyword probabilities"
        )
