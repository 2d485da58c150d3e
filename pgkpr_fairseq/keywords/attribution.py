"""Keyword probabilities by gradient attribution (paper section 3), batched, and scoring whole files.

For a source sentence s and a partner x (x = s in mode `self`, the reference target in mode `ref`),
the classifier reads [CLS] s [SEP] x [SEP]. The attributed output is the paraphrase log-odds
z_1 - z_0 (logit of "paraphrase" minus logit of "not"): its input gradient is parallel, per
sentence, to the gradient of the paraphrase probability p_1 and of log p_1 (both differ from it by
the factor p_1 (1 - p_1), resp. (1 - p_1)), so the per-sentence normalized scores are the same as
theirs, but unlike those it does not vanish in float32 when the classifier is very sure.

Per word piece, the score is the L2 norm of that gradient at the piece's word embedding; pieces are
averaged into words (as the paper's authors did); only the source sentence's words count; and the
word scores of a sentence are min-max normalized to [0, 1] (see `normalize_word_scores`).
"""
import os
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
import torch
from tqdm import tqdm

from ..precision import cpu_autocast
from ..textio import InputError, atomic_output, check_same_line_count, read_lines
from .classifier import PARAPHRASE_LABEL, max_pieces
from .textio import check_word_aligned, format_probabilities, parse_probability, split_words

# Word scores whose spread is below this share of their largest value count as all equal.
TIE_TOLERANCE = 1e-6
# Sentences are length-sorted within chunks of this many and each finished chunk is appended to the
# partial output file, so an interrupted run resumes at the last chunk boundary.
CHUNK_SENTENCES = 4096


def pool_pieces_to_words(piece_scores: np.ndarray, piece_words: Sequence[int], word_count: int) -> np.ndarray:
    """Mean of the piece scores of each word; NaN for a word without pieces.

    `piece_words[k]` is the word index of piece k (only pieces of the sentence being scored).
    """
    sums = np.zeros(word_count)
    counts = np.zeros(word_count)
    np.add.at(sums, np.asarray(piece_words, dtype=np.int64), piece_scores)
    np.add.at(counts, np.asarray(piece_words, dtype=np.int64), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts


def normalize_word_scores(word_scores: np.ndarray) -> np.ndarray:
    """Min-max normalize one sentence's word scores to [0, 1].

    Words without a score (NaN: the tokenizer gave them no piece, or they were cut off an over-long
    input) get 0. When all scored words tie (a one-word sentence, or no signal) they all get 1.0:
    min-max always gives the top-scoring word 1.0, and in a tie every word is a top word; this also
    keeps at least one sure keyword in every sentence for stage two.
    """
    probabilities = np.zeros(len(word_scores))
    scored = ~np.isnan(word_scores)
    if not scored.any():
        return probabilities
    values = word_scores[scored]
    low, high = values.min(), values.max()
    if high - low <= TIE_TOLERANCE * max(abs(high), np.finfo(np.float64).tiny):
        probabilities[scored] = 1.0
    else:
        probabilities[scored] = (values - low) / (high - low)
    return probabilities


class KeywordScorer:
    """Scores sentences with a fine-tuned classifier: one forward and one backward pass per batch.

    Speed on a CPU: batches of similar length (little padding), gradients for the input embeddings
    only (every weight has requires_grad False, so the backward pass skips weight gradients), no
    dropout (eval mode); with `bf16`, the forward pass under CPU bf16 autocast (the gradients are
    taken through the same bf16 operations).
    """

    def __init__(self, model, tokenizer, batch_size: int = 64, max_length: Optional[int] = None,
                 bf16: bool = False):
        self.model = model.eval()
        self.bf16 = bf16
        for parameter in self.model.parameters():
            parameter.requires_grad_(False)
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.max_length = max_pieces(model, tokenizer, max_length)
        # Pieces left for the source once [CLS], [SEP], [SEP] and at least one partner piece are in.
        self.source_budget = self.max_length - tokenizer.num_special_tokens_to_add(pair=True) - 1
        if self.source_budget < 1:
            raise ValueError(f"max length {self.max_length} leaves no room for a sentence pair")

    def _pieces_per_word(self, sentences: Sequence[List[str]]) -> List[List[int]]:
        """Pieces per word of each sentence (0 for a word the tokenizer drops)."""
        encoding = self.tokenizer(list(sentences), is_split_into_words=True, add_special_tokens=False)
        counts = []
        for index, words in enumerate(sentences):
            per_word = [0] * len(words)
            for word in encoding.word_ids(index):
                per_word[word] += 1
            counts.append(per_word)
        return counts

    def _words_that_fit(self, pieces_per_word: List[int]) -> int:
        """How many leading words of a source fit the source budget (all of them, unless over-long)."""
        return int(np.searchsorted(np.cumsum(pieces_per_word), self.source_budget, side="right"))

    def _raw_word_scores(self, sources, partners, word_counts) -> List[np.ndarray]:
        """Un-normalized word scores of one batch; one forward and one backward pass.

        `sources` are already cut to the source budget; `word_counts` are the full sentences' word
        counts, so words without pieces (dropped by the tokenizer or cut) come out as NaN.
        """
        encoding = self.tokenizer(
            list(sources),
            list(partners),
            is_split_into_words=True,
            truncation="only_second",
            max_length=self.max_length,
            padding=True,
            return_tensors="pt",
        )
        model_inputs = {name: tensor for name, tensor in encoding.items() if name != "input_ids"}
        embeddings = self.model.get_input_embeddings()(encoding["input_ids"]).requires_grad_()
        with cpu_autocast(self.bf16):
            logits = self.model(inputs_embeds=embeddings, **model_inputs).logits.float()
        log_odds = logits[:, PARAPHRASE_LABEL] - logits[:, 1 - PARAPHRASE_LABEL]
        # Sentences do not interact in the encoder, so the gradient of the sum is each one's own.
        (gradients,) = torch.autograd.grad(log_odds.sum(), embeddings)
        piece_norms = gradients.float().norm(dim=-1).numpy().astype(np.float64)
        scores = []
        for row, word_count in enumerate(word_counts):
            source_pieces, piece_words = [], []
            for position, (sequence, word) in enumerate(zip(encoding.sequence_ids(row), encoding.word_ids(row))):
                if sequence == 0:
                    source_pieces.append(position)
                    piece_words.append(word)
            scores.append(pool_pieces_to_words(piece_norms[row, source_pieces], piece_words, word_count))
        return scores

    def score(self, sources: Sequence[str], partners: Optional[Sequence[str]] = None, progress=None):
        """Keyword probabilities (one array per sentence, one value per word) in input order.

        `partners` are the second sentences (None: each source with itself, mode `self`).
        `progress` is an optional tqdm bar, advanced by the sentences of each finished batch.
        """
        source_words = [split_words(line) for line in sources]
        partner_words = source_words if partners is None else [split_words(line) for line in partners]
        source_pieces = self._pieces_per_word(source_words)
        partner_pieces = source_pieces if partners is None else self._pieces_per_word(partner_words)
        kept_words = [self._words_that_fit(counts) for counts in source_pieces]
        # Sorting by piece count makes each batch nearly free of padding.
        lengths = [
            sum(source[:kept]) + sum(partner) for source, partner, kept in zip(source_pieces, partner_pieces, kept_words)
        ]
        order = np.argsort(lengths, kind="stable")
        probabilities: List[Optional[np.ndarray]] = [None] * len(sources)
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            raw = self._raw_word_scores(
                [source_words[i][: kept_words[i]] for i in batch],
                [partner_words[i] for i in batch],
                [len(source_words[i]) for i in batch],
            )
            for index, word_scores in zip(batch, raw):
                probabilities[index] = normalize_word_scores(word_scores)
            if progress is not None:
                progress.update(len(batch))
        return probabilities


def parse_shard(text: str):
    """(index, count) from "i/n" with 0 <= i < n; ValueError otherwise."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError(f"shard {text!r} is not of the form i/n") from None
    if not 0 <= index < count:
        raise ValueError(f"shard {text!r}: need 0 <= i < n")
    return index, count


def shard_range(total: int, index: int, count: int) -> range:
    """Shard i of n: the contiguous lines [i*total//n, (i+1)*total//n), so shards concatenate in order."""
    return range(index * total // count, (index + 1) * total // count)


def partial_path(output: Path) -> Path:
    """Where `score_file` appends finished chunks before renaming to `output` (and resumes from)."""
    return output.with_name(output.name + ".partial")


def _lines_already_scored(partial: Path, sources_path, sources: Sequence[str], first_line: int) -> int:
    """Complete lines of a partial output, checked against their sentences; a torn last line is cut."""
    data = partial.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    if len(complete) != len(data):
        with open(partial, "r+b") as handle:
            handle.truncate(len(complete))
    lines = read_lines(partial)
    if len(lines) > len(sources):
        raise InputError(f"{partial}: {len(lines)} lines, but only {len(sources)} sentences to score")
    check_word_aligned(partial, lines, sources_path, sources[: len(lines)], parse_probability, first_line)
    return len(lines)


def score_file(
    scorer: KeywordScorer,
    sources_path,
    output_path,
    partners_path=None,
    limit: Optional[int] = None,
    shard=None,
    resume: bool = False,
    progress_bar: bool = True,
) -> int:
    """Score the sentences of a file (mode `ref` when `partners_path` is given) into `output_path`.

    `limit` keeps the first K sentences; `shard` = (i, n) then keeps the i-th of n contiguous ranges
    of them. Finished chunks go to `<output>.partial`, renamed to `output_path` at the end; with
    `resume` an existing partial file is continued. Returns the number of sentences written.
    """
    output_path = Path(output_path)
    sources = read_lines(sources_path)
    partners = None
    if partners_path is not None:
        partners = read_lines(partners_path)
        check_same_line_count(partners_path, len(partners), sources_path, len(sources))
    selected = range(len(sources))[:limit]
    if shard is not None:
        part = shard_range(len(selected), *shard)
        selected = selected[part.start : part.stop]
    sources = sources[selected.start : selected.stop]
    partners = None if partners is None else partners[selected.start : selected.stop]
    first_line = selected.start + 1

    partial = partial_path(output_path)
    done = _lines_already_scored(partial, sources_path, sources, first_line) if resume and partial.exists() else 0
    with open(partial, "a" if done else "w", encoding="utf-8", newline="\n") as handle, tqdm(
        total=len(sources), initial=done, unit="sent", desc="scoring", disable=not progress_bar
    ) as progress:
        for start in range(done, len(sources), CHUNK_SENTENCES):
            stop = min(start + CHUNK_SENTENCES, len(sources))
            chunk = scorer.score(sources[start:stop], None if partners is None else partners[start:stop], progress)
            handle.write("".join(format_probabilities(values) + "\n" for values in chunk))
            handle.flush()
            os.fsync(handle.fileno())
    os.replace(partial, output_path)
    return len(sources)


def merge_shards(sources_path, shard_paths: Sequence, output_path, limit: Optional[int] = None) -> int:
    """Concatenate the outputs of shards 0/n .. n-1/n (in that order) after checking each against its
    range of `sources_path` (first `limit` lines); written atomically. Returns the line count."""
    sources = read_lines(sources_path)[:limit]
    merged = []
    for index, shard_path in enumerate(shard_paths):
        lines_range = shard_range(len(sources), index, len(shard_paths))
        lines = read_lines(shard_path)
        if len(lines) != len(lines_range):
            raise InputError(
                f"{shard_path}: {len(lines)} lines, but shard {index}/{len(shard_paths)} of "
                f"{sources_path} covers lines {lines_range.start + 1}-{lines_range.stop}"
            )
        check_word_aligned(
            shard_path, lines, sources_path, sources[lines_range.start : lines_range.stop],
            parse_probability, lines_range.start + 1,
        )
        merged.extend(lines)
    with atomic_output(output_path) as handle:
        handle.write("".join(line + "\n" for line in merged))
    return len(merged)
