"""The `pgkpr` task: translation from the perturbed two-part input TS_s to the paraphrase."""
import logging
from dataclasses import dataclass, field

from fairseq import utils
from fairseq.dataclass import ChoiceEnum
from fairseq.tasks import register_task
from fairseq.tasks.translation import TranslationConfig, TranslationTask
from omegaconf import II

from .. import perturb
from ..data import KeywordSelection, load_pgkpr_dataset

logger = logging.getLogger(__name__)


@dataclass
class PGKPRConfig(TranslationConfig):
    keyword_prob_stream: str = field(
        default="kwprob",
        metadata={"help": "which keyword-probability side stream to read (SPLIT.S-T.S.<name>); "
                  "kwprob_ref holds stage one scored against the reference (PGKPR-ref)"},
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
    seed: int = II("common.seed")


@register_task("pgkpr", dataclass=PGKPRConfig)
class PGKPRTask(TranslationTask):
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
        else:
            selection = KeywordSelection(
                str(self.cfg.inference_keywords),
                seed=self.cfg.inference_keyword_seed,
                threshold=self.cfg.keyword_threshold,
            )
        self.datasets[split] = load_pgkpr_dataset(
            data_path,
            split,
            self.cfg.source_lang,
            self.cfg.target_lang,
            self.src_dict,
            selection,
            keyword_prob_stream=self.cfg.keyword_prob_stream,
            dataset_impl=self.cfg.dataset_impl,
            left_pad_source=self.cfg.left_pad_source,
            left_pad_target=self.cfg.left_pad_target,
        )
        logger.info(f"{data_path} {split}: {len(self.datasets[split])} examples, keywords by "
                    f"{selection.mode}")

    def build_dataset_for_inference(self, src_tokens, src_lengths, constraints=None):
        raise NotImplementedError(
            "pgkpr needs POS tags and keyword probabilities for every source word: binarize the "
            "input with pgkpr-prepare and use fairseq-generate"
        )
