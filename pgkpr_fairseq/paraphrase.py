"""Paraphrasing raw sentences from Python: `Paraphraser`, fairseq's hub interface for PGKPR models.

    from pgkpr_fairseq import Paraphraser
    paraphraser = Paraphraser.from_pretrained("work/checkpoints")
    paraphraser.paraphrase(["How can I learn Python quickly?"], n=3, keep=["python"])

Raw sentences are prepared as the model's data-bin was (its preparation.json: tokenizer, length
cap, sentencepiece), tagged with spaCy and scored by stage one (mode self) through the task's
inference path (`pgkpr_fairseq.inference`, shared with fairseq-interactive); loading and beam
search are fairseq's own (`hub_utils.from_pretrained`, `GeneratorHubInterface.generate`).
"""
import glob
import logging
import os
import warnings
from dataclasses import dataclass
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from fairseq import checkpoint_utils, hub_utils
from fairseq.hub_utils import GeneratorHubInterface
from fairseq.token_generation_constraints import pack_constraints
from omegaconf import open_dict

from .data import KeywordSelection
from .inference import AnnotatedSource, PreparedTokens, annotate_sources, inference_dataset, max_source_tokens
from .preprocessing.binarize import SENTENCEPIECE_MODEL
from .preprocessing.pos import DEFAULT_PIPELINE
from .preprocessing.record import RECORD_FILE, read_record
from .preprocessing.subwords import WordPieces, word_level
from .preprocessing.tokenize import SentenceTokenizer
from .tasks.pgkpr import PGKPRTask
from .textio import InputError

logger = logging.getLogger(__name__)

# A sentence with more unknown words than this share is probably not in the model's language.
UNKNOWN_WORDS_WARNING_SHARE = 0.5
# How many sentences a warning lists before it says "and N more".
WARNING_EXAMPLES = 5

Keep = Union[None, Sequence[str], Sequence[Sequence[str]]]


@dataclass
class Paraphrase:
    text: str  # detokenized
    tokens: str  # tokenized and lowercased, as the data-bin's text (what pgkpr-score reads)
    score: float  # the model's score: mean log-probability per output token (fairseq's hypothesis score)
    keywords: List[str]  # the source words that were keywords of TS_s (the draw it was decoded from)
    # whether it has every pinned word (keep=) of its sentence that the model can write (True when
    # nothing is pinned)
    keeps_pinned: bool = True


def _label(sentence: str, width: int = 40) -> str:
    return f"sentence {sentence[:width] + '...' if len(sentence) > width else sentence!r}"


def _warn_about(sentences: Sequence[str], what: str) -> None:
    """One warning for every sentence that shares a problem (a file may have thousands)."""
    if sentences:
        shown = ", ".join(sentences[:WARNING_EXAMPLES])
        more = f" and {len(sentences) - WARNING_EXAMPLES} more" if len(sentences) > WARNING_EXAMPLES else ""
        logger.warning(f"{what}: {shown}{more}")


def _default_data(model_dir: str, checkpoint: str) -> str:
    """The data-bin of a model: its own folder when it holds the dictionaries (fairseq's layout of a
    released model), else the data-bin its checkpoint was trained on."""
    if glob.glob(os.path.join(model_dir, "dict.*.txt")):
        return model_dir
    data = checkpoint_utils.load_checkpoint_to_cpu(checkpoint)["cfg"]["task"]["data"]
    if not glob.glob(os.path.join(data, "dict.*.txt")):
        raise InputError(f"{model_dir}: no dictionaries, and the data-bin its checkpoint was trained on "
                         f"({data}) has none either: pass the data-bin (data=..., --data)")
    return data


class Paraphraser(GeneratorHubInterface):
    """A PGKPR model that paraphrases raw sentences: tokenized, lowercased and cut as its data-bin
    was prepared, tagged, scored by stage one, then decoded by fairseq's beam search."""

    def __init__(self, cfg, task, models, record: dict, data: str):
        super().__init__(cfg, task, models)
        self.sentence_tokenizer = SentenceTokenizer(record["tokenizer"])
        self.max_len = record.get("max_len")
        self.segment = WordPieces(os.path.join(data, SENTENCEPIECE_MODEL)) if record.get("sentencepiece") else word_level

    @classmethod
    def from_pretrained(
        cls, model_dir: str, checkpoint_file: str = "checkpoint_best.pt", data: Optional[str] = None,
        keyword_model: Optional[str] = None, spacy_pipeline: Optional[str] = None, **generation_overrides,
    ) -> "Paraphraser":
        """Load `model_dir/checkpoint_file` (a training --save-dir works).

        `data`: the data-bin it was trained on (default: `model_dir` if it holds the dictionaries,
        else the path its checkpoint records). `keyword_model` and `spacy_pipeline` default to the
        ones the data-bin's preparation.json records. Other keywords override the checkpoint's
        settings, as in fairseq (e.g. `max_len_b=30`, `inference_keywords="threshold"`).
        Raises InputError, naming the folder, when something is missing.
        """
        model_dir = os.path.abspath(model_dir)
        checkpoint = os.path.join(model_dir, checkpoint_file)
        if not os.path.isdir(model_dir):
            raise InputError(f"{model_dir}: no such model folder")
        if not os.path.isfile(checkpoint):
            found = sorted(os.path.basename(path) for path in glob.glob(os.path.join(model_dir, "*.pt")))
            raise InputError(f"{model_dir}: no {checkpoint_file} " + (
                f"(it has {', '.join(found)}: choose one with checkpoint_file=..., --checkpoint)" if found
                else "and no other checkpoint (*.pt): give the --save-dir of a training run"))
        data = os.path.abspath(data) if data else _default_data(model_dir, checkpoint)
        record = read_record(data)
        if not record or not record.get("tokenizer"):
            raise InputError(f"{data}: its {RECORD_FILE} does not say how its text was tokenized: "
                             f"binarize it again from a text folder made by pgkpr-prepare "
                             f"quora|coco|folder, or write {{\"tokenizer\": \"moses\", \"max_len\": 17}} "
                             f"(or \"space\" for text that was already tokenized) into it")
        keyword_model = keyword_model or record.get("keyword_model")
        if not keyword_model:
            raise InputError(f"{data}: no stage-one classifier recorded: pass keyword_model=... "
                             f"(--keyword-model), the folder pgkpr-keywords train wrote")
        if not os.path.isdir(keyword_model):
            raise InputError(f"{keyword_model}: stage-one classifier folder not found (pass keyword_model=...)")
        overrides = dict(keyword_model=keyword_model,
                         spacy_pipeline=spacy_pipeline or record.get("spacy_pipeline") or DEFAULT_PIPELINE,
                         tokenizer="moses")  # fairseq's Moses detokenizes the outputs
        if record.get("sentencepiece"):
            overrides.update(bpe="sentencepiece", sentencepiece_model=os.path.join(data, record["sentencepiece"]))
        loaded = hub_utils.from_pretrained(model_dir, checkpoint_file, data, **overrides, **generation_overrides)
        if not isinstance(loaded["task"], PGKPRTask):
            raise InputError(f"{checkpoint}: not a PGKPR model (task {loaded['args'].task._name})")
        return cls(loaded["args"], loaded["task"], loaded["models"], record, data)

    def prepare(self, sentences: Sequence[str]) -> List[AnnotatedSource]:
        """Raw sentences as the data-bin's text (tokenized, lowercased, cut), tagged and scored."""
        symbols, cut = [], []
        for sentence in sentences:
            words = self.sentence_tokenizer(sentence)
            if self.max_len and len(words) > self.max_len:
                cut.append(_label(sentence))
                words = words[: self.max_len]
            symbols.append(self.segment(words)[0])
        _warn_about(cut, f"longer than the {self.max_len} words the model's data was cut to, "
                         f"paraphrased from their first {self.max_len}")
        sources = annotate_sources(self.task.annotator(), symbols, [_label(s) for s in sentences],
                                   max_source_tokens(self.max_positions[0]))
        unknown = [
            _label(sentence) for sentence, source in zip(sentences, sources)
            if source.words and np.mean([self.src_dict.index(s) == self.src_dict.unk() for s in source.symbols])
            > UNKNOWN_WORDS_WARNING_SHARE
        ]
        _warn_about(unknown, "mostly words the model does not know (another language?): their "
                             "paraphrases cannot keep those words")
        return sources

    def paraphrase(
        self, sentences: Union[str, Sequence[str]], n: int = 1, keep: Keep = None, diverse: bool = False,
        beam: int = 5, batch_size: int = 64, hard_constraints: bool = False, **generation_overrides,
    ):
        """Up to `n` paraphrases of every sentence (a list of `Paraphrase` per sentence, in input
        order; for one sentence given as a string, its list), best score first; with `keep`, the
        ones that have every pinned word first.

        `keep`: words (or phrases) to keep, for every sentence, or one list per sentence. Each is
        tokenized like the sentences; where it occurs it is pinned: forced to be a keyword
        (probability 1, so it stays in TS_s's first part) and shown in the second part too, where a
        keyword draw shows its POS tag (`perturb.two_part`): a word shown twice is copied more; and
        of the beam's hypotheses, those that have every pinned word the model can write are taken
        first (a soft preference: otherwise the best ones). With
        `hard_constraints` it must also appear in the output
        (fairseq's lexically constrained beam search). A word that a sentence does not contain is
        not pinned there (warned).
        `diverse`: `n` keyword draws (seeds --inference-keyword-seed + 0 .. n-1), each decoded
        with beam search; duplicates removed, so fewer than `n` may come back. Otherwise one draw and
        beam search's n best. An empty sentence gets no paraphrase (warned).
        Keyword draws depend on a sentence's position in `sentences` (as in fairseq-generate), so
        the same call gives the same paraphrases.
        """
        single = isinstance(sentences, str)
        sentences = [sentences] if single else list(sentences)
        if n < 1 or beam < 1 or batch_size < 1:
            raise ValueError("n, beam and batch_size must be at least 1")
        sources = self.prepare(sentences)
        pinned_ids = self._pin(sentences, sources, keep)
        constraints = pack_constraints(pinned_ids) if hard_constraints else None
        if diverse:
            seed = self.task.cfg.inference_keyword_seed
            draws, per_draw = [KeywordSelection("sample", seed=seed + k) for k in range(n)], 1
        else:
            draws, per_draw, beam = [self.task.inference_selection()], n, max(beam, n)
        if hard_constraints:
            generation_overrides["constraints"] = "unordered"
        with open_dict(self.cfg):
            self.cfg.dataset.batch_size = batch_size

        results: List[List[Paraphrase]] = [[] for _ in sentences]
        for selection in draws:
            dataset = inference_dataset(sources, self.src_dict, selection, constraints,
                                        self.task.cfg.left_pad_source, self.task.cfg.spacy_pipeline)
            tokens = PreparedTokens([dataset.src[i] for i in range(len(dataset))], dataset)
            with warnings.catch_warnings():
                # fairseq's batch iterator asks for pinned memory, which a CPU cannot give: noise
                warnings.filterwarnings("ignore", message="'pin_memory' argument is set as true")
                generated = self.generate(tokens, beam=beam, **generation_overrides)
            for i, hypotheses in enumerate(generated):
                if not sources[i].words:
                    continue
                keyword_words = sorted(set(np.asarray(sources[i].word_index)[dataset.keyword_mask(i)]))
                keywords = [sources[i].words[w] for w in keyword_words]
                phrases = [ids.tolist() for ids in pinned_ids[i]]
                hypothesis_ids = [hypothesis["tokens"].tolist() for hypothesis in hypotheses]
                keeps = [all(occurrences(ids, phrase) for phrase in phrases) for ids in hypothesis_ids]
                # stable: fairseq's score order within each group
                ranked = sorted(zip(hypotheses, keeps), key=lambda pair: not pair[1])
                for hypothesis, kept in ranked[:per_draw]:
                    results[i].append(Paraphrase(
                        text=self.decode(hypothesis["tokens"]),
                        tokens=self.remove_bpe(self.string(hypothesis["tokens"])),
                        score=float(hypothesis["score"]),
                        keywords=keywords,
                        keeps_pinned=kept,
                    ))
        if diverse:
            results = [_distinct_best_first(found) for found in results]
        return results[0] if single else results

    def _pin(self, sentences, sources: Sequence[AnnotatedSource], keep: Keep) -> List[List[torch.Tensor]]:
        """Pin the kept words of every sentence (in place); per sentence, the token ids of its
        pinned words and phrases that the model can write (the lexical constraints of
        `hard_constraints`)."""
        if keep is None or isinstance(keep, str):
            keep = [keep] if isinstance(keep, str) else []
        per_sentence = keep if keep and not isinstance(keep[0], str) else [keep] * len(sources)
        if len(per_sentence) != len(sources):
            raise ValueError(f"keep has {len(per_sentence)} lists for {len(sources)} sentences")
        writable, absent, unknown = [], [], []
        for sentence, source, phrases in zip(sentences, sources, per_sentence):
            sentence_writable = []
            for phrase in phrases if source.words else []:
                words = self.sentence_tokenizer(phrase)
                starts = occurrences(source.words, words)
                if not starts:
                    absent.append(f"{phrase!r} in {_label(sentence)}")
                    continue
                source.probs = source.probs.copy()
                if source.pinned is None:
                    source.pinned = np.zeros(len(source.words), dtype=bool)
                for start in starts:
                    source.probs[start:start + len(words)] = 1.0
                    source.pinned[start:start + len(words)] = True
                ids = self.src_dict.encode_line(" ".join(self.segment(words)[0]), add_if_not_exist=False,
                                                append_eos=False).long()
                if (ids == self.src_dict.unk()).any():
                    unknown.append(repr(phrase))
                else:
                    sentence_writable.append(ids)
            writable.append(sentence_writable)
        _warn_about(absent, "kept words not found in their sentence (not pinned there)")
        _warn_about(unknown, "kept words the model's vocabulary lacks (pinned, but the model cannot "
                             "write them, and no hard constraint can ask for them)")
        return writable


def occurrences(sequence: Sequence, phrase: Sequence) -> List[int]:
    """Where a non-empty `phrase` occurs in `sequence` as a contiguous run (start indices)."""
    phrase = list(phrase)
    return [start for start in range(len(sequence) - len(phrase) + 1)
            if phrase and list(sequence[start:start + len(phrase)]) == phrase]


def _distinct_best_first(paraphrases: List[Paraphrase]) -> List[Paraphrase]:
    """One paraphrase per distinct output (its best-scored draw); those that keep the pinned words
    first, each group by score."""
    best = {}
    for paraphrase in paraphrases:
        if paraphrase.tokens not in best or paraphrase.score > best[paraphrase.tokens].score:
            best[paraphrase.tokens] = paraphrase
    return sorted(best.values(), key=lambda paraphrase: (not paraphrase.keeps_pinned, -paraphrase.score))
