"""Fine-tuning the stage-one paraphrase classifier on the 4N examples (plain PyTorch loop).

AdamW with linear warmup and decay; batches of examples of similar length (shuffled batch order),
because on a CPU padding costs as much as real tokens.
"""
import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Sequence

import numpy as np
import torch
from tqdm import tqdm
from transformers import get_linear_schedule_with_warmup

from ..precision import cpu_autocast
from ..textio import InputError, temporary_sibling
from .classifier import max_pieces
from .examples import PairExample
from .textio import split_words


@dataclass
class TrainingOptions:
    """Fine-tuning hyper-parameters (defaults suit MiniLM on a CPU)."""

    epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 5e-5
    warmup_fraction: float = 0.1
    weight_decay: float = 0.01
    max_length: int = 128
    seed: int = 0
    # The word-embedding table is most of a small model's weights (MiniLM: 11.7M of 22.7M); frozen, it
    # needs no dense gradient and no AdamW update, about a third faster on a CPU.
    freeze_word_embeddings: bool = False
    # Forward passes under CPU bf16 autocast (float32 weights and AdamW state).
    bf16: bool = False


def encode_examples(tokenizer, examples: Sequence[PairExample], max_length: int, padding: bool):
    """Tokenize examples as [CLS] first [SEP] second [SEP] from their words (as the scorer does)."""
    return tokenizer(
        [split_words(example.first) for example in examples],
        [split_words(example.second) for example in examples],
        is_split_into_words=True,
        truncation="longest_first",
        max_length=max_length,
        padding=padding,
        return_tensors="pt" if padding else None,
    )


def length_bucketed_batches(lengths: Sequence[int], batch_size: int, rng: np.random.Generator) -> List[np.ndarray]:
    """Index batches of similar length: shuffle, sort stably by length, cut, shuffle the batch order."""
    shuffled = rng.permutation(len(lengths))
    by_length = shuffled[np.argsort(np.asarray(lengths)[shuffled], kind="stable")]
    batches = [by_length[start : start + batch_size] for start in range(0, len(by_length), batch_size)]
    return [batches[index] for index in rng.permutation(len(batches))]


def fine_tune(model, tokenizer, examples: Sequence[PairExample], options: TrainingOptions, progress_bar=True) -> float:
    """Fine-tune `model` in place on `examples`; returns the training speed in examples per second."""
    torch.manual_seed(options.seed)
    rng = np.random.default_rng(options.seed)
    max_length = max_pieces(model, tokenizer, options.max_length)
    lengths = [len(ids) for ids in encode_examples(tokenizer, examples, max_length, padding=False)["input_ids"]]
    labels = torch.tensor([example.label for example in examples])
    steps = options.epochs * math.ceil(len(examples) / options.batch_size)
    for parameter in model.parameters():  # a scorer may have frozen them all
        parameter.requires_grad_(True)
    model.get_input_embeddings().weight.requires_grad_(not options.freeze_word_embeddings)
    trained = [parameter for parameter in model.parameters() if parameter.requires_grad]
    optimizer = torch.optim.AdamW(trained, lr=options.learning_rate, weight_decay=options.weight_decay)
    schedule = get_linear_schedule_with_warmup(optimizer, round(options.warmup_fraction * steps), steps)
    model.train()
    started = time.perf_counter()
    with tqdm(total=steps, unit="batch", desc="fine-tuning", disable=not progress_bar) as progress:
        for _ in range(options.epochs):
            for batch in length_bucketed_batches(lengths, options.batch_size, rng):
                inputs = encode_examples(tokenizer, [examples[i] for i in batch], max_length, padding=True)
                with cpu_autocast(options.bf16):
                    loss = model(**inputs, labels=labels[batch]).loss
                loss.backward()
                torch.nn.utils.clip_grad_norm_(trained, 1.0)
                optimizer.step()
                schedule.step()
                optimizer.zero_grad(set_to_none=True)
                progress.update(1)
                progress.set_postfix(loss=f"{loss.item():.3f}")
    model.eval()
    return options.epochs * len(examples) / (time.perf_counter() - started)


@torch.inference_mode()
def accuracy(model, tokenizer, examples: Sequence[PairExample], batch_size: int = 64, max_length: int = 128) -> float:
    """Share of `examples` whose label the classifier predicts (NaN when there are none)."""
    if not examples:
        return float("nan")
    model.eval()
    max_length = max_pieces(model, tokenizer, max_length)
    lengths = [len(example.first) + len(example.second) for example in examples]
    order = np.argsort(lengths, kind="stable")
    correct = 0
    for start in range(0, len(order), batch_size):
        batch = [examples[i] for i in order[start : start + batch_size]]
        predictions = model(**encode_examples(tokenizer, batch, max_length, padding=True)).logits.argmax(-1)
        correct += sum(int(prediction) == example.label for prediction, example in zip(predictions, batch))
    return correct / len(examples)


def save_classifier(model, tokenizer, output_dir, overwrite: bool = False) -> None:
    """Save model (safetensors) and tokenizer to `output_dir` via a temporary folder and a rename."""
    output_dir = Path(output_dir)
    if output_dir.exists() and not overwrite:
        raise InputError(f"{output_dir}: already exists (use --overwrite to replace it)")
    temporary = temporary_sibling(output_dir, "tmp")
    try:
        model.save_pretrained(temporary, safe_serialization=True)
        tokenizer.save_pretrained(temporary)
        if output_dir.exists():
            previous = temporary_sibling(output_dir, "old")
            output_dir.rename(previous)
            temporary.rename(output_dir)
            shutil.rmtree(previous)
        else:
            temporary.rename(output_dir)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)

