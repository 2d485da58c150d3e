"""The report: the scores table, the speeds table, PGKPR's speeds as ratios to the Transformer's."""
import os
from datetime import datetime
from typing import Dict, Optional, Sequence

from ..scoring import format_table
from .systems import PGKPR, TRANSFORMER

# Speed targets of the issue: PGKPR's training step at most 2x the Transformer's time, generation
# at least 0.8x its speed.
MAX_STEP_TIME_RATIO = 2.0
MIN_GENERATION_SPEED_RATIO = 0.8


def number(value: Optional[float], digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def format_speed_table(results: Dict[str, dict]) -> str:
    """Speeds, wall times and the best validation point of every trained row, with PGKPR's
    auxiliary accuracies there (n/a for a row without the loss)."""
    lines = ["| System | train words/s | s/update | train wall (min) | best epoch | best updates "
             "| stopped | val rec acc % (keywords) | val con acc % | gen sentences/s |",
             "|---|" + "---:|" * 9]
    for name, result in results.items():
        training, generation = result.get("training"), result.get("generation")
        if training is None:
            continue
        stopped = "early" if training["stopped_early"] else "budget"
        lines.append(
            f"| {name} | {number(training['train_words_per_second'])} "
            f"| {number(training['seconds_per_update'], 3)} "
            f"| {number(training['train_wall_seconds'] / 60)} | {training['best_epoch']} "
            f"| {training['best_updates']} | {stopped} "
            f"| {rec_accuracy(training)} "
            f"| {number(training.get('best_valid_con_accuracy'))} "
            f"| {number(generation['sentences_per_second'], 2)} |")
    return "\n".join(lines)


def rec_accuracy(training: dict) -> str:
    """Eq. 2's accuracy over all positions, and over the keywords' (logs before it had none)."""
    overall = number(training.get("best_valid_rec_accuracy"))
    keywords = training.get("best_valid_rec_keyword_accuracy")
    return overall if keywords is None else f"{overall} ({number(keywords)})"


def ratio(numerator: Optional[float], denominator: Optional[float]) -> Optional[float]:
    return numerator / denominator if numerator and denominator else None


def speed_ratios(results: Dict[str, dict]) -> Optional[dict]:
    """PGKPR's speeds relative to the Transformer's, when both rows exist."""
    if TRANSFORMER not in results or PGKPR not in results:
        return None
    baseline, pgkpr = results[TRANSFORMER], results[PGKPR]
    return {
        "train_words_per_second": ratio(pgkpr["training"]["train_words_per_second"],
                                        baseline["training"]["train_words_per_second"]),
        "step_time": ratio(pgkpr["training"]["seconds_per_update"],
                           baseline["training"]["seconds_per_update"]),
        "generation_speed": ratio(pgkpr["generation"]["sentences_per_second"],
                                  baseline["generation"]["sentences_per_second"]),
    }


def format_ratios(ratios: dict) -> str:
    """The ratios with their targets. They come from separate runs, so no verdict: a busy machine
    or other --threads in one run skews them; the benchmark scripts time the rows interleaved."""
    return "\n".join([
        "PGKPR / Transformer, from their own training and generation runs (same --batch-size, same "
        "beam; comparable only when both ran alone with the same --threads; "
        "scripts/benchmark_step.py and scripts/benchmark_generate.py time them interleaved):",
        f"- training throughput (target words/s): {number(ratios['train_words_per_second'], 2)}x",
        f"- time per update: {number(ratios['step_time'], 2)}x "
        f"(target <= {MAX_STEP_TIME_RATIO:g}x)",
        f"- generation speed (sentences/s): {number(ratios['generation_speed'], 2)}x "
        f"(target >= {MIN_GENERATION_SPEED_RATIO:g}x)",
    ])


def format_report(results: Dict[str, dict], pending: Sequence[str], sentences: int, split: str,
                  command: str) -> str:
    """The markdown report: scores, speeds, ratios, rows still missing, how it was made."""
    parts = [f"Scores on the {sentences} sentences of split {split!r} (x100):", "",
             format_table((name, result["metrics"]) for name, result in results.items())]
    if any("training" in result for result in results.values()):
        parts += ["", "Training and generation (speeds: medians over fairseq's log intervals, the "
                  "first left out; accuracies: the auxiliary tasks on valid at the best epoch):",
                  "",
                  format_speed_table(results)]
    ratios = speed_ratios(results)
    if ratios is not None:
        parts += ["", format_ratios(ratios)]
    if pending:
        parts += ["", "Not computed yet: " + ", ".join(pending)]
    parts += ["", f"Made {datetime.now():%Y-%m-%d %H:%M} on {os.uname().nodename} "
                  f"({os.cpu_count()} CPUs) by: `{command}`"]
    return "\n".join(parts) + "\n"
