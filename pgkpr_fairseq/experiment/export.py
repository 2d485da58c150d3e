"""Each decoded row's hypotheses as a compressed file that `pgkpr-score` reads (`--hypotheses`), so a
table can be scored again without its models, and beside it the row's scores (`.scores.json`), so
that a re-scoring can be checked against the table; and, read back from those scores files, each
system's mean and spread over its training seeds."""
import glob
import gzip
import json
import os
import re
import statistics
from collections import defaultdict
from typing import Dict, List, Sequence

from ..scoring import COLUMNS, read_hypotheses, write_json
from ..textio import atomic_output
from .cache import read_json
from .messages import ExperimentError
from .settings import DecodingSettings

DEFAULT_LENPEN = DecodingSettings.lenpen
HYPOTHESIS_SUFFIX, SCORES_SUFFIX = ".hyp.gz", ".scores.json"


def file_stem(name: str, seed: int, split: str, lenpen: float = DEFAULT_LENPEN) -> str:
    """A row's name as the start of a file name: 'PGKPR w/o L_con' with seed 2 on test ->
    'pgkpr-without-l-con.seed2.test', and '...test.lenpen2' when decoded with lenpen 2 (so that a
    system's rows at two length penalties do not overwrite each other)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower().replace("w/o", "without")).strip("-")
    decoding = "" if lenpen == DEFAULT_LENPEN else f".lenpen{lenpen:g}"
    return f"{slug}.seed{seed}.{split}{decoding}"


def scores_path(hypothesis_path: str) -> str:
    """The scores file written beside a hypothesis file: 'x.seed1.test.hyp.gz' ->
    'x.seed1.test.scores.json'."""
    return hypothesis_path[: -len(HYPOTHESIS_SUFFIX)] + SCORES_SUFFIX


def trained_model(decode_folder: str) -> dict:
    """The model a row was decoded with: its cache folder's name (whose hash covers its settings and
    its training data) and its training data's fingerprint, so that rows exported in different
    sessions, or from a rebuilt work folder, show whether they were trained on the same data."""
    model_folder = os.path.dirname(os.path.normpath(decode_folder))
    settings = read_json(os.path.join(model_folder, "settings.json"))
    if settings is None:
        raise ExperimentError(f"{model_folder}: no settings.json, the record of the model that "
                              f"decoded {decode_folder}")
    return {"model": os.path.basename(model_folder), "training_data": settings["data"]}


def export_hypotheses(results: Dict[str, dict], directory: str, seed: int, split: str,
                      lenpen: float = DEFAULT_LENPEN) -> List[str]:
    """Write the hypotheses of every decoded row of `results` (their fairseq-generate output, in
    test-file order, one line per source) to `directory`, each with its scores as the table shows
    them (two decimals) and its model (`trained_model`) in `scores_path(file)`; returns the
    hypothesis files written. The copy floor has none: its hypotheses are the test sources."""
    os.makedirs(directory, exist_ok=True)
    written = []
    for name, result in results.items():
        if "generation" not in result:
            continue
        generate_output = os.path.join(result["folder"], "generate.out")
        path = os.path.join(directory, file_stem(name, seed, split, lenpen) + HYPOTHESIS_SUFFIX)
        text = "".join(line + "\n" for line in read_hypotheses(generate_output, "fairseq"))
        with atomic_output(path, "wb") as handle:
            # mtime 0: the same hypotheses give the same bytes, so a re-export changes nothing in git
            with gzip.GzipFile(fileobj=handle, mode="wb", mtime=0, filename="") as compressed:
                compressed.write(text.encode("utf-8"))
        write_json(scores_path(path),
                   {"system": name, "seed": seed, "split": split, "lenpen": lenpen,
                    "sentences": text.count("\n"), **trained_model(result["folder"]),
                    "metrics": {key: round(value, 2) for key, value in result["metrics"].items()}})
        written.append(path)
    return written


def read_scores(directory: str) -> List[dict]:
    """Every `.scores.json` that `export_hypotheses` wrote in `directory`, in file-name order."""
    records = []
    for path in sorted(glob.glob(os.path.join(directory, "*" + SCORES_SUFFIX))):
        with open(path, encoding="utf-8") as handle:
            records.append(json.load(handle))
    return records


def summarize_seeds(records: Sequence[dict]) -> List[dict]:
    """Group rows by (system, split, lenpen) and give each group's seeds and, per metric, the mean
    and the sample standard deviation over its seeds (None for a single seed), in the order the
    groups first appear."""
    groups: Dict[tuple, List[dict]] = defaultdict(list)
    for record in records:
        groups[record["system"], record["split"], record["lenpen"]].append(record)
    summary = []
    for (system, split, lenpen), rows in groups.items():
        seeds = sorted(row["seed"] for row in rows)
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"{system} ({split}, lenpen {lenpen:g}): seed listed twice in {seeds}")
        metrics = {}
        for key in rows[0]["metrics"]:
            values = [row["metrics"][key] for row in rows]
            spread = statistics.stdev(values) if len(values) > 1 else None
            metrics[key] = (statistics.fmean(values), spread)
        summary.append({"system": system, "split": split, "lenpen": lenpen, "seeds": seeds,
                        "metrics": metrics})
    return summary


def format_seed_summary(summary: Sequence[dict]) -> str:
    """The summary as a markdown table: each cell 'mean ± standard deviation' over the seeds."""
    lines = ["| System | lenpen | seeds | " + " | ".join(header for _, header in COLUMNS) + " |",
             "|---|---:|---|" + "---:|" * len(COLUMNS)]
    for group in summary:
        cells = []
        for key, _ in COLUMNS:
            mean, spread = group["metrics"][key]
            cells.append(f"{mean:.2f}" if spread is None else f"{mean:.2f} ± {spread:.2f}")
        seeds = ",".join(str(seed) for seed in group["seeds"])
        lines.append(f"| {group['system']} | {group['lenpen']:g} | {seeds} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines)
