"""Score paraphrases the way the paraphrase-generation literature does (`pgkpr-score`).

One module per role: `metrics` (BLEU-1..4, ROUGE-1/2/L, sacreBLEU, self-BLEU, iBLEU, Len%, and their
table layout), `files` (hypothesis, source and reference files read and checked against each other, a
pair split grouped by source, JSON written), `bootstrap` (paired bootstrap resampling of two systems),
`cli` (the command line).
"""
from .bootstrap import Comparison, SystemStatistics, format_comparisons, paired_bootstrap
from .cli import build_parser, main
from .files import (ScoringInputs, group_repeated_sources, is_fairseq_generate_output,
                    parse_fairseq_generate, read_hypotheses, read_scored_lines,
                    read_sources_and_references, write_json)
from .metrics import (BLEU_WEIGHTS, COLUMNS, COPY_SOURCE_NAME, IBLEU_ALPHA, OfflineRouge,
                      corpus_bleu_x100, format_metrics, format_table, ibleu, length_percent,
                      rouge_f_x100, score, tokenize, tokenized)

# Today's names, for `from pgkpr_fairseq import scoring` (the experiment runner, the scripts, the tests).
__all__ = [
    "Comparison", "SystemStatistics", "format_comparisons", "paired_bootstrap",
    "build_parser", "main",
    "ScoringInputs", "group_repeated_sources", "is_fairseq_generate_output", "parse_fairseq_generate",
    "read_hypotheses", "read_scored_lines", "read_sources_and_references", "write_json",
    "BLEU_WEIGHTS", "COLUMNS", "COPY_SOURCE_NAME", "IBLEU_ALPHA", "OfflineRouge", "corpus_bleu_x100",
    "format_metrics", "format_table", "ibleu", "length_percent", "rouge_f_x100", "score", "tokenize",
    "tokenized",
]
