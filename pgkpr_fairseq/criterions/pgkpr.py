"""The PGKPR objective (eq. 5): L = lambda1 * L_rec + lambda2 * L_con + L_gen."""
import math
from dataclasses import dataclass, field

import torch
from fairseq import metrics, utils
from fairseq.criterions import register_criterion
from fairseq.criterions.label_smoothed_cross_entropy import (
    LabelSmoothedCrossEntropyCriterion,
    LabelSmoothedCrossEntropyCriterionConfig,
)
from fairseq.dataclass import ChoiceEnum

from .. import perturb
from ..distributed import gather_rows
from ..losses import contrastive_loss, position_nll, reconstruction_loss, sentence_means_summed
from ..models.pgkpr_transformer import mean_pool


@dataclass
class PGKPRCriterionConfig(LabelSmoothedCrossEntropyCriterionConfig):
    rec_weight: float = field(
        default=1.0,
        metadata={"help": "lambda1, weight of the keyword/POS reconstruction loss (eq. 2); "
                  "0 skips its computation (the paper's ablation 'w/o L_rec')"},
    )
    rec_tag_softmax: bool = field(
        default=False,
        metadata={"help": "eq. 2 over the positions whose target is a POS tag (TS_s's first part) "
                  "and [SEP] as a softmax over the dictionary's POS tokens and [SEP] alone, not "
                  "the whole dictionary (the second part's words and [NOK] keep it): those "
                  "targets are always tags, and the head's output projection costs about half. "
                  "Default: the whole dictionary everywhere, as eq. 2 reads"},
    )
    con_weight: float = field(
        default=0.1,
        metadata={"help": "lambda2, weight of the in-batch contrastive loss (eq. 3); 0 skips its "
                  "computation ('w/o L_con'). The paper: 0.1 on Quora, 1 on MSCOCO"},
    )
    con_temperature: float = field(
        default=0.1,
        metadata={"help": "tau of eq. 3 (the paper gives none; the authors' code used 0.1 with "
                  "cosine similarity)"},
    )
    con_similarity: ChoiceEnum(["cosine", "dot"]) = field(
        default="cosine",
        metadata={"help": "similarity of eq. 3: 'cosine', the dot product of L2-normalized "
                  "encodings (the authors' code; logits within +-1/tau), or 'dot', the raw dot "
                  "product as eq. 3 is printed (fairseq's post-norm encodings have norms near 20: "
                  "logits in the thousands at tau 0.1, and L_con outweighs L_gen)"},
    )
    con_mask_same_source_targets: bool = field(
        default=False,
        metadata={"help": "eq. 3: besides every copy of s_i and t_i (always masked), also leave "
                  "out of s_i's negatives the targets of the other pairs whose source is s_i (on "
                  "MSCOCO, the other captions of s_i's image, paraphrases of s_i); the paper's "
                  "neg not in {s_i, t_i} read strictly keeps them"},
    )
    con_candidates: ChoiceEnum(["sources_and_targets", "targets"]) = field(
        default="sources_and_targets",
        metadata={"help": "the candidates of eq. 3 besides the positive: 'sources_and_targets', "
                  "every sentence of the batch, s_j [SEP] POS(s_j) and t_j [SEP] POS(t_j), as the "
                  "paper's neg reads; 'targets', the batch's targets only, as the authors' code "
                  "compared them: half of L_con's encoder passes"},
    )
    con_gather_across_processes: bool = field(
        default=False,
        metadata={"help": "data-parallel training: compare each process's anchors with the "
                  "contrastive encodings of every process's batch (gathered, gradients flowing "
                  "back to each process's own), so that eq. 3's negatives do not shrink when the "
                  "batch is spread over processes; a 1-process run on the same global batch "
                  "computes the same loss and gradient"},
    )
    con_detach_counterparts: bool = field(
        default=False,
        metadata={"help": "encode the positive and negative counterparts of eq. 3 (t [SEP] POS(t), "
                  "s [SEP] POS(s)) without gradients, a stop-gradient as in MoCo: their encoder "
                  "pass costs about a third as much, and only the anchors TS_s learn from L_con. "
                  "Default: gradients flow through both sides, as eq. 3 reads"},
    )


@register_criterion("pgkpr", dataclass=PGKPRCriterionConfig)
class PGKPRCriterion(LabelSmoothedCrossEntropyCriterion):
    """Label-smoothed generation loss plus the two auxiliary losses of PGKPR.

    Weighting: eq. 5 summed over the batch, sum_i (lambda1 L_rec^i + lambda2 L_con^i + L_gen^i),
    where L_gen^i sums over the target's tokens (eq. 4) and L_rec^i averages over the 2l+1 positions
    of TS_s (eq. 2). fairseq divides the returned loss by `sample_size` (target tokens, or sentences
    with --sentence-avg), which scales all three terms alike and keeps eq. 5's balance. Logged, in
    bits like fairseq's losses: gen_loss (per token), rec_loss and con_loss (per sentence),
    rec_accuracy (over all positions of TS_s), rec_keyword_accuracy (over the keywords' positions,
    the only ones whose target is neither shown at the position, as a non-keyword's tag in part 1
    is, nor [NOK]), con_accuracy (over the anchors that have a negative), con_masked (candidates
    per batch left out of eq. 3 as copies of an anchor's s_i or t_i).
    """

    def __init__(self, task, sentence_avg, label_smoothing, rec_weight, con_weight,
                 con_temperature, con_similarity, rec_tag_softmax=False,
                 con_mask_same_source_targets=False,
                 con_candidates="sources_and_targets", con_gather_across_processes=False,
                 con_detach_counterparts=False,
                 ignore_prefix_size=0, report_accuracy=False):
        super().__init__(task, sentence_avg, label_smoothing, ignore_prefix_size, report_accuracy)
        self.rec_weight = rec_weight
        self.nok_index = task.source_dictionary.index(perturb.NOK)
        # --rec-tag-softmax: the tag vocabulary's tokens, and each dictionary token's place in it
        # (-1: none); buffers, so that they follow the criterion to its device
        tags, place = None, None
        if rec_tag_softmax:
            dictionary = task.source_dictionary
            tags = torch.LongTensor([index for index, symbol in enumerate(dictionary.symbols)
                                     if perturb.is_pos_token(symbol) or symbol == perturb.SEP])
            place = torch.full((len(dictionary),), -1, dtype=torch.long)
            place[tags] = torch.arange(len(tags))
        self.register_buffer("rec_tag_vocabulary", tags, persistent=False)
        self.register_buffer("rec_tag_place", place, persistent=False)
        self.con_weight = con_weight
        self.con_temperature = con_temperature
        self.con_similarity = str(con_similarity)
        self.con_mask_same_source_targets = con_mask_same_source_targets
        self.con_sources_are_candidates = str(con_candidates) == "sources_and_targets"
        self.con_gather_across_processes = con_gather_across_processes
        self.con_detach_counterparts = con_detach_counterparts

    def forward(self, model, sample, reduce=True):
        assert reduce, "the pgkpr criterion only computes reduced losses"
        net_output = model(**sample["net_input"], return_encoder_out=True)
        gen_loss, nll_loss = self.compute_loss(model, net_output, sample, reduce=True)
        nsentences = sample["target"].size(0)
        sample_size = nsentences if self.sentence_avg else sample["ntokens"]
        logging_output = {
            "nll_loss": nll_loss.data,
            "gen_loss": gen_loss.data,
            "ntokens": sample["ntokens"],
            "nsentences": nsentences,
            "sample_size": sample_size,
        }
        if self.report_accuracy:
            n_correct, total = self.compute_accuracy(model, net_output, sample)
            logging_output["n_correct"] = utils.item(n_correct.data)
            logging_output["total"] = utils.item(total.data)

        loss = gen_loss
        states, padding_mask = model.encoder_states(net_output[1]["encoder_out"])
        if self.rec_weight > 0:
            rec_loss, hit, keyword = self.reconstruction_terms(model, states, sample)
            loss = loss + self.rec_weight * rec_loss
            logging_output.update(rec_loss=rec_loss.data, rec_correct=utils.item(hit.sum()),
                                  rec_total=hit.numel(),
                                  rec_keyword_correct=utils.item((hit & keyword).sum()),
                                  rec_keyword_total=utils.item(keyword.sum()))
        if self.con_weight > 0:
            con = self.contrastive_terms(model, states, padding_mask, sample)
            loss = loss + self.con_weight * con.loss
            logging_output.update(con_loss=con.loss.data, con_correct=utils.item(con.correct),
                                  con_anchors=utils.item(con.anchors),
                                  con_masked=utils.item(con.masked))
        logging_output["loss"] = loss.data
        return loss, sample_size, logging_output

    def reconstruction_terms(self, model, states, sample):
        """Eq. 2, and per predicted position whether it is right and whether it is a keyword's."""
        target = sample["reconstruction_target"]
        predicted = target.ne(self.padding_idx)
        sentence_of = predicted.nonzero()[:, 0]
        features, targets = states[predicted], target[predicted]
        shown = sample["net_input"]["src_tokens"][predicted]
        keyword = targets.ne(shown) & targets.ne(self.nok_index)
        if self.rec_tag_vocabulary is None:
            log_probs = utils.log_softmax(model.reconstruction_head(features), dim=-1)
            loss, hit = reconstruction_loss(log_probs, targets, sentence_of, target.size(0))
            return loss, hit, keyword
        # --rec-tag-softmax: tag targets against the tags, the others against the dictionary
        nll = features.new_zeros(targets.shape, dtype=torch.float)
        hit = torch.zeros_like(targets, dtype=torch.bool)
        is_tag = self.rec_tag_place[targets] >= 0
        for rows, vocabulary in ((is_tag, self.rec_tag_vocabulary), (~is_tag, None)):
            if rows.any():
                logits = model.reconstruction_head(features[rows], vocabulary)
                places = targets[rows] if vocabulary is None else self.rec_tag_place[targets[rows]]
                nll[rows], hit[rows] = position_nll(utils.log_softmax(logits, dim=-1), places)
        loss = sentence_means_summed(nll, sentence_of, target.size(0))
        return loss, hit, keyword

    def contrastive_terms(self, model, states, padding_mask, sample):
        anchors = mean_pool(states, padding_mask)
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.con_detach_counterparts):
            targets = model.encode_pooled(**sample["contrastive_targets"])
            sources = (model.encode_pooled(**sample["contrastive_sources"])
                       if self.con_sources_are_candidates else None)
        text_ids = sample["contrastive_text_ids"]
        source_ids, target_ids, first_anchor = text_ids["sources"], text_ids["targets"], 0
        if self.con_gather_across_processes:
            (sources, targets, source_ids, target_ids), first_anchor = gather_rows(
                sources, targets, source_ids, target_ids)
        return contrastive_loss(anchors, sources, targets, self.con_temperature, self.con_similarity,
                                source_ids, target_ids, self.con_mask_same_source_targets,
                                first_anchor)

    @classmethod
    def reduce_metrics(cls, logging_outputs) -> None:
        super().reduce_metrics(logging_outputs)

        def total(key):
            return utils.item(sum(log.get(key, 0) for log in logging_outputs))

        ntokens, nsentences = total("ntokens"), total("nsentences")
        metrics.log_scalar("gen_loss", total("gen_loss") / ntokens / math.log(2), ntokens, round=3)
        for term in ("rec", "con"):
            if any(f"{term}_loss" in log for log in logging_outputs):
                metrics.log_scalar(f"{term}_loss", total(f"{term}_loss") / nsentences / math.log(2),
                                   nsentences, round=3)
        if total("rec_total") > 0:
            metrics.log_scalar("rec_accuracy", 100.0 * total("rec_correct") / total("rec_total"),
                               total("rec_total"), round=2)
        if total("rec_keyword_total") > 0:
            metrics.log_scalar("rec_keyword_accuracy",
                               100.0 * total("rec_keyword_correct") / total("rec_keyword_total"),
                               total("rec_keyword_total"), round=2)
        if any("con_correct" in log for log in logging_outputs):
            anchors = total("con_anchors")
            if anchors > 0:
                metrics.log_scalar("con_accuracy", 100.0 * total("con_correct") / anchors,
                                   anchors, round=2)
            metrics.log_scalar("con_masked", total("con_masked") / len(logging_outputs),
                               len(logging_outputs), round=2)
