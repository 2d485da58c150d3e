"""The prepared data a run reads: the data-bin, the text folder, and the files each part of the cache
depends on (their fingerprints)."""
import os
from dataclasses import dataclass
from typing import List, Optional, Sequence

from ..preprocessing.binarize import split_of
from ..preprocessing.record import RECORD_FILE
from .cache import fingerprint_files
from .messages import ExperimentError
from .systems import System

SOURCE_LANG, TARGET_LANG = "src", "tgt"
# The splits fairseq-train reads (its --train-subset and --valid-subset defaults).
TRAIN_SUBSET, VALID_SUBSET = "train", "valid"
TRAINING_SPLITS = (TRAIN_SUBSET, VALID_SUBSET)


@dataclass
class Inputs:
    """The prepared data: data-bin, text folder, and the files each part of the cache depends on."""

    data_bin: str
    text: str
    test_split: str

    def check(self, systems: Sequence[System]) -> None:
        """Stop with a message naming the first missing input."""
        needed = [os.path.join(self.data_bin, f"dict.{SOURCE_LANG}.txt"), self.source_path()]
        if any(system.task for system in systems):
            needed.append(self.split_prefix(self.test_split) + f".{SOURCE_LANG}.idx")
        for system in systems:
            if system.task == "pgkpr":
                needed.append(self.split_prefix(self.test_split)
                              + f".{SOURCE_LANG}.{system.keyword_stream}.idx")
        for path in needed:
            if not os.path.exists(path):
                hint = (" (preprocess/prepare.sh writes it: prepare the data again)"
                        if "kwprob_ref" in path else "")
                raise ExperimentError(f"missing input {path}{hint}")

    def split_prefix(self, split: str) -> str:
        return os.path.join(self.data_bin, f"{split}.{SOURCE_LANG}-{TARGET_LANG}")

    def source_path(self) -> str:
        return os.path.join(self.text, f"{self.test_split}.src")

    def reference_paths(self) -> List[str]:
        """test.ref0, test.ref1, ... when present (MSCOCO), else test.tgt."""
        references = []
        while os.path.exists(os.path.join(self.text, f"{self.test_split}.ref{len(references)}")):
            references.append(os.path.join(self.text, f"{self.test_split}.ref{len(references)}"))
        return references or [os.path.join(self.text, f"{self.test_split}.tgt")]

    def training_fingerprint(self) -> str:
        """The data-bin files training reads: the dictionaries and the splits fairseq-train reads
        (TRAINING_SPLITS), with every side stream (the training split's kwprob_ref included: PGKPR
        trains on it). Whatever split is decoded, the same data gives the same models. Not the
        preparation record (how the API prepares raw text), which training does not read."""
        def read_by_training(name: str) -> bool:
            if name == RECORD_FILE:
                return False
            split = split_of(name)
            return split is None or split in TRAINING_SPLITS

        names = [name for name in os.listdir(self.data_bin) if read_by_training(name)]
        return fingerprint_files(os.path.join(self.data_bin, name) for name in names)

    def test_fingerprint(self, keyword_stream: Optional[str]) -> str:
        """The test split's data-bin files (with the given keyword stream only) and text files."""
        prefix = os.path.basename(self.split_prefix(self.test_split))
        streams = {"kwprob", "kwprob_ref"} - {keyword_stream}
        names = [name for name in os.listdir(self.data_bin) if name.startswith(prefix + ".")
                 and not any(f".{stream}." in name for stream in streams)]
        paths = [os.path.join(self.data_bin, name) for name in names]
        return fingerprint_files(paths + [self.source_path()] + self.reference_paths())
