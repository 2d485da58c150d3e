"""`preparation.json`: how a data-bin's text was made, so that raw sentences given to a trained model
later (the Python API, `pgkpr-paraphrase`) are prepared the same way without the user re-typing it.

`pgkpr-prepare quora|coco|folder` writes TEXT/preparation.json (tokenizer, length cap);
`pgkpr-prepare binarize` copies it into the data-bin and adds the spaCy pipeline of the tag set, the
sentencepiece model and the stage-one classifier that scored the keyword probabilities.
"""
import json
import os
from typing import Optional

from ..textio import at, atomic_output

RECORD_FILE = "preparation.json"


def record_path(folder: str) -> str:
    return os.path.join(folder, RECORD_FILE)


def write_record(folder: str, record: dict) -> None:
    os.makedirs(folder, exist_ok=True)
    with atomic_output(record_path(folder)) as handle:
        json.dump(record, handle, indent=2, sort_keys=True)
        handle.write("\n")


def read_record(folder: str) -> Optional[dict]:
    """The record of a text folder or a data-bin; None if it has none."""
    path = record_path(folder)
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise at(path, None, f"not a preparation record ({err})") from None
    if not isinstance(record, dict):
        raise at(path, None, "not a preparation record (expected a JSON object)")
    return record


def tokenization_record(method: str, max_len: Optional[int]) -> dict:
    """What `SentenceTokenizer(method, max_len)` did: the text step's part of the record."""
    return {"tokenizer": method, "max_len": max_len}
