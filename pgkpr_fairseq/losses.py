"""The two auxiliary losses of PGKPR (paper eq. 2 and eq. 3), as pure tensor functions."""
from typing import NamedTuple, Optional, Tuple

import torch
import torch.nn.functional as F


def position_nll(log_probs: torch.Tensor, targets: torch.Tensor
                 ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Per position: the negative log-likelihood of its target, and whether it is the argmax."""
    nll = -log_probs.gather(1, targets.unsqueeze(1)).squeeze(1)
    return nll, log_probs.argmax(dim=1) == targets


def sentence_means_summed(values: torch.Tensor, sentence_of: torch.Tensor,
                          num_sentences: int) -> torch.Tensor:
    """Each sentence's values averaged over its positions, summed over the sentences."""
    positions = torch.bincount(sentence_of, minlength=num_sentences).clamp(min=1)
    return (values / positions[sentence_of].type_as(values)).sum()


def reconstruction_loss(
    log_probs: torch.Tensor, targets: torch.Tensor, sentence_of: torch.Tensor, num_sentences: int
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Eq. 2 summed over sentences: each sentence's cross-entropy averaged over its 2l+1 positions.

    log_probs: N x V for the N non-padding positions of the batch, targets: N, sentence_of: N (the
    sentence each position belongs to). Returns (loss summed over sentences, whether each position
    is predicted correctly).
    """
    nll, hit = position_nll(log_probs, targets)
    return sentence_means_summed(nll, sentence_of, num_sentences), hit


def similarity_logits(anchors: torch.Tensor, candidates: torch.Tensor, temperature: float,
                      similarity: str) -> torch.Tensor:
    """anchors . candidates^T / tau; with "cosine", on L2-normalized encodings."""
    if similarity == "cosine":
        anchors, candidates = F.normalize(anchors, dim=-1), F.normalize(candidates, dim=-1)
    elif similarity != "dot":
        raise ValueError(f"unknown similarity {similarity!r}")
    return anchors @ candidates.t() / temperature


def copy_mask(source_ids: torch.Tensor, target_ids: torch.Tensor,
              mask_same_source_targets: bool = False, first_anchor: int = 0,
              anchors: Optional[int] = None) -> torch.Tensor:
    """Which candidates of eq. 3 are not negatives of each anchor: A x 2N for the A anchors
    first_anchor, first_anchor + 1, ... of N pairs, candidates ordered (targets, sources) as in
    `contrastive_loss`.

    source_ids[j], target_ids[j]: ids of the texts of s_j and t_j, equal ids for equal texts. The
    paper's negatives are the batch's sentences neg not in {s_i, t_i}: every candidate whose text is
    s_i's or t_i's is masked, whatever its batch position, except the positive t_i itself. With
    `mask_same_source_targets`, also the targets of every other pair whose source is s_i (on
    MSCOCO, the other captions of s_i's image: paraphrases of s_i by construction).
    """
    pairs = source_ids.size(0)
    anchors = pairs - first_anchor if anchors is None else anchors
    own = slice(first_anchor, first_anchor + anchors)
    candidate_ids = torch.cat([target_ids, source_ids])
    masked = (candidate_ids.unsqueeze(0) == source_ids[own].unsqueeze(1)) | (
        candidate_ids.unsqueeze(0) == target_ids[own].unsqueeze(1))
    if mask_same_source_targets:
        masked[:, :pairs] |= source_ids.unsqueeze(0) == source_ids[own].unsqueeze(1)
    rows = torch.arange(anchors, device=masked.device)
    masked[rows, first_anchor + rows] = False  # the positive
    return masked


class ContrastiveTerms(NamedTuple):
    loss: torch.Tensor  # eq. 3 summed over the anchors that have a negative
    correct: torch.Tensor  # anchors (with a negative) whose most similar candidate is their positive
    anchors: torch.Tensor  # anchors with at least one negative
    masked: torch.Tensor  # candidates masked as copies of s_i or t_i, beyond s_i's own position


def contrastive_loss(
    anchors: torch.Tensor,
    sources: Optional[torch.Tensor],
    targets: torch.Tensor,
    temperature: float,
    similarity: str = "cosine",
    source_ids: Optional[torch.Tensor] = None,
    target_ids: Optional[torch.Tensor] = None,
    mask_same_source_targets: bool = False,
    first_anchor: int = 0,
) -> ContrastiveTerms:
    """Eq. 3 summed over the anchors.

    anchors: A x C encodings of the perturbed TS_s of pairs first_anchor .. first_anchor + A - 1;
    sources, targets: N x C encodings of the unperturbed `s [SEP] POS(s)` and `t [SEP] POS(t)` of
    all N pairs of the batch (N = A, first_anchor 0, on one process; the batch of every process
    with the contrastive encodings gathered across processes). For anchor i the positive is its
    pair's target; the negatives are the other candidates whose text is neither s_i nor t_i
    (`copy_mask`). Without text ids every pair counts as distinct, so only s_i's own position is
    masked. similarity: "cosine" (dot product of L2-normalized encodings) or "dot" (raw dot
    product). An anchor left without a negative contributes nothing. `sources` None: the
    candidates are the targets only (the authors' code); copies of s_i among them stay masked.
    """
    pairs, count = targets.size(0), anchors.size(0)
    if source_ids is None or target_ids is None:
        source_ids = torch.arange(pairs, device=anchors.device)
        target_ids = source_ids + pairs
    candidates = targets if sources is None else torch.cat([targets, sources])
    logits = similarity_logits(anchors, candidates, temperature, similarity)
    masked = copy_mask(source_ids, target_ids, mask_same_source_targets, first_anchor, count)
    masked = masked[:, :candidates.size(0)]
    logits = logits.float().masked_fill(masked, float("-inf"))
    rows = torch.arange(count, device=logits.device)
    positive = first_anchor + rows
    has_negative = (~masked).sum(dim=1) > 1
    losses = F.cross_entropy(logits, positive, reduction="none")
    loss = losses.masked_fill(~has_negative, 0.0).sum()
    correct = ((logits.argmax(dim=1) == positive) & has_negative).sum()
    own_source = masked[rows, pairs + positive].sum() if sources is not None else 0
    return ContrastiveTerms(loss, correct, has_negative.sum(), masked.sum() - own_source)
