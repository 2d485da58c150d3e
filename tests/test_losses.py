import math

import torch

from pgkpr_fairseq.losses import contrastive_loss, reconstruction_loss


def direct_eq3(anchors, sources, targets, tau, cosine=False, source_texts=None, target_texts=None):
    """Eq. 3 of the paper written out term by term: the negatives of anchor i are the batch's
    sentences whose text is neither s_i nor t_i (every pair distinct when no texts are given);
    sources None: its targets only."""
    batch = len(anchors)
    source_texts = source_texts or [f"s{i}" for i in range(batch)]
    target_texts = target_texts or [f"t{i}" for i in range(batch)]

    def sim(a, b):
        if cosine:
            return float(a @ b / (a.norm() * b.norm()))
        return float(a @ b)

    total = 0.0
    for i in range(batch):
        own = {source_texts[i], target_texts[i]}
        positive = math.exp(sim(anchors[i], targets[i]) / tau)
        negatives = sum(math.exp(sim(anchors[i], targets[j]) / tau)
                        for j in range(batch) if target_texts[j] not in own)
        if sources is not None:
            negatives += sum(math.exp(sim(anchors[i], sources[j]) / tau)
                             for j in range(batch) if source_texts[j] not in own)
        if negatives:
            total += -math.log(positive / (positive + negatives))
    return total


def ids_of(texts):
    """Text ids as the collater numbers them: equal texts share an id."""
    numbering = {}
    return torch.tensor([numbering.setdefault(text, len(numbering)) for text in texts])


def test_contrastive_loss_matches_eq3():
    torch.manual_seed(0)
    anchors, sources, targets = (torch.randn(5, 8, dtype=torch.float64) for _ in range(3))
    for similarity, tau in (("dot", 2.0), ("cosine", 0.1)):
        terms = contrastive_loss(anchors, sources, targets, tau, similarity)
        expected = direct_eq3(anchors, sources, targets, tau, cosine=similarity == "cosine")
        assert abs(terms.loss.item() - expected) < 1e-6 * max(1.0, expected)
        assert terms.anchors.item() == 5 and terms.masked.item() == 0


def test_targets_only_candidates_leave_out_the_sources():
    """--con-candidates targets (the authors' code): eq. 3 over the batch's targets alone, the
    copies of s_i and t_i among them still masked."""
    torch.manual_seed(1)
    anchors, sources, targets = (torch.randn(6, 8, dtype=torch.float64) for _ in range(3))
    source_texts = ["a", "b", "a", "c", "d", "e"]
    target_texts = ["x", "a", "x", "y", "z", "w"]  # pair 1's target is s_0; pair 2 copies pair 0
    source_ids, target_ids = ids_of(source_texts + target_texts).split(6)
    terms = contrastive_loss(anchors, None, targets, 0.3, "cosine", source_ids, target_ids)
    expected = direct_eq3(anchors, None, targets, 0.3, cosine=True, source_texts=source_texts,
                          target_texts=target_texts)
    assert abs(terms.loss.item() - expected) < 1e-6 * expected
    both = contrastive_loss(anchors, sources, targets, 0.3, "cosine", source_ids, target_ids)
    assert terms.loss.item() < both.loss.item()  # fewer negatives
    # anchors 0 and 2 (s "a", t "x") each mask t_1 = "a" and the other's t = "x"; no other copies
    assert terms.masked.item() == 4 and terms.anchors.item() == 6


def copies_by_hand(source_texts, target_texts):
    """Candidates with the text of s_i or t_i, summed over anchors i, besides t_i and s_i's own
    position."""
    batch = len(source_texts)
    count = 0
    for i in range(batch):
        own = {source_texts[i], target_texts[i]}
        count += sum(target_texts[j] in own for j in range(batch) if j != i)
        count += sum(source_texts[j] in own for j in range(batch) if j != i)
    return count


def test_copies_of_the_pair_are_not_negatives():
    """Quora repeats questions: a candidate with the text of s_i or t_i is left out wherever it
    sits in the batch, for sources and targets alike; the positive stays."""
    torch.manual_seed(1)
    anchors, sources, targets = (torch.randn(5, 8, dtype=torch.float64) for _ in range(3))
    # pair 2 repeats pair 0; pair 1's target is s_0; pair 4's source is pair 3's target
    source_texts = ["a", "b", "a", "c", "d"]
    target_texts = ["x", "a", "x", "d", "e"]
    source_ids, target_ids = ids_of(source_texts + target_texts).split(5)
    terms = contrastive_loss(anchors, sources, targets, 0.5, "cosine", source_ids, target_ids)
    expected = direct_eq3(anchors, sources, targets, 0.5, True, source_texts, target_texts)
    assert math.isclose(terms.loss.item(), expected, rel_tol=1e-6)
    assert terms.masked.item() == copies_by_hand(source_texts, target_texts) == 10
    unmasked = contrastive_loss(anchors, sources, targets, 0.5, "cosine")
    assert not math.isclose(unmasked.loss.item(), terms.loss.item())


def test_two_identical_pairs_have_no_negative():
    anchors = torch.randn(2, 4)
    sources, targets = torch.randn(2, 4), torch.randn(2, 4)
    same = torch.tensor([0, 0])
    terms = contrastive_loss(anchors, sources, targets, 0.1, "cosine", same, same + 1)
    assert terms.loss.item() == 0.0 and not torch.isnan(terms.loss)
    assert terms.anchors.item() == 0 and terms.correct.item() == 0
    anchors.requires_grad_(True)
    contrastive_loss(anchors, sources, targets, 0.1, "cosine", same, same + 1).loss.backward()
    assert torch.equal(anchors.grad, torch.zeros_like(anchors))


def anchor_loss(anchors, sources, targets, i, target_negatives, source_negatives, tau):
    """-log of eq. 3's fraction for anchor i with the given negatives, cosine similarity."""
    def sim(candidate):
        return float(torch.cosine_similarity(anchors[i], candidate, dim=0)) / tau
    logits = [sim(targets[i])] + [sim(targets[j]) for j in target_negatives] + [
        sim(sources[j]) for j in source_negatives]
    return -logits[0] + math.log(sum(math.exp(logit) for logit in logits))


def test_same_source_targets_option():
    """MSCOCO: pairs 0-2 share a source (one image's captions); with the option, their targets
    are not negatives of each other's anchors."""
    torch.manual_seed(2)
    anchors, sources, targets = (torch.randn(4, 6, dtype=torch.float64) for _ in range(3))
    source_ids, target_ids = ids_of(["img", "img", "img", "other", "c1", "c2", "c3", "c4"]).split(4)
    strict = contrastive_loss(anchors, sources, targets, 0.2, "cosine", source_ids, target_ids)
    masked = contrastive_loss(anchors, sources, targets, 0.2, "cosine", source_ids, target_ids,
                              mask_same_source_targets=True)
    image, last = (0, 1, 2), anchor_loss(anchors, sources, targets, 3, [0, 1, 2], [0, 1, 2], 0.2)
    expected_strict = last + sum(anchor_loss(anchors, sources, targets, i,
                                             [j for j in range(4) if j != i], [3], 0.2)
                                 for i in image)
    expected_masked = last + sum(anchor_loss(anchors, sources, targets, i, [3], [3], 0.2)
                                 for i in image)
    assert math.isclose(strict.loss.item(), expected_strict, rel_tol=1e-6)
    assert math.isclose(masked.loss.item(), expected_masked, rel_tol=1e-6)
    assert strict.masked.item() == 3 * 2 and masked.masked.item() == 3 * 2 + 3 * 2


def test_contrastive_accuracy_counts_only_anchors_whose_positive_wins():
    targets = torch.eye(3)
    sources = torch.eye(3)[[1, 2, 0]] * 0.5
    anchors = torch.stack([targets[0] * 2, targets[0] * 3, targets[2] * 2])  # anchor 1 is wrong
    terms = contrastive_loss(anchors, sources, targets, 1.0, "dot")
    assert terms.correct.item() == 2 and terms.anchors.item() == 3


def test_contrastive_loss_ignores_own_source():
    targets = torch.eye(3)
    anchors = torch.eye(3) * 5
    sources = torch.eye(3) * 100  # each anchor's own source is the most similar: must not count
    terms = contrastive_loss(anchors, sources, targets, 1.0, "dot")
    assert terms.correct.item() == 3
    assert terms.loss.item() < 3 * 0.1


def test_reconstruction_loss_is_per_sentence_mean():
    """Sentences of different lengths: eq. 2 averages within each sentence, then sums; a batch
    mean over all positions would weigh the long sentence more and differ."""
    log_probs = torch.log_softmax(torch.randn(5, 7, dtype=torch.float64), dim=-1)
    targets = torch.tensor([1, 2, 3, 4, 5])
    sentence_of = torch.tensor([0, 0, 0, 1, 1])
    loss, hit = reconstruction_loss(log_probs, targets, sentence_of, 2)
    nll = -log_probs[torch.arange(5), targets]
    assert torch.isclose(loss, nll[:3].mean() + nll[3:].mean())
    assert not torch.isclose(loss, nll.mean() * 2)
    assert hit.tolist() == (log_probs.argmax(1) == targets).tolist()


def test_anchor_slices_add_up_to_the_whole_batch():
    """Each process of a data-parallel run computes eq. 3 for its own anchors against the gathered
    candidates of all processes: the slices add up to the one-process loss."""
    torch.manual_seed(3)
    anchors, sources, targets = (torch.randn(6, 5, dtype=torch.float64) for _ in range(3))
    source_ids, target_ids = ids_of(["a", "b", "a", "c", "d", "e", "x", "y", "x", "z", "a", "w"]).split(6)
    whole = contrastive_loss(anchors, sources, targets, 0.3, "cosine", source_ids, target_ids)
    parts = [contrastive_loss(anchors[start:start + 3], sources, targets, 0.3, "cosine", source_ids,
                              target_ids, first_anchor=start) for start in (0, 3)]
    for field in ("loss", "correct", "anchors", "masked"):
        assert torch.isclose(sum(getattr(part, field) for part in parts).double(),
                             getattr(whole, field).double())
