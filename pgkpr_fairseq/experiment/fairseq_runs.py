"""The fairseq runs of a row: their commands and environment, running fairseq-train, and reading what
fairseq-train and fairseq-generate log.

fairseq-train runs with --log-format json: its progress records are read with json.loads. Only the
lines that have no JSON form are matched as text: fairseq-generate's speed, the early stop.
"""
import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
from datetime import datetime
from typing import Iterator, List, Optional, Tuple

from .inputs import SOURCE_LANG, TARGET_LANG, VALID_SUBSET
from .messages import ExperimentError, progress
from .settings import (GENERATE, PGKPR_TASK, TRAIN, TRANSLATION_TASK, DecodingSettings,
                       MachineSettings, TrainingSettings, fairseq_options, settings_from)
from .systems import System

# The plugin's folder, fairseq's --user-dir.
USER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# fairseq's log lines: "2026-01-01 10:00:05 | INFO | train_inner | {"epoch": 1, ...}".
LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \| \w+ \| (\S+) \| (.*)$")
# fairseq-train's progress records: per log interval, per epoch, per validation (named after the
# validation subset).
PROGRESS_TAGS = ("train_inner", "train", VALID_SUBSET)
# The same records in --log-format simple, which the runs cached before the runner used json have:
# "epoch 001:      2 / 4 loss=9, nll_loss=8, wps=50, ..." (train_inner) and
# "epoch 001 | valid on 'valid' subset | loss 7 | nll_loss 6.5 | ..." (the others).
SIMPLE_INTERVAL = re.compile(r"^epoch (\d+):\s+\d+ / \d+ (.*)$")
SIMPLE_SUMMARY = re.compile(r"^epoch (\d+) \| (.*)$")
SIMPLE_SUMMARY_STAT = re.compile(r"^(\w+) (\S+)$")
RUN_HEADER = "== pgkpr-experiment: fairseq-train started at "
LOG_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
TRANSLATED = re.compile(r"Translated ([\d,]+) sentences \(([\d,]+) tokens\) in ([\d.]+)s "
                        r"\(([\d.]+) sentences/s")
EARLY_STOP = "early stop since valid performance hasn't improved"
# What the pgkpr criterion logs of its auxiliary tasks (in percent), read at the best validation:
# whether keyword/POS reconstruction and the contrastive choice were learned, or trivial.
AUXILIARY_ACCURACIES = ("rec_accuracy", "rec_keyword_accuracy", "con_accuracy")


# How each task's model is trained, besides its settings.
TRAIN_MODEL_OPTIONS = {
    TRANSLATION_TASK: ["--arch", "transformer", "--criterion", "label_smoothed_cross_entropy"],
    PGKPR_TASK: ["--arch", "pgkpr_transformer", "--criterion", "pgkpr"],
}


def task_options(task: str, settings: TrainingSettings) -> List[str]:
    """The fairseq task of a row, for training and decoding alike. fairseq's translation task has
    no CPU bf16: the Transformer in bf16 runs the plugin's translation_bf16."""
    if task == PGKPR_TASK:
        return ["--user-dir", USER_DIR, "--task", "pgkpr"]
    if settings.precision == "bf16":
        return ["--user-dir", USER_DIR, "--task", "translation_bf16"]
    return ["--task", "translation"]


def machine_options(args: argparse.Namespace, tool: str, task: str) -> List[str]:
    return (["--cpu"] if args.cpu else []) + fairseq_options(settings_from(MachineSettings, args),
                                                             tool, task)


def train_command(system: System, args: argparse.Namespace, data_bin: str, save_dir: str) -> List[str]:
    settings = system.training_settings(settings_from(TrainingSettings, args))
    # Every setting is given, whatever the architecture's own defaults, so that the systems differ
    # only where their settings do.
    return (["fairseq-train", data_bin, "-s", SOURCE_LANG, "-t", TARGET_LANG]
            + task_options(system.task, settings) + TRAIN_MODEL_OPTIONS[system.task]
            + ["--share-all-embeddings", "--optimizer", "adam", "--best-checkpoint-metric", "nll_loss",
               "--save-dir", save_dir, "--no-epoch-checkpoints", "--log-format", "json"]
            + machine_options(args, TRAIN, system.task)
            + fairseq_options(settings, TRAIN, system.task))


def generate_command(system: System, args: argparse.Namespace, data_bin: str,
                     checkpoint: str) -> List[str]:
    settings = system.training_settings(settings_from(TrainingSettings, args))
    command = (["fairseq-generate", data_bin, "-s", SOURCE_LANG, "-t", TARGET_LANG]
               + task_options(system.task, settings)
               + fairseq_options(settings, GENERATE, system.task))
    if system.task == PGKPR_TASK:
        command += ["--keyword-prob-stream", system.keyword_stream]
    command += ["--path", checkpoint, "--gen-subset", args.test_split, "--max-len-a", "0",
                "--nbest", "1"]
    if os.path.exists(os.path.join(data_bin, "spm.model")):
        command += ["--post-process", "sentencepiece"]
    return (command + machine_options(args, GENERATE, system.task)
            + fairseq_options(settings_from(DecodingSettings, args), GENERATE, system.task))


def child_environment(args: argparse.Namespace) -> dict:
    environment = dict(os.environ)
    # fairseq's tools live next to this interpreter (the venv), whatever PATH says.
    environment["PATH"] = os.path.dirname(sys.executable) + os.pathsep + environment.get("PATH", "")
    # fairseq's log lines reach train.log as they are written, not lost in a buffer if the run is killed.
    environment["PYTHONUNBUFFERED"] = "1"
    if args.threads:
        environment.update(OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    return environment


def tail(path: str, count: int = 15) -> str:
    with open(path, encoding="utf-8", errors="replace") as handle:
        return "".join(handle.readlines()[-count:])


def simple_progress_record(tag: str, message: str) -> Optional[dict]:
    """A --log-format simple progress message as the record fairseq's json format writes for it."""
    if tag == "train_inner":
        match = SIMPLE_INTERVAL.match(message)
        if match is None:
            return None
        stats = [item.split("=", 1) for item in match.group(2).split(", ")]
    else:
        match = SIMPLE_SUMMARY.match(message)
        if match is None:
            return None
        # The json format names an epoch's and a validation's stats after the tag: valid_nll_loss.
        stats = [(f"{tag}_{stat.group(1)}", stat.group(2))
                 for stat in map(SIMPLE_SUMMARY_STAT.match, match.group(2).split(" | ")) if stat]
    return {"epoch": int(match.group(1)), **dict(stats)}


def progress_record(line: str) -> Optional[Tuple[str, dict]]:
    """(tag, record) of a fairseq-train progress line, the record as fairseq's --log-format json
    writes it, from a line in that format or in --log-format simple; None for other lines."""
    match = LOG_LINE.match(line.rstrip("\n"))
    if match is None or match.group(2) not in PROGRESS_TAGS:
        return None
    tag, message = match.group(2), match.group(3)
    if not message.startswith("{"):
        record = simple_progress_record(tag, message)
        return None if record is None else (tag, record)
    try:
        return tag, json.loads(message)
    except json.JSONDecodeError:  # the last line of a killed run
        return None


def progress_records(text: str) -> Iterator[Tuple[str, dict]]:
    return filter(None, map(progress_record, text.splitlines()))


def echo_training_progress(line: str, label: str) -> None:
    """Show fairseq's speed, validation and early-stopping lines in short."""
    tag, record = progress_record(line) or (None, None)
    if tag == "train_inner":
        progress(f"  [{label}] epoch {record['epoch']}, update {record['num_updates']}: "
                 f"{float(record['wps']):.0f} target words/s")
    elif tag == VALID_SUBSET:
        progress(f"  [{label}] epoch {record['epoch']}: valid nll_loss "
                 f"{record[VALID_SUBSET + '_nll_loss']}")
    elif EARLY_STOP in line:
        progress(f"  [{label}] {line.split('|')[-1].strip()}")


def run_training(command: List[str], log_path: str, label: str, environment: dict) -> None:
    """Run fairseq-train, appending its output to the log (after a header that starts a new run
    segment) and echoing validation results as progress."""
    with open(log_path, "a", encoding="utf-8", buffering=1) as log:  # line-buffered too
        log.write(f"{RUN_HEADER}{datetime.now():{LOG_TIME_FORMAT}}\n$ {shlex.join(command)}\n")
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, env=environment) as process:
            try:
                for line in process.stdout:
                    log.write(line)
                    echo_training_progress(line, label)
            except BaseException:  # interrupted: stop fairseq too; it resumes from its checkpoint
                process.kill()
                raise
        returncode = process.returncode
    if returncode != 0:
        raise ExperimentError(f"{label}: fairseq-train failed (exit {returncode}); last lines:\n"
                              f"{tail(log_path)}full log: {log_path}")


def parse_train_log(text: str) -> dict:
    """Speeds, wall time and best validation point of a (possibly resumed) fairseq-train log.

    Per run segment (one fairseq-train call), the first train_inner interval is left out of the
    speeds: it includes start-up. Wall time adds up the segments, first to last log line.
    """
    words_per_second, seconds_per_update, wall_seconds = [], [], 0.0
    for segment in text.split(RUN_HEADER)[1:]:
        started = datetime.strptime(segment[:19], LOG_TIME_FORMAT)
        times = [datetime.strptime(match.group(1), LOG_TIME_FORMAT)
                 for match in map(LOG_LINE.match, segment.splitlines()) if match]
        if times:
            wall_seconds += (times[-1] - started).total_seconds()
        intervals = [(float(record["wps"]), float(record["wpb"]))
                     for tag, record in progress_records(segment) if tag == "train_inner"][1:]
        words_per_second += [words for words, _ in intervals]
        seconds_per_update += [batch_words / words for words, batch_words in intervals if words > 0]
    validations = [record for tag, record in progress_records(text) if tag == VALID_SUBSET]
    best = (min(validations, key=lambda record: float(record[VALID_SUBSET + "_nll_loss"]))
            if validations else {})

    def best_value(key: str, kind=float):
        value = best.get(f"{VALID_SUBSET}_{key}")
        return None if value is None else kind(value)

    return {
        "train_words_per_second": statistics.median(words_per_second) if words_per_second else None,
        "seconds_per_update": statistics.median(seconds_per_update) if seconds_per_update else None,
        "train_wall_seconds": wall_seconds,
        "best_valid_nll_loss": best_value("nll_loss"),
        "best_epoch": best.get("epoch"),
        "best_updates": best_value("num_updates", int),
        **{f"best_valid_{key}": best_value(key) for key in AUXILIARY_ACCURACIES},
        "epochs": max((record["epoch"] for record in validations), default=0),
        "updates": max((int(record[VALID_SUBSET + "_num_updates"]) for record in validations),
                       default=0),
        "stopped_early": EARLY_STOP in text,
    }


def train_record_is_current(record: dict) -> bool:
    """Whether a cached train.json has every field parse_train_log now reads (older runners wrote
    fewer; their train.log is read again)."""
    return set(parse_train_log("")) <= set(record)


def parse_generate_log(text: str, log_path: str) -> dict:
    match = TRANSLATED.search(text)
    if match is None:
        raise ExperimentError(f"no 'Translated N sentences' line in {log_path}")
    return {"sentences": int(match.group(1).replace(",", "")),
            "generation_seconds": float(match.group(3)),
            "sentences_per_second": float(match.group(4))}
