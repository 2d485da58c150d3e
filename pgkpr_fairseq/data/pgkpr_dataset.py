"""The stage-two dataset: perturbed inputs, reconstruction targets and contrastive inputs per example."""
import hashlib
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch
from fairseq.data import FairseqDataset, data_utils

from .. import perturb
from . import side_data


@dataclass(frozen=True)
class KeywordSelection:
    """How keywords are chosen from their probabilities.

    `sample`: one coin per word, seeded by (seed, epoch, example index), so a draw is reproducible
    whatever the batching, worker count or order. `threshold`: words with probability >= threshold.
    """

    mode: str = "sample"
    seed: int = 1
    threshold: float = 0.5

    def mask(self, token_probs, token_words, epoch: int, index: int) -> np.ndarray:
        if self.mode == "threshold":
            return perturb.keyword_mask(token_probs, token_words, threshold=self.threshold)
        rng = np.random.default_rng([self.seed, epoch, index])
        return perturb.keyword_mask(token_probs, token_words, rng=rng)

    def stream(self, count: int, epoch: int, index: int) -> int:
        """Which of `count` keyword-probability streams an example reads this epoch: one seeded
        choice per (epoch, example), independent of the keyword coins (which use another seed
        sequence)."""
        if count == 1:
            return 0
        return int(np.random.default_rng([self.seed, epoch, index, STREAM_CHOICE]).integers(count))


STREAM_CHOICE = 1  # the 4th entry of the seed sequence of a stream choice (keyword coins have 3)


@dataclass(frozen=True)
class TrainingInputs:
    """Which inputs of the training-only losses the examples carry: the reconstruction targets of
    L_rec, the unperturbed `s [SEP] POS(s)` / `t [SEP] POS(t)` and their text ids of L_con.
    Building them costs data-loading time; generation needs neither (`NO_TRAINING_INPUTS`)."""

    reconstruction: bool = True
    contrastive: bool = True


NO_TRAINING_INPUTS = TrainingInputs(reconstruction=False, contrastive=False)


class PGKPRDataset(FairseqDataset):
    """Pairs (s, t) with the side streams of docs/data-format.md, turned into PGKPR examples.

    Each example holds TS_s (the two-part perturbed source, then </s>) and the target; and, as
    `training_inputs` asks, its reconstruction targets (pad at the </s>, which is not
    reconstructed) and the unperturbed contrastive inputs `s [SEP] POS(s) </s>` and
    `t [SEP] POS(t) </s>`. The keyword draw depends on the epoch
    (`set_epoch`), so every epoch sees a fresh perturbation. `src_kwprobs` holds one or more
    keyword-probability streams; with several, each example reads one, chosen per epoch.
    At inference, `src_pinned` flags the source tokens a user pinned (`perturb.two_part`).
    """

    # The draw depends on the epoch set by `set_epoch`. fairseq keeps a reusable epoch iterator's
    # DataLoader, and with it the worker processes' copies of this dataset, across epochs: those
    # copies would never see a new epoch and every epoch would train on epoch 1's draw. Not
    # reusable: fairseq builds a new iterator, hence new workers, for every epoch.
    can_reuse_epoch_itr_across_epochs = False

    def __init__(
        self,
        src,
        tgt,
        src_pos,
        tgt_pos,
        src_word,
        src_kwprobs: Sequence,
        dictionary,
        selection: KeywordSelection,
        shuffle: bool = True,
        left_pad_source: bool = True,
        left_pad_target: bool = False,
        constraints: Optional[torch.Tensor] = None,
        training_inputs: TrainingInputs = TrainingInputs(),
        src_pinned: Optional[Sequence[np.ndarray]] = None,
    ):
        self.src, self.tgt = src, tgt
        self.src_pos, self.tgt_pos = src_pos, tgt_pos
        self.src_word, self.src_kwprobs = src_word, list(src_kwprobs)
        self.dictionary = dictionary
        self.sep, self.nok = dictionary.index(perturb.SEP), dictionary.index(perturb.NOK)
        self.selection = selection
        self.shuffle = shuffle
        self.left_pad_source, self.left_pad_target = left_pad_source, left_pad_target
        # TS_s has 2l+1 tokens for l source tokens, plus </s>
        self.src_sizes = 2 * (np.asarray(src.sizes, dtype=np.int64) - 1) + 2
        self.tgt_sizes = np.asarray(tgt.sizes, dtype=np.int64) if tgt is not None else None
        self.epoch = 1
        # Inference only: one packed row of lexical constraints per example (fairseq's
        # pack_constraints format, as LanguagePairDataset takes them).
        self.constraints = constraints
        self.training_inputs = training_inputs
        self.src_pinned = src_pinned

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __len__(self):
        return len(self.src)

    def keyword_mask(self, index) -> np.ndarray:
        """Which source tokens of example `index` are keywords in this epoch's draw."""
        return self.selection.mask(
            self.keyword_probs(index),
            self.src_word[index].numpy(),
            self.epoch,
            index,
        )

    def __getitem__(self, index):
        eos, pad = self.dictionary.eos(), self.dictionary.pad()
        words = self.src[index][:-1].numpy()
        tags = self.src_pos[index].numpy()
        is_keyword = self.keyword_mask(index)
        pinned = self.src_pinned[index] if self.src_pinned is not None else None
        tokens, targets = perturb.two_part(words, tags, is_keyword, self.sep, self.nok, pinned)
        example = {"id": index, "source": _with_end(tokens, eos)}
        if self.training_inputs.reconstruction:
            example["reconstruction_target"] = _with_end(targets, pad)
        contrastive = self.training_inputs.contrastive
        if contrastive:
            example["source_with_tags"] = _with_end(
                perturb.sentence_with_tags(words, tags, self.sep), eos)
        if self.tgt is not None:
            target = self.tgt[index]
            example["target"] = target
            if contrastive:
                example["target_with_tags"] = _with_end(perturb.sentence_with_tags(
                    target[:-1].numpy(), self.tgt_pos[index].numpy(), self.sep), eos)
        if self.constraints is not None:
            example["constraints"] = self.constraints[index]
        return example

    def keyword_probs(self, index) -> np.ndarray:
        """The keyword probability of every source token, from the stream this epoch reads."""
        stream = self.src_kwprobs[self.selection.stream(len(self.src_kwprobs), self.epoch, index)]
        return stream[index].numpy() / side_data.PROB_SCALE

    def collater(self, samples):
        return collate(
            samples,
            self.dictionary.pad(),
            self.dictionary.eos(),
            left_pad_source=self.left_pad_source,
            left_pad_target=self.left_pad_target,
        )

    def num_tokens(self, index):
        return max(self.src_sizes[index], self.tgt_sizes[index] if self.tgt_sizes is not None else 0)

    def num_tokens_vec(self, indices):
        sizes = self.src_sizes[indices]
        if self.tgt_sizes is not None:
            sizes = np.maximum(sizes, self.tgt_sizes[indices])
        return sizes

    def size(self, index):
        return (self.src_sizes[index], self.tgt_sizes[index] if self.tgt_sizes is not None else 0)

    @property
    def sizes(self):
        return self.src_sizes

    def ordered_indices(self):
        """Like LanguagePairDataset: random order, then a stable sort by target and source length."""
        indices = np.random.permutation(len(self)) if self.shuffle else np.arange(len(self))
        if self.tgt_sizes is not None:
            indices = indices[np.argsort(self.tgt_sizes[indices], kind="mergesort")]
        return indices[np.argsort(self.src_sizes[indices], kind="mergesort")]

    @property
    def supports_prefetch(self):
        return False

    def filter_indices_by_size(self, indices, max_sizes):
        return data_utils.filter_paired_dataset_indices_by_size(
            self.src_sizes, self.tgt_sizes, indices, max_sizes
        )


def _with_end(values: np.ndarray, end: int) -> torch.Tensor:
    return torch.from_numpy(np.append(values, end).astype(np.int64))


def collate(samples, pad_idx, eos_idx, left_pad_source=True, left_pad_target=False):
    """Batch PGKPR examples (a pure function: tests call it directly).

    Sorted by source length, longest first, as fairseq's LanguagePairDataset does. The examples'
    training-only inputs (`TrainingInputs`) are batched when present: the reconstruction
    targets padded on the same side as the source so that position j of both lines up; the
    unperturbed contrastive inputs, in the batch order: `contrastive_sources` (`s [SEP] POS(s)`)
    and `contrastive_targets` (`t [SEP] POS(t)`), each {"tokens", "lengths"} padded to its own
    longest row (a batch's sources have about one length, its targets many: one tensor for both
    would pad every source to the longest target). `contrastive_text_ids` {"sources", "targets"}
    identifies their texts, equal texts alike across both and across processes (`text_ids`), so
    that eq. 3 can tell a copy of s_i or t_i from a true negative.
    """
    if not samples:
        return {}

    def merge(key, left_pad, move_eos_to_beginning=False):
        return data_utils.collate_tokens(
            [s[key] for s in samples], pad_idx, eos_idx, left_pad, move_eos_to_beginning
        )

    src_lengths = torch.LongTensor([s["source"].numel() for s in samples])
    src_lengths, order = src_lengths.sort(descending=True)
    samples = [samples[i] for i in order.tolist()]

    batch = {
        "id": torch.LongTensor([s["id"] for s in samples]),
        "nsentences": len(samples),
        "net_input": {"src_tokens": merge("source", left_pad_source), "src_lengths": src_lengths},
    }
    if "reconstruction_target" in samples[0]:
        batch["reconstruction_target"] = merge("reconstruction_target", left_pad_source)
    if "source_with_tags" in samples[0]:
        batch["contrastive_sources"] = _merge_sequences(
            [s["source_with_tags"] for s in samples], pad_idx, eos_idx, left_pad_source)
    if "target" in samples[0]:
        batch["target"] = merge("target", left_pad_target)
        batch["ntokens"] = sum(s["target"].numel() for s in samples)
        batch["net_input"]["prev_output_tokens"] = merge(
            "target", left_pad_target, move_eos_to_beginning=True
        )
        if "target_with_tags" in samples[0]:
            batch["contrastive_targets"] = _merge_sequences(
                [s["target_with_tags"] for s in samples], pad_idx, eos_idx, left_pad_source)
            ids = text_ids([s["source_with_tags"] for s in samples]
                           + [s["target_with_tags"] for s in samples])
            batch["contrastive_text_ids"] = {"sources": ids[:len(samples)],
                                             "targets": ids[len(samples):]}
    else:
        batch["ntokens"] = int(src_lengths.sum())
    if "constraints" in samples[0]:
        # zero-padded to the longest row, as LanguagePairDataset collates them
        batch["constraints"] = data_utils.collate_tokens([s["constraints"] for s in samples], 0)
    return batch


def text_ids(sequences) -> torch.Tensor:
    """One id per token sequence: a 64-bit digest of its tokens, so equal sequences get equal ids
    in every batch and every process (data-parallel runs compare them across processes)."""
    return torch.LongTensor([
        int.from_bytes(hashlib.blake2b(t.numpy().astype("<i8").tobytes(), digest_size=8).digest(),
                       "little", signed=True)
        for t in sequences])


def _merge_sequences(sequences, pad_idx, eos_idx, left_pad):
    """Encoder inputs of their own: {"tokens": B x T padded, "lengths": B}."""
    return {"tokens": data_utils.collate_tokens(sequences, pad_idx, eos_idx, left_pad),
            "lengths": torch.LongTensor([t.numel() for t in sequences])}


def load_pgkpr_dataset(
    data_path: str,
    split: str,
    src: str,
    tgt: str,
    dictionary,
    selection: KeywordSelection,
    keyword_prob_streams: Sequence[str] = ("kwprob",),
    dataset_impl: Optional[str] = None,
    shuffle: bool = True,
    left_pad_source: bool = True,
    left_pad_target: bool = False,
    training_inputs: TrainingInputs = TrainingInputs(),
) -> PGKPRDataset:
    """Load one split with its side streams and check all of docs/data-format.md before training.

    Raises SideDataError naming the split, the stream and the sentence index on the first problem.
    """
    token_prefix = f"{data_path}/{split}.{src}-{tgt}."

    def load(prefix, dictionary_or_none, required=True, hint=""):
        dataset = data_utils.load_indexed_dataset(prefix, dictionary_or_none, dataset_impl)
        if dataset is None and required:
            raise FileNotFoundError(
                f"split {split!r}: missing {prefix}.bin/.idx in {data_path}{hint}")
        return dataset

    src_tokens = load(token_prefix + src, dictionary)
    tgt_tokens = load(token_prefix + tgt, dictionary, required=False)
    token_sizes = {src: np.asarray(src_tokens.sizes)}
    empty = np.flatnonzero(token_sizes[src] <= 1)
    if len(empty):
        raise side_data.SideDataError(
            f"split {split!r}: source sentence {int(empty[0])} is empty ({token_prefix + src})"
        )
    side_streams = [(src, stream) for stream in (*side_data.SOURCE_STREAMS, *keyword_prob_streams)]
    if tgt_tokens is not None:
        token_sizes[tgt] = np.asarray(tgt_tokens.sizes)
        side_streams += [(tgt, stream) for stream in side_data.TARGET_STREAMS]

    is_tag = np.array([perturb.is_pos_token(sym) for sym in dictionary.symbols])
    streams = {}
    for lang, stream in side_streams:
        prefix = side_data.side_stream_prefix(data_path, split, src, tgt, lang, stream)
        hint = "" if stream in side_data.SOURCE_STREAMS else (
            f" (keyword-probability stream {stream!r}: preprocess/prepare.sh writes kwprob and "
            f"kwprob_ref; --train-keyword-prob-stream and --keyword-prob-stream choose the streams)")
        dataset = load(prefix, None, hint=hint)
        sizes, values = np.asarray(dataset.sizes), side_data.read_flat(prefix)
        where = f"split {split!r}, {prefix}"
        side_data.check_aligned(token_sizes[lang], sizes, where)
        if stream == "pos":
            side_data.check_pos_ids(values, sizes, is_tag, where)
        streams[lang, stream] = dataset, values, sizes, where
    word, word_values, word_sizes, where = streams[src, "word"]
    side_data.check_word_index(word_values, word_sizes, where)
    for stream in keyword_prob_streams:
        _, prob_values, prob_sizes, where = streams[src, stream]
        side_data.check_probabilities(prob_values, word_values, prob_sizes, where)

    return PGKPRDataset(
        src_tokens,
        tgt_tokens,
        streams[src, "pos"][0],
        streams[tgt, "pos"][0] if tgt_tokens is not None else None,
        word,
        [streams[src, stream][0] for stream in keyword_prob_streams],
        dictionary,
        selection,
        shuffle=shuffle,
        left_pad_source=left_pad_source,
        left_pad_target=left_pad_target,
        training_inputs=training_inputs,
    )
