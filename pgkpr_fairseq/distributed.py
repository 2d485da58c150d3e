"""Gathering tensors of every data-parallel process, with gradients, for eq. 3's negatives."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.distributed as dist


def _row_counts(rows: torch.Tensor) -> Sequence[int]:
    """The number of rows each process holds, in rank order."""
    counts = [torch.zeros(1, dtype=torch.long, device=rows.device)
              for _ in range(dist.get_world_size())]
    dist.all_gather(counts, torch.tensor([rows.size(0)], dtype=torch.long, device=rows.device))
    return [int(count) for count in counts]


class _GatherRows(torch.autograd.Function):
    """Concatenate every process's rows; the backward pass sums the gradients that all processes
    computed for this process's rows."""

    @staticmethod
    def forward(ctx, rows, counts, rank):
        padded = rows.new_zeros((max(counts),) + rows.shape[1:])  # all_gather needs equal shapes
        padded[:rows.size(0)] = rows
        gathered = [torch.empty_like(padded) for _ in counts]
        dist.all_gather(gathered, padded)
        ctx.start, ctx.count = sum(counts[:rank]), counts[rank]
        return torch.cat([part[:count] for part, count in zip(gathered, counts)])

    @staticmethod
    def backward(ctx, gradient):
        # all_reduce, not reduce_scatter: gloo (the CPU backend) has no reduce_scatter.
        gradient = gradient.contiguous().clone()
        dist.all_reduce(gradient)
        return gradient[ctx.start:ctx.start + ctx.count], None, None


def gather_rows(*tensors: Optional[torch.Tensor]) -> Tuple[List[Optional[torch.Tensor]], int]:
    """Tensors with the same number of rows, each with the rows of every process concatenated in
    rank order (None stays None), and the index of this process's first row. Gradients flow back
    to each process's own rows. Outside a multi-process run: (the tensors, 0)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return list(tensors), 0
    counts = _row_counts(next(rows for rows in tensors if rows is not None))
    rank = dist.get_rank()
    return ([None if rows is None else _GatherRows.apply(rows, counts, rank) for rows in tensors],
            sum(counts[:rank]))
