"""The cache's keys and folders: settings hashes, file fingerprints, folder names, locks."""
import argparse
import fcntl
import hashlib
import json
import os
from dataclasses import fields
from typing import Iterable, Optional

from .messages import ExperimentError
from .settings import (PGKPR_TASK, TRANSLATION_TASK, DecodingSettings, TrainingSettings, cache_key,
                       settings_from)
from .systems import System

HASH_LENGTH = 10


def settings_hash(settings: dict) -> str:
    """A short, stable hash of a JSON-able settings dict."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_LENGTH]


def fingerprint_files(paths: Iterable[str]) -> str:
    """sha256 over the names and contents of the given files (the order does not matter; folders
    are left out)."""
    digest = hashlib.sha256()
    for path in sorted(path for path in paths if os.path.isfile(path)):
        digest.update(os.path.basename(path).encode("utf-8") + b"\0")
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def format_weight(value: float) -> str:
    """0.1 -> '0.1', 1.0 -> '1' (for folder names)."""
    return f"{value:g}"


def model_settings(system: System, args: argparse.Namespace, data_fingerprint: str) -> dict:
    """Everything that changes a trained model (not its name: two systems with equal settings
    share one model)."""
    settings = system.training_settings(settings_from(TrainingSettings, args))
    return {"task": system.task, "data": data_fingerprint, **cache_key(settings, system.task)}


def model_folder_name(system: System, settings: dict) -> str:
    """Named after the task, and for PGKPR its loss weights, so that a reader can tell the rows apart."""
    if system.task == TRANSLATION_TASK:
        return f"transformer-{settings_hash(settings)}"
    weights = f"rec{format_weight(settings['rec_weight'])}-con{format_weight(settings['con_weight'])}"
    return f"pgkpr-{weights}-{settings_hash(settings)}"


def decode_settings(system: System, args: argparse.Namespace, model_name: str,
                    test_fingerprint: str) -> dict:
    """Everything that changes a decoding."""
    keyword_stream = system.keyword_stream if system.task == PGKPR_TASK else None
    return {"model": model_name, "keyword_stream": keyword_stream, "test": test_fingerprint,
            "split": args.test_split, **cache_key(settings_from(DecodingSettings, args), system.task)}


def copy_settings(args: argparse.Namespace, test_fingerprint: str) -> dict:
    """Everything that changes the copy floor's row: the test files, the split and the scoring
    settings (the decoding settings given to no fairseq tool)."""
    scoring = {setting_field.name: getattr(args, setting_field.name)
               for setting_field in fields(DecodingSettings) if not setting_field.metadata["tools"]
               and getattr(args, setting_field.name) != setting_field.metadata["unkeyed"]}
    return {"test": test_fingerprint, "split": args.test_split, **scoring}


class FolderLock:
    """An exclusive lock on a cache folder, so that two runs never train the same model at once."""

    def __init__(self, folder: str):
        self.path = os.path.join(folder, ".lock")

    def __enter__(self):
        self.handle = open(self.path, "w")
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.handle.close()
            raise ExperimentError(f"{os.path.dirname(self.path)} is in use by another "
                                  "pgkpr-experiment run") from None
        return self

    def __exit__(self, *exc_info):
        self.handle.close()


def read_json(path: str) -> Optional[dict]:
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
