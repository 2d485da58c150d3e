"""The two auxiliary losses of PGKPR (paper eq. 2 and eq. 3), as pure tensor functions."""
from typing import Tuple

import torch
import torch.nn.functional as F


def reconstruction_loss(
    log_probs: torch.Tensor, targets: torch.Tensor, sentence_of: torch.Tensor, num_sentences: int
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Eq. 2 summed over sentences: each sentence's cross-entropy averaged over its 2l+1 positions.

    log_probs: N x V for the N non-padding positions of the batch, targets: N, sentence_of: N (the
    sentence each position belongs to). Returns (loss summed over sentences, number of positions
    predicted correctly).
    """
    nll = -log_probs.gather(1, targets.unsqueeze(1)).squeeze(1)
    positions = torch.bincount(sentence_of, minlength=num_sentences).clamp(min=1)
    loss = (nll / positions[sentence_of].type_as(nll)).sum()
    correct = (log_probs.argmax(dim=1) == targets).sum()
    return loss, correct


def contrastive_loss(
    anchors: torch.Tensor,
    sources: torch.Tensor,
    targets: torch.Tensor,
    temperature: float,
    similarity: str = "dot",
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Eq. 3 summed over the batch.

    anchors: B x C encodings of the perturbed TS_s; sources, targets: B x C encodings of the
    unperturbed `s [SEP] POS(s)` and `t [SEP] POS(t)`. For anchor i the positive is targets[i]; the
    negatives are every other target and every other source (its own source s_i is left out:
    neg not in {s_i, t_i}). similarity: "dot" (the paper) or "cosine" (the authors' code).
    Returns (loss summed over anchors, number of anchors whose best candidate is their target).
    """
    candidates = torch.cat([targets, sources], dim=0)
    if similarity == "cosine":
        anchors, candidates = F.normalize(anchors, dim=-1), F.normalize(candidates, dim=-1)
    elif similarity != "dot":
        raise ValueError(f"unknown similarity {similarity!r}")
    batch = anchors.size(0)
    logits = anchors @ candidates.t() / temperature
    own_source = torch.arange(batch, device=logits.device)
    logits[own_source, batch + own_source] = float("-inf")
    loss = F.cross_entropy(logits.float(), own_source, reduction="sum")
    correct = (logits.argmax(dim=1) == own_source).sum()
    return loss, correct
