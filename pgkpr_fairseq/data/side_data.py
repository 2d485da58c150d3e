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
