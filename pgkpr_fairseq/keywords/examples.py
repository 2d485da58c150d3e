"""The 4N paraphrase-classification examples of paper section 3.

From N pairs (s_i, t_i): positives (s_i, t_i) and (s_i, s_i), negatives (s_i, t_j1) and (s_i, t_j2)
with j1 != j2, both != i. A negative whose text equals t_i or s_i (Quora repeats questions) would be
a paraphrase labelled 0, so such draws are redrawn among the pairs whose target differs from both.
"""
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

EXAMPLES_PER_PAIR = 4  # kinds: 0 = (s_i, t_i), 1 = (s_i, s_i), 2 = (s_i, t_j1), 3 = (s_i, t_j2)


@dataclass(frozen=True)
class PairExample:
    """One classification example: the pair index it was built from, the two sentences, the label."""

    pair_index: int
    first: str
    second: str
    label: int


def _random_other_indices(count: int, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """For every i, two indices j1 != j2, both != i, uniformly at random (vectorized)."""
    own = np.arange(count)
    first = rng.integers(0, count - 1, size=count)
    first += first >= own  # skip i
    second = rng.integers(0, count - 2, size=count)
    low, high = np.minimum(own, first), np.maximum(own, first)
    second += second >= low  # skip the two excluded values in increasing order
    second += second >= high
    return first, second


def _redraw_colliding(sources, targets, first, second, rng: np.random.Generator) -> None:
    """Redraw, in place, negatives whose target text equals the pair's own source or target text."""
    text_ids = {text: index for index, text in enumerate(dict.fromkeys(targets))}
    target_ids = np.fromiter((text_ids[text] for text in targets), dtype=np.int64, count=len(targets))
    source_ids = np.fromiter((text_ids.get(text, -1) for text in sources), dtype=np.int64, count=len(sources))
    for i in range(len(targets)):
        own_texts = (target_ids[i], source_ids[i])
        if target_ids[first[i]] not in own_texts and target_ids[second[i]] not in own_texts:
            continue
        candidates = np.flatnonzero((target_ids != target_ids[i]) & (target_ids != source_ids[i]))
        if len(candidates) < 2:
            raise ValueError(
                f"pair {i + 1}: fewer than two other pairs have a target that differs from its source "
                "and target, so it gets no true negatives"
            )
        first[i], second[i] = rng.choice(candidates, size=2, replace=False)


def build_examples(
    sources: Sequence[str],
    targets: Sequence[str],
    seed: int,
    count: Optional[int] = None,
) -> List[PairExample]:
    """The 4N examples (or a seeded random subset of `count` of them), in pair order.

    ValueError when there are fewer than 3 pairs (two distinct other targets are needed per source)
    or when `count` exceeds 4N.
    """
    if len(sources) != len(targets):
        raise ValueError(f"{len(sources)} sources but {len(targets)} targets")
    pairs = len(sources)
    if pairs < 3:
        raise ValueError(f"{pairs} pairs: at least 3 are needed to draw two negatives per source")
    total = EXAMPLES_PER_PAIR * pairs
    if count is not None and not 0 < count <= total:
        raise ValueError(f"cannot take {count} of the {total} examples (4 per pair)")
    rng = np.random.default_rng(seed)
    first, second = _random_other_indices(pairs, rng)
    _redraw_colliding(sources, targets, first, second, rng)
    chosen = np.arange(total) if count is None else np.sort(rng.choice(total, size=count, replace=False))
    examples = []
    for code in chosen.tolist():
        i, kind = divmod(code, EXAMPLES_PER_PAIR)
        partner, label = (
            (targets[i], 1),
            (sources[i], 1),
            (targets[first[i]], 0),
            (targets[second[i]], 0),
        )[kind]
        examples.append(PairExample(i, sources[i], partner, label))
    return examples


def split_held_out(
    examples: Sequence[PairExample], fraction: float, seed: int
) -> Tuple[List[PairExample], List[PairExample]]:
    """(training, held-out) examples; whole pairs go to held-out, so (s_i, s_i) never leaks (s_i, t_i)."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"held-out fraction {fraction} is not in [0, 1)")
    pair_indices = np.unique([example.pair_index for example in examples])
    rng = np.random.default_rng(seed)
    held_out_pairs = set(rng.choice(pair_indices, size=round(fraction * len(pair_indices)), replace=False).tolist())
    training = [example for example in examples if example.pair_index not in held_out_pairs]
    held_out = [example for example in examples if example.pair_index in held_out_pairs]
    return training, held_out
