"""Eq. 3 across data-parallel processes: gather_rows on two gloo processes against one process."""
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from pgkpr_fairseq.distributed import gather_rows
from pgkpr_fairseq.losses import contrastive_loss


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def whole_batch(seed=0):
    torch.manual_seed(seed)
    anchors, sources, targets = (torch.randn(5, 4, dtype=torch.float64) for _ in range(3))
    ids = torch.tensor([7, 8, 7, 9, 10]), torch.tensor([11, 7, 11, 12, 13])  # copies across ranks
    return anchors, sources, targets, ids


SPLIT = [(0, 3), (3, 5)]  # rank 0 holds pairs 0-2, rank 1 pairs 3-4: unequal batches


def loss_and_gradients(anchors, sources, targets, ids, first_anchor=0, gathered=None):
    leaves = [tensor.clone().requires_grad_() for tensor in (anchors, sources, targets)]
    candidates = gathered(leaves) if gathered else (leaves[1], leaves[2], ids[0], ids[1], 0)
    all_sources, all_targets, source_ids, target_ids, first_anchor = candidates
    terms = contrastive_loss(leaves[0], all_sources, all_targets, 0.5, "cosine", source_ids,
                             target_ids, first_anchor=first_anchor)
    terms.loss.backward()
    return terms.loss.detach(), [leaf.grad for leaf in leaves]


def rank_main(rank, port, results):
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    anchors, sources, targets, ids = whole_batch()
    start, end = SPLIT[rank]

    def gathered(leaves):
        rows, first = gather_rows(leaves[1], leaves[2], ids[0][start:end], ids[1][start:end])
        return (*rows, first)

    local = [tensor[start:end] for tensor in (anchors, sources, targets)]
    loss, gradients = loss_and_gradients(*local, ids, gathered=gathered)
    results[rank] = (loss, gradients)
    dist.destroy_process_group()


def test_gathered_eq3_on_two_processes_equals_one_process():
    anchors, sources, targets, ids = whole_batch()
    expected_loss, expected_gradients = loss_and_gradients(anchors, sources, targets, ids)
    results = mp.Manager().dict()
    mp.spawn(rank_main, args=(free_port(), results), nprocs=2, join=True)
    assert torch.isclose(results[0][0] + results[1][0], expected_loss)
    for rank, (start, end) in enumerate(SPLIT):
        for gradient, expected in zip(results[rank][1], expected_gradients):
            assert torch.allclose(gradient, expected[start:end], atol=1e-10), rank


def test_gather_rows_outside_a_distributed_run_is_the_identity():
    rows, ids = torch.randn(3, 2), torch.arange(3)
    (gathered_rows, gathered_ids), first = gather_rows(rows, ids)
    assert gathered_rows is rows and gathered_ids is ids and first == 0
