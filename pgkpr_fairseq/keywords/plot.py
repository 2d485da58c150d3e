"""The paper's Figures 3 and 4: POS families of sampled keywords, as a bar chart.

One coin per word with its keyword probability (as stage two draws keywords); the sampled keywords'
Penn Treebank tags are counted in the paper's five families.
"""
from collections import Counter
from typing import Dict, Optional, Sequence

import numpy as np

from ..perturb import keyword_mask
from ..textio import atomic_output

# Family label -> the tag prefixes it covers, in the paper's order. JJ also takes CD: the paper's
# "adjectives or numerals". Prefixes match from the start, so WRB is not an adverb here, nor WP a pronoun.
POS_FAMILIES = {
    "NN": ("NN",),
    "JJ": ("JJ", "CD"),
    "PRP": ("PRP",),
    "RB": ("RB",),
    "VB": ("VB",),
}
FAMILY_NAMES = {"NN": "nouns", "JJ": "adjectives, numerals", "PRP": "pronouns", "RB": "adverbs", "VB": "verbs"}


def pos_family(tag: str) -> Optional[str]:
    """The family of a Penn Treebank tag (NN, JJ, PRP, RB, VB), or None for every other tag."""
    for family, prefixes in POS_FAMILIES.items():
        if tag.startswith(prefixes):
            return family
    return None


def sample_keyword_tags(tags: Sequence[Sequence[str]], probabilities: Sequence[Sequence[float]], seed: int):
    """The tags of the words drawn as keywords: one coin per word, sentence by sentence, seeded."""
    rng = np.random.default_rng(seed)
    drawn = []
    for sentence_tags, sentence_probabilities in zip(tags, probabilities):
        words = np.arange(len(sentence_probabilities))
        coins = keyword_mask(np.asarray(sentence_probabilities), words, rng=rng)
        drawn.extend(tag for tag, is_keyword in zip(sentence_tags, coins) if is_keyword)
    return drawn


def count_families(keyword_tags: Sequence[str]) -> Dict[str, int]:
    """Keyword counts per POS family, every family present (0 when none)."""
    counts = Counter(pos_family(tag) for tag in keyword_tags)
    return {family: counts[family] for family in POS_FAMILIES}


def save_bar_chart(counts: Dict[str, int], output_path, title: str) -> None:
    """Write the family counts as a PNG bar chart (matplotlib, Agg backend), atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7.5, 4.2))
    labels = [f"{family}\n({FAMILY_NAMES[family]})".replace(", ", ",\n") for family in counts]
    bars = axes.bar(labels, list(counts.values()), color="#c0392b")
    axes.bar_label(bars)
    axes.set_xlabel("POS family of the sampled keywords")
    axes.set_ylabel("count")
    axes.set_title(title)
    axes.margins(y=0.12)
    figure.tight_layout()
    with atomic_output(output_path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=120)
    plt.close(figure)
