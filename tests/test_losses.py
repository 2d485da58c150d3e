import math

import torch

from pgkpr_fairseq.losses import contrastive_loss, reconstruction_loss


def direct_eq3(anchors, sources, targets, tau, cosine=False):
    """Eq. 3 of the paper written out term by term."""
    def sim(a, b):
        if cosine:
            return float(a @ b / (a.norm() * b.norm()))
        return float(a @ b)

    total = 0.0
    for i in range(len(anchors)):
        positive = math.exp(sim(anchors[i], targets[i]) / tau)
        negatives = sum(math.exp(sim(anchors[i], targets[j]) / tau) for j in range(len(anchors)) if j != i)
        negatives += sum(math.exp(sim(anchors[i], sources[j]) / tau) for j in range(len(anchors)) if j != i)
        total += -math.log(positive / (positive + negatives))
    return total


def test_contrastive_loss_matches_eq3():
    torch.manual_seed(0)
    anchors, sources, targets = (torch.randn(5, 8, dtype=torch.float64) for _ in range(3))
    for similarity, tau in (("dot", 2.0), ("cosine", 0.1)):
        loss, _ = contrastive_loss(anchors, sources, targets, tau, similarity)
        expected = direct_eq3(anchors, sources, targets, tau, cosine=similarity == "cosine")
        assert abs(loss.item() - expected) < 1e-6 * max(1.0, expected)


def test_contrastive_loss_ignores_own_source_and_counts_correct():
    targets = torch.eye(3)
    anchors = torch.eye(3) * 5
    sources = torch.eye(3) * 100  # each anchor's own source is the most similar: must not count
    loss, correct = contrastive_loss(anchors, sources, targets, 1.0, "dot")
    assert correct.item() == 3
    assert loss.item() < 3 * 0.1


def test_reconstruction_loss_is_per_sentence_mean():
    log_probs = torch.log_softmax(torch.randn(5, 7, dtype=torch.float64), dim=-1)
    targets = torch.tensor([1, 2, 3, 4, 5])
    sentence_of = torch.tensor([0, 0, 0, 1, 1])
    loss, correct = reconstruction_loss(log_probs, targets, sentence_of, 2)
    nll = -log_probs[torch.arange(5), targets]
    assert torch.isclose(loss, nll[:3].mean() + nll[3:].mean())
    assert correct.item() == int((log_probs.argmax(1) == targets).sum())
