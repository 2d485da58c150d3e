"""Paired bootstrap resampling (Koehn, 2004) of the BLEU-4 and iBLEU difference between two systems
(`pgkpr-score bootstrap`).

Both systems' outputs for the same test sentences are resampled together, sentence indices drawn
with replacement, and the corpus metrics recomputed on every resample. The corpus BLEU of
`pgkpr_fairseq.scoring.metrics` (nltk's `corpus_bleu` without smoothing) is a function of sums over
sentences (matched and total n-grams per order, hypothesis length, closest reference length), so
each sentence's sums are taken once with nltk's own `modified_precision` and `closest_ref_length`
and a resample only adds rows: a thousand resamples of 13,000 sentences take seconds.

Reported per metric: both systems' scores on the whole set, their difference A - B, the 95%
interval of the difference over the resamples, and p, the share of resamples in which A does not
beat B (one-sided: small p means A is better beyond the test set's sampling noise).
"""
import math
import sys
import warnings
from dataclasses import dataclass
from typing import Dict, List, Sequence

import numpy as np
from nltk.translate.bleu_score import brevity_penalty, closest_ref_length, modified_precision

from .metrics import BLEU_WEIGHTS, ibleu, tokenized

ORDERS = 4
# Columns of a sentence's statistics: matched n-grams for n = 1..4, hypothesis n-grams for
# n = 1..4 (at least 1, as nltk counts them), hypothesis length, closest reference length.
MATCHED, TOTAL, HYPOTHESIS_LENGTH, REFERENCE_LENGTH = slice(0, 4), slice(4, 8), 8, 9


def sentence_statistics(hypotheses: Sequence[List[str]],
                        references: Sequence[List[List[str]]]) -> np.ndarray:
    """N x 10 integers: what nltk's corpus BLEU sums over each sentence (tokenized input)."""
    statistics = np.zeros((len(hypotheses), 10), dtype=np.int64)
    for row, (hypothesis, sentence_references) in enumerate(zip(hypotheses, references)):
        for order in range(1, ORDERS + 1):
            precision = modified_precision(sentence_references, hypothesis, order)
            statistics[row, order - 1] = precision.numerator
            statistics[row, ORDERS + order - 1] = precision.denominator
        statistics[row, HYPOTHESIS_LENGTH] = len(hypothesis)
        statistics[row, REFERENCE_LENGTH] = closest_ref_length(sentence_references, len(hypothesis))
    return statistics


def bleu_from_totals(totals: np.ndarray, weights=BLEU_WEIGHTS["bleu4"]) -> float:
    """Corpus BLEU x100 from summed sentence statistics, as nltk's corpus_bleu computes it without
    smoothing (an order without a match counts as precision `sys.float_info.min`)."""
    matched, total = totals[MATCHED], totals[TOTAL]
    if matched[0] == 0:
        return 0.0
    precisions = [matched[n] / total[n] if matched[n] else sys.float_info.min for n in range(ORDERS)]
    log_mean = math.fsum(w * math.log(p) for w, p in zip(weights, precisions) if p > 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        penalty = brevity_penalty(int(totals[REFERENCE_LENGTH]), int(totals[HYPOTHESIS_LENGTH]))
    return 100.0 * penalty * math.exp(log_mean)


@dataclass
class SystemStatistics:
    """One system's sentence statistics against the references and against the sources."""

    references: np.ndarray
    sources: np.ndarray

    @classmethod
    def of(cls, hypotheses: Sequence[str], sources: Sequence[str],
           references: Sequence[Sequence[str]]) -> "SystemStatistics":
        """As `scoring.score` reads them: tokenized lines, one reference set per file."""
        hypothesis_tokens, source_tokens, reference_tokens = tokenized(hypotheses, sources,
                                                                       references)
        return cls(sentence_statistics(hypothesis_tokens, reference_tokens),
                   sentence_statistics(hypothesis_tokens, source_tokens))

    def metrics(self, rows=slice(None)) -> Dict[str, float]:
        """BLEU-4 and iBLEU x100 of the sentences `rows` (all by default, with repeats allowed)."""
        bleu4 = bleu_from_totals(self.references[rows].sum(axis=0))
        self_bleu = bleu_from_totals(self.sources[rows].sum(axis=0))
        return {"bleu4": bleu4, "ibleu": ibleu(bleu4, self_bleu)}


@dataclass
class Comparison:
    """One metric of a paired bootstrap: A's and B's scores, A - B, its 95% interval, p(A <= B)."""

    metric: str
    a: float
    b: float
    difference: float
    low: float
    high: float
    p_value: float


def paired_bootstrap(a: SystemStatistics, b: SystemStatistics, samples: int = 1000,
                     seed: int = 1) -> List[Comparison]:
    """Resample the sentences `samples` times (the same indices for both systems)."""
    count = len(a.references)
    if len(b.references) != count:
        raise ValueError(f"the systems have {count} and {len(b.references)} sentences")
    rng = np.random.default_rng(seed)
    whole_a, whole_b = a.metrics(), b.metrics()
    differences = {metric: [] for metric in whole_a}
    for _ in range(samples):
        rows = rng.integers(count, size=count)
        sample_a, sample_b = a.metrics(rows), b.metrics(rows)
        for metric in differences:
            differences[metric].append(sample_a[metric] - sample_b[metric])
    comparisons = []
    for metric, values in differences.items():
        values = np.asarray(values)
        low, high = np.percentile(values, [2.5, 97.5])
        comparisons.append(Comparison(metric, whole_a[metric], whole_b[metric],
                                      whole_a[metric] - whole_b[metric], float(low), float(high),
                                      float(np.mean(values <= 0))))
    return comparisons


METRIC_NAMES = {"bleu4": "BLEU-4", "ibleu": "iBLEU"}


def format_comparisons(name_a: str, name_b: str, comparisons: Sequence[Comparison],
                       samples: int) -> str:
    """A markdown table of the comparisons."""
    lines = [f"| metric | {name_a} | {name_b} | difference | 95% interval | p ({name_a} <= {name_b}) |",
             "|---|---:|---:|---:|---|---:|"]
    for c in comparisons:
        lines.append(f"| {METRIC_NAMES[c.metric]} | {c.a:.2f} | {c.b:.2f} | {c.difference:+.2f} | "
                     f"[{c.low:+.2f}, {c.high:+.2f}] | {c.p_value:.3f} |")
    lines.append(f"\n{samples} paired bootstrap resamples of the test sentences.")
    return "\n".join(lines)
