"""Score paraphrases the way the paraphrase-generation literature does (`pgkpr-score`).

Metrics, all x100:

- BLEU-1..4: nltk ``corpus_bleu`` over the whole set, no smoothing, weights (1,0,0,0), (.5,.5,0,0),
  (.33,.33,.34,0), (.25,.25,.25,.25), all references of a source at once.
- ROUGE-1, ROUGE-2, ROUGE-L F: py-rouge ``Rouge(metrics=['rouge-n', 'rouge-l'], max_n=2)`` with its
  defaults, as released paraphrase code calls it: ``apply_avg=True`` (one F per sentence, averaged
  over sentences; with several references the hypothesis, reference and overlap counts of a sentence
  are summed over its references before its F is computed), Porter stemming, non-alphanumeric
  characters removed, texts cut at 665 bytes (never reached by one sentence). Its tokenizer is
  replaced by a one-line one that needs no downloaded nltk data (see :class:`OfflineRouge`).
- sacreBLEU: corpus BLEU with sacrebleu's defaults (13a tokenization) on the lowercased, already
  tokenized text, so that it is comparable with other sacreBLEU numbers; 13a barely changes
  text that is already tokenized.
- self-BLEU: BLEU-4 (same nltk computation) of the hypotheses against the sources as the only
  reference; iBLEU = 0.8 * BLEU-4 - 0.2 * self-BLEU. Copying the source scores a high BLEU on Quora,
  so these two show how much a system merely copies. A copy of the source gets exactly 100 only
  if every sentence has 4 tokens or more: nltk counts one unmatched 4-gram for a shorter one
  (about 99.99 on Quora).
- Length: hypothesis tokens as a percentage of reference tokens, the reference closest in length to
  each hypothesis as nltk's BLEU counts them; below 100, BLEU's brevity penalty
  exp(1 - 100 / length) lowers every BLEU-n alike.

Inputs are one sentence per line, already tokenized (tokens separated by spaces); everything is
lowercased. Hypotheses are scored against the raw references: a generated ``<unk>`` matches nothing.
"""
import warnings
from typing import Iterable, List, Mapping, Sequence, Tuple

import nltk
import sacrebleu
from nltk.translate.bleu_score import closest_ref_length, corpus_bleu

with warnings.catch_warnings():
    # py-rouge imports pkg_resources, whose deprecation warning says nothing about the scores.
    warnings.simplefilter("ignore")
    from rouge import Rouge

BLEU_WEIGHTS = {
    "bleu1": (1.0, 0.0, 0.0, 0.0),
    "bleu2": (0.5, 0.5, 0.0, 0.0),
    "bleu3": (0.33, 0.33, 0.34, 0.0),
    "bleu4": (0.25, 0.25, 0.25, 0.25),
}
IBLEU_ALPHA = 0.8

# Metric keys of score() in the paper's column order, with their column headers.
COLUMNS = (
    ("bleu1", "B-1"),
    ("bleu2", "B-2"),
    ("bleu3", "B-3"),
    ("bleu4", "B-4"),
    ("rouge1", "R-1"),
    ("rouge2", "R-2"),
    ("rougeL", "R-L"),
    ("sacrebleu", "sacreBLEU"),
    ("self_bleu", "self-BLEU"),
    ("ibleu", "iBLEU"),
    ("length", "Len%"),
)

COPY_SOURCE_NAME = "Copy source"


class OfflineRouge(Rouge):
    """py-rouge with a tokenizer that needs no downloaded nltk data.

    py-rouge calls ``nltk.word_tokenize``, which first splits sentences with the punkt model
    (``punkt_tab`` data, not downloadable here). Each text scored here is a single line, so
    skipping the sentence split (``preserve_line=True``) gives the same tokens.
    """

    @staticmethod
    def tokenize_text(text, language="english"):
        """Tokenize one line of text with nltk's word tokenizer, without sentence splitting."""
        return nltk.word_tokenize(text, language, preserve_line=True)


def tokenize(line: str) -> List[str]:
    """Lowercase an already tokenized line and split it into tokens."""
    return line.lower().split()


def corpus_bleu_x100(hypotheses: Sequence[List[str]], references: Sequence[List[List[str]]],
                     weights: Tuple[float, ...]) -> float:
    """nltk corpus BLEU without smoothing, x100.

    nltk warns when some n-gram order has no match and then returns 0 (or a tiny value): that
    unsmoothed value is what the literature reports, so the warning is silenced.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return 100.0 * corpus_bleu(references, hypotheses, weights=weights)


def length_percent(hypotheses: Sequence[List[str]], references: Sequence[List[List[str]]]) -> float:
    """Hypothesis tokens as a percentage of the closest references' tokens (BLEU's brevity)."""
    hypothesis_length = sum(len(hypothesis) for hypothesis in hypotheses)
    reference_length = sum(closest_ref_length(sentence_references, len(hypothesis))
                           for hypothesis, sentence_references in zip(hypotheses, references))
    return 100.0 * hypothesis_length / reference_length


def rouge_f_x100(hypotheses: Sequence[str], references: Sequence[List[str]]) -> dict:
    """py-rouge ROUGE-1, ROUGE-2 and ROUGE-L F, averaged over sentences, x100."""
    scores = OfflineRouge(metrics=["rouge-n", "rouge-l"], max_n=2).get_scores(
        list(hypotheses), [list(sentence_references) for sentence_references in references])
    return {
        "rouge1": 100.0 * scores["rouge-1"]["f"],
        "rouge2": 100.0 * scores["rouge-2"]["f"],
        "rougeL": 100.0 * scores["rouge-l"]["f"],
    }


def ibleu(bleu4: float, self_bleu: float) -> float:
    """iBLEU: BLEU-4 against the references, penalized by BLEU-4 against the source."""
    return IBLEU_ALPHA * bleu4 - (1 - IBLEU_ALPHA) * self_bleu


def tokenized(hypotheses: Sequence[str], sources: Sequence[str],
              references: Sequence[Sequence[str]]):
    """The tokens BLEU reads: per hypothesis its tokens, per source the list holding its tokens
    (the source as the only reference, for self-BLEU), per source the list of its references'
    tokens (nltk's and py-rouge's layout)."""
    hypothesis_tokens = [tokenize(line) for line in hypotheses]
    source_tokens = [[tokenize(line)] for line in sources]
    reference_tokens = [[tokenize(reference_set[index]) for reference_set in references]
                        for index in range(len(hypotheses))]
    return hypothesis_tokens, source_tokens, reference_tokens


def score(hypotheses: Sequence[str], sources: Sequence[str],
          references: Sequence[Sequence[str]]) -> dict:
    """Score hypotheses against their references and sources.

    Args:
        hypotheses: one tokenized sentence per source.
        sources: the tokenized source sentences.
        references: one sequence per reference set (per reference file), each aligned with
            ``sources``; e.g. ``[refs]`` for a single reference, four sequences on MSCOCO.

    Returns:
        A dict with the keys of :data:`COLUMNS` (bleu1..bleu4, rouge1, rouge2, rougeL, sacrebleu,
        self_bleu, ibleu, length), every value x100.
    """
    if not hypotheses:
        raise ValueError("no hypotheses to score")
    if not references:
        raise ValueError("at least one reference set is needed")
    for name, lines in [("sources", sources)] + [
            (f"reference set {number}", reference_set)
            for number, reference_set in enumerate(references, 1)]:
        if len(lines) != len(hypotheses):
            raise ValueError(f"{len(hypotheses)} hypotheses but {len(lines)} {name}")

    hypothesis_tokens, source_tokens, reference_tokens = tokenized(hypotheses, sources, references)
    metrics = {name: corpus_bleu_x100(hypothesis_tokens, reference_tokens, weights)
               for name, weights in BLEU_WEIGHTS.items()}
    metrics.update(rouge_f_x100(
        [" ".join(tokens) for tokens in hypothesis_tokens],
        [[" ".join(tokens) for tokens in sentence_references]
         for sentence_references in reference_tokens]))
    metrics["sacrebleu"] = sacrebleu.corpus_bleu(
        [" ".join(tokens) for tokens in hypothesis_tokens],
        [[" ".join(sentence_references[set_index]) for sentence_references in reference_tokens]
         for set_index in range(len(references))]).score
    metrics["self_bleu"] = corpus_bleu_x100(hypothesis_tokens, source_tokens, BLEU_WEIGHTS["bleu4"])
    metrics["ibleu"] = ibleu(metrics["bleu4"], metrics["self_bleu"])
    metrics["length"] = length_percent(hypothesis_tokens, reference_tokens)
    return {key: metrics[key] for key, _ in COLUMNS}


def format_metrics(metrics: Mapping[str, float]) -> str:
    """One system's scores as a two-column text table (metric, value with 2 decimals)."""
    width = max(len(header) for _, header in COLUMNS)
    lines = [f"{'metric':<{width}}  {'value':>6}"]
    lines += [f"{header:<{width}}  {metrics[key]:6.2f}" for key, header in COLUMNS]
    return "\n".join(lines)


def format_table(rows: Iterable[Tuple[str, Mapping[str, float]]]) -> str:
    """Several systems' scores as a markdown table in the paper's column layout.

    ``rows`` holds (system name, metrics from :func:`score`) pairs, e.g. ``dict.items()``.
    """
    lines = ["| System | " + " | ".join(header for _, header in COLUMNS) + " |",
             "|---|" + "---:|" * len(COLUMNS)]
    for name, metrics in rows:
        lines.append(f"| {name} | " + " | ".join(
            "n/a" if metrics.get(key) is None else f"{metrics[key]:.2f}" for key, _ in COLUMNS) + " |")
    return "\n".join(lines)
