"""Train, generate and score the systems of the paper's Tables 2-3 on one data-bin (`pgkpr-experiment`).

Given a folder prepared by `preprocess/prepare.sh` (WORK/text, WORK/data-bin), every system is trained
with the same data, vocabulary, budget and early stopping (validation generation loss, `nll_loss`),
decoded the same way on the same test split and scored with `pgkpr_fairseq.scoring`. The result is a
markdown table in the paper's layout, a table of speeds, and PGKPR's speeds as ratios to the
Transformer's.

Cache (default WORK/experiments): a trained model lives in `<model>-<hash>/` (fairseq's checkpoints and
log, `train.json` once training is complete), its decoding of the test split in
`<model>-<hash>/decode-<stream>-<hash>/` (`generate.out`, its log, `result.json` once scored), the copy
floor in `copy-source-<hash>/`. Each hash covers every setting that changes that output (for a model:
the content of the data-bin's dictionary, train and valid files, the architecture, loss weights,
optimizer, budget, seed; for a decoding: the model's hash, decoding settings, the test files). A part
whose final file exists is not recomputed; an interrupted training resumes from fairseq's
`checkpoint_last.pt`. Final files are written under a temporary name and renamed.
"""
import argparse
import fcntl
import hashlib
import json
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Dict, Iterable, List, Optional, Sequence

from .scoring import (COLUMNS, COPY_SOURCE_NAME, format_table, read_sources_and_references,
                      score_system, write_json)
from .textio import InputError, atomic_output

TRANSFORMER = "Transformer"
PGKPR = "PGKPR"
PGKPR_REF = "PGKPR-ref"
SOURCE_LANG, TARGET_LANG = "src", "tgt"
# The splits fairseq-train reads (its --train-subset and --valid-subset defaults).
TRAINING_SPLITS = ("train", "valid")
HASH_LENGTH = 10
USER_DIR = os.path.dirname(os.path.abspath(__file__))

# Speed targets of the issue: PGKPR's training step at most 2x the Transformer's time, generation
# at least 0.8x its speed.
MAX_STEP_TIME_RATIO = 2.0
MIN_GENERATION_SPEED_RATIO = 0.8

TRAIN_INNER = re.compile(r"^(\S+ \S+) \| INFO \| train_inner \| epoch (\d+):.*?\bwps=([\d.]+).*?"
                         r"\bwpb=([\d.]+).*?\bnum_updates=(\d+)")
VALID_LINE = re.compile(r"\| valid \| epoch (\d+) \| valid on '[^']*' subset \|.*?\| nll_loss ([\d.]+) "
                        r"\|.*?\| num_updates (\d+)")
LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \|")
RUN_HEADER = "== pgkpr-experiment: fairseq-train started at "
TRANSLATED = re.compile(r"Translated ([\d,]+) sentences \(([\d,]+) tokens\) in ([\d.]+)s "
                        r"\(([\d.]+) sentences/s")
EARLY_STOP = "early stop since valid performance hasn't improved"


class ExperimentError(Exception):
    """A problem the user can fix: a missing input, a failed fairseq run (the message names the log)."""


@dataclass(frozen=True)
class System:
    """One row of the table: how its model is trained and which keyword stream it decodes with."""

    name: str
    task: Optional[str]  # "translation", "pgkpr", or None for the copy floor
    rec_weight: float = 0.0
    con_weight: float = 0.0
    keyword_stream: str = "kwprob"


def make_systems(rec_weight: float, con_weight: float) -> Dict[str, System]:
    """The systems of the paper's Tables 2-3, in table order, with lambda1 / lambda2 of PGKPR."""
    systems = [
        System(TRANSFORMER, "translation"),
        System(PGKPR, "pgkpr", rec_weight, con_weight),
        System("PGKPR w/o L_con", "pgkpr", rec_weight, 0.0),
        System("PGKPR w/o L_rec", "pgkpr", 0.0, con_weight),
        System("PGKPR w/o L_con and L_rec", "pgkpr", 0.0, 0.0),
        System(PGKPR_REF, "pgkpr", rec_weight, con_weight, keyword_stream="kwprob_ref"),
        System(COPY_SOURCE_NAME, None),
    ]
    return {system.name: system for system in systems}


SYSTEM_NAMES = tuple(make_systems(1.0, 0.1))
QUICK_SYSTEMS = (TRANSFORMER, PGKPR, COPY_SOURCE_NAME)


def settings_hash(settings: dict) -> str:
    """A short, stable hash of a JSON-able settings dict."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_LENGTH]


def fingerprint_files(paths: Iterable[str]) -> str:
    """sha256 over the names and contents of the given files (the order does not matter; folders
    are left out)."""
    digest = hashlib.sha256()
    for path in sorted(path for path in paths if os.path.isfile(path)):
        digest.update(os.path.basename(path).encode("utf-8") + b"\0")
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def format_weight(value: float) -> str:
    """0.1 -> '0.1', 1.0 -> '1' (for folder names)."""
    return f"{value:g}"


@dataclass
class Inputs:
    """The prepared data: data-bin, text folder, and the files each part of the cache depends on."""

    data_bin: str
    text: str
    test_split: str

    def check(self, systems: Sequence[System]) -> None:
        """Stop with a message naming the first missing input."""
        needed = [os.path.join(self.data_bin, f"dict.{SOURCE_LANG}.txt"), self.source_path()]
        if any(system.task for system in systems):
            needed.append(self.split_prefix(self.test_split) + f".{SOURCE_LANG}.idx")
        for system in systems:
            if system.task == "pgkpr":
                needed.append(self.split_prefix(self.test_split)
                              + f".{SOURCE_LANG}.{system.keyword_stream}.idx")
        for path in needed:
            if not os.path.exists(path):
                hint = (" (preprocess/prepare.sh writes it: prepare the data again)"
                        if "kwprob_ref" in path else "")
                raise ExperimentError(f"missing input {path}{hint}")

    def split_prefix(self, split: str) -> str:
        return os.path.join(self.data_bin, f"{split}.{SOURCE_LANG}-{TARGET_LANG}")

    def source_path(self) -> str:
        return os.path.join(self.text, f"{self.test_split}.src")

    def reference_paths(self) -> List[str]:
        """test.ref0, test.ref1, ... when present (MSCOCO), else test.tgt."""
        references = []
        while os.path.exists(os.path.join(self.text, f"{self.test_split}.ref{len(references)}")):
            references.append(os.path.join(self.text, f"{self.test_split}.ref{len(references)}"))
        return references or [os.path.join(self.text, f"{self.test_split}.tgt")]

    def training_fingerprint(self) -> str:
        """The data-bin files training reads: the dictionaries and the splits fairseq-train reads
        (TRAINING_SPLITS), without the kwprob_ref streams (only PGKPR-ref's decoding reads them).
        Whatever split is decoded, the same data gives the same models."""
        split_file = re.compile(rf"^(\w+)\.{SOURCE_LANG}-{TARGET_LANG}\.")

        def read_by_training(name: str) -> bool:
            match = split_file.match(name)
            return (match is None or match.group(1) in TRAINING_SPLITS) and ".kwprob_ref." not in name

        names = [name for name in os.listdir(self.data_bin) if read_by_training(name)]
        return fingerprint_files(os.path.join(self.data_bin, name) for name in names)

    def test_fingerprint(self, keyword_stream: Optional[str]) -> str:
        """The test split's data-bin files (with the given keyword stream only) and text files."""
        prefix = os.path.basename(self.split_prefix(self.test_split))
        streams = {"kwprob", "kwprob_ref"} - {keyword_stream}
        names = [name for name in os.listdir(self.data_bin) if name.startswith(prefix + ".")
                 and not any(f".{stream}." in name for stream in streams)]
        paths = [os.path.join(self.data_bin, name) for name in names]
        return fingerprint_files(paths + [self.source_path()] + self.reference_paths())


def model_settings(system: System, args: argparse.Namespace, data_fingerprint: str) -> dict:
    """Everything that changes a trained model (not its name: two systems with equal settings
    share one model)."""
    settings = {
        "task": system.task, "data": data_fingerprint,
        "encoder_layers": args.encoder_layers, "decoder_layers": args.decoder_layers,
        "embed_dim": args.embed_dim, "ffn_dim": args.ffn_dim, "heads": args.heads,
        "dropout": args.dropout, "label_smoothing": args.label_smoothing,
        "lr": args.lr, "lr_scheduler": args.lr_scheduler, "warmup_updates": args.warmup_updates,
        "clip_norm": args.clip_norm, "batch_size": args.batch_size, "max_epoch": args.max_epoch,
        "max_update": args.max_update, "patience": args.patience, "seed": args.seed,
        "train_args": args.train_args,
    }
    if system.task == "pgkpr":
        settings.update(rec_weight=system.rec_weight, con_weight=system.con_weight,
                        con_temperature=args.con_temperature, con_similarity=args.con_similarity,
                        con_counterparts=args.con_counterparts,
                        inference_keywords=args.inference_keywords,
                        keyword_threshold=args.keyword_threshold)
    return settings


def model_folder_name(system: System, settings: dict) -> str:
    if system.task == "translation":
        return f"transformer-{settings_hash(settings)}"
    return (f"pgkpr-rec{format_weight(system.rec_weight)}-con{format_weight(system.con_weight)}"
            f"-{settings_hash(settings)}")


def architecture_options(args: argparse.Namespace) -> List[str]:
    """The same dimensions for every system, whatever the architecture's own defaults."""
    options = []
    for side in ("encoder", "decoder"):
        options += [f"--{side}-layers", str(getattr(args, f"{side}_layers")),
                    f"--{side}-embed-dim", str(args.embed_dim),
                    f"--{side}-ffn-embed-dim", str(args.ffn_dim),
                    f"--{side}-attention-heads", str(args.heads)]
    return options + ["--dropout", str(args.dropout), "--share-all-embeddings"]


def keyword_options(args: argparse.Namespace) -> List[str]:
    return ["--inference-keywords", args.inference_keywords,
            "--keyword-threshold", str(args.keyword_threshold)]


def device_options(args: argparse.Namespace) -> List[str]:
    return (["--cpu"] if args.cpu else []) + ["--num-workers", str(args.num_workers)]


def train_command(system: System, args: argparse.Namespace, data_bin: str, save_dir: str) -> List[str]:
    command = ["fairseq-train", data_bin, "-s", SOURCE_LANG, "-t", TARGET_LANG]
    if system.task == "translation":
        command += ["--task", "translation", "--arch", "transformer",
                    "--criterion", "label_smoothed_cross_entropy"]
    else:
        command += ["--user-dir", USER_DIR, "--task", "pgkpr", "--arch", "pgkpr_transformer",
                    "--criterion", "pgkpr", "--rec-weight", str(system.rec_weight),
                    "--con-weight", str(system.con_weight),
                    "--con-temperature", str(args.con_temperature),
                    "--con-similarity", args.con_similarity] + keyword_options(args)
        if args.con_counterparts == "detached":
            command.append("--con-detach-counterparts")
    command += architecture_options(args)
    command += ["--label-smoothing", str(args.label_smoothing),
                "--optimizer", "adam", "--lr", str(args.lr), "--lr-scheduler", args.lr_scheduler,
                "--warmup-updates", str(args.warmup_updates), "--clip-norm", str(args.clip_norm),
                "--batch-size", str(args.batch_size), "--max-epoch", str(args.max_epoch),
                "--max-update", str(args.max_update),
                "--best-checkpoint-metric", "nll_loss", "--patience", str(args.patience),
                "--seed", str(args.seed), "--save-dir", save_dir, "--no-epoch-checkpoints",
                "--log-format", "simple", "--log-interval", str(args.log_interval)]
    return command + device_options(args) + shlex.split(args.train_args)


def generate_command(system: System, args: argparse.Namespace, data_bin: str,
                     checkpoint: str) -> List[str]:
    command = ["fairseq-generate", data_bin, "-s", SOURCE_LANG, "-t", TARGET_LANG]
    if system.task == "translation":
        command += ["--task", "translation"]
    else:
        command += ["--user-dir", USER_DIR, "--task", "pgkpr",
                    "--keyword-prob-stream", system.keyword_stream] + keyword_options(args)
    # An absolute length cap (max-len-a 0): PGKPR's source is 2l+1 long, the Transformer's l.
    command += ["--path", checkpoint, "--gen-subset", args.test_split, "--beam", str(args.beam),
                "--lenpen", str(args.lenpen), "--max-len-a", "0", "--max-len-b", str(args.max_len),
                "--batch-size", str(args.gen_batch_size), "--nbest", "1"]
    if os.path.exists(os.path.join(data_bin, "spm.model")):
        command += ["--post-process", "sentencepiece"]
    return command + device_options(args) + shlex.split(args.generate_args)


def decode_settings(system: System, args: argparse.Namespace, model_name: str,
                    test_fingerprint: str) -> dict:
    return {"model": model_name, "keyword_stream": system.keyword_stream if system.task == "pgkpr" else None,
            "test": test_fingerprint, "split": args.test_split, "beam": args.beam, "lenpen": args.lenpen,
            "max_len": args.max_len, "gen_batch_size": args.gen_batch_size,
            "generate_args": args.generate_args}


def child_environment(args: argparse.Namespace) -> dict:
    environment = dict(os.environ)
    # fairseq's tools live next to this interpreter (the venv), whatever PATH says.
    environment["PATH"] = os.path.dirname(sys.executable) + os.pathsep + environment.get("PATH", "")
    # fairseq's log lines reach train.log as they are written, not lost in a buffer if the run is killed.
    environment["PYTHONUNBUFFERED"] = "1"
    if args.threads:
        environment.update(OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    return environment


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def tail(path: str, count: int = 15) -> str:
    with open(path, encoding="utf-8", errors="replace") as handle:
        return "".join(handle.readlines()[-count:])


def echo_training_progress(line: str, label: str) -> None:
    """Show fairseq's speed, validation and early-stopping lines in short."""
    inner, valid = TRAIN_INNER.search(line), VALID_LINE.search(line)
    if inner:
        progress(f"  [{label}] epoch {int(inner.group(2))}, update {inner.group(5)}: "
                 f"{float(inner.group(3)):.0f} target words/s")
    elif valid:
        progress(f"  [{label}] epoch {int(valid.group(1))}: valid nll_loss {valid.group(2)}")
    elif EARLY_STOP in line:
        progress(f"  [{label}] {line.split('|')[-1].strip()}")


def run_training(command: List[str], log_path: str, label: str, environment: dict) -> None:
    """Run fairseq-train, appending its output to the log (after a header that starts a new run
    segment) and echoing validation results as progress."""
    with open(log_path, "a", encoding="utf-8", buffering=1) as log:  # line-buffered too
        log.write(f"{RUN_HEADER}{datetime.now():%Y-%m-%d %H:%M:%S}\n$ {shlex.join(command)}\n")
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
        started = datetime.strptime(segment[:19], "%Y-%m-%d %H:%M:%S")
        times = [datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S")
                 for match in map(LOG_TIME.match, segment.splitlines()) if match]
        if times:
            wall_seconds += (times[-1] - started).total_seconds()
        intervals = [match for match in map(TRAIN_INNER.match, segment.splitlines()) if match][1:]
        words_per_second += [float(match.group(3)) for match in intervals]
        seconds_per_update += [float(match.group(4)) / float(match.group(3))
                               for match in intervals if float(match.group(3)) > 0]
    validations = [(float(loss), int(epoch), int(updates))
                   for epoch, loss, updates in VALID_LINE.findall(text)]
    best = min(validations, key=lambda validation: validation[0]) if validations else None
    return {
        "train_words_per_second": statistics.median(words_per_second) if words_per_second else None,
        "seconds_per_update": statistics.median(seconds_per_update) if seconds_per_update else None,
        "train_wall_seconds": wall_seconds,
        "best_valid_nll_loss": best[0] if best else None,
        "best_epoch": best[1] if best else None,
        "best_updates": best[2] if best else None,
        "epochs": max((validation[1] for validation in validations), default=0),
        "updates": max((validation[2] for validation in validations), default=0),
        "stopped_early": EARLY_STOP in text,
    }


def parse_generate_log(text: str, log_path: str) -> dict:
    match = TRANSLATED.search(text)
    if match is None:
        raise ExperimentError(f"no 'Translated N sentences' line in {log_path}")
    return {"sentences": int(match.group(1).replace(",", "")),
            "generation_seconds": float(match.group(3)),
            "sentences_per_second": float(match.group(4))}


class FolderLock:
    """An exclusive lock on a cache folder, so that two runs never train the same model at once."""

    def __init__(self, folder: str):
        self.path = os.path.join(folder, ".lock")

    def __enter__(self):
        self.handle = open(self.path, "w")
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.handle.close()
            raise ExperimentError(f"{os.path.dirname(self.path)} is in use by another "
                                  "pgkpr-experiment run") from None
        return self

    def __exit__(self, *exc_info):
        self.handle.close()


def read_json(path: str) -> Optional[dict]:
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


class Experiment:
    """The cache layout and the steps of every row (see the module docstring)."""

    def __init__(self, args: argparse.Namespace, inputs: Inputs):
        self.args = args
        self.inputs = inputs
        self.environment = child_environment(args)
        self._training_fingerprint = None
        self._test_fingerprints = {}

    def training_fingerprint(self) -> str:
        if self._training_fingerprint is None:
            self._training_fingerprint = self.inputs.training_fingerprint()
        return self._training_fingerprint

    def test_fingerprint(self, keyword_stream: Optional[str]) -> str:
        if keyword_stream not in self._test_fingerprints:
            self._test_fingerprints[keyword_stream] = self.inputs.test_fingerprint(keyword_stream)
        return self._test_fingerprints[keyword_stream]

    def model_folder(self, system: System) -> str:
        settings = model_settings(system, self.args, self.training_fingerprint())
        return os.path.join(self.args.cache, model_folder_name(system, settings))

    def row_folder(self, system: System) -> str:
        if system.task is None:
            scoring_inputs = {"test": self.test_fingerprint(None), "split": self.args.test_split}
            return os.path.join(self.args.cache, f"copy-source-{settings_hash(scoring_inputs)}")
        model_folder = self.model_folder(system)
        stream = system.keyword_stream if system.task == "pgkpr" else None
        settings = decode_settings(system, self.args, os.path.basename(model_folder),
                                   self.test_fingerprint(stream))
        return os.path.join(model_folder, f"decode-{stream or 'plain'}-{settings_hash(settings)}")

    def cached_row(self, system: System) -> Optional[dict]:
        return read_json(os.path.join(self.row_folder(system), "result.json"))

    def train(self, system: System) -> dict:
        """Train the system's model unless its train.json exists; returns the training record."""
        folder = self.model_folder(system)
        record_path = os.path.join(folder, "train.json")
        record = read_json(record_path)
        if record is not None:
            return record
        os.makedirs(folder, exist_ok=True)
        with FolderLock(folder):
            settings = model_settings(system, self.args, self.training_fingerprint())
            write_json(os.path.join(folder, "settings.json"), settings)
            save_dir = os.path.join(folder, "checkpoints")
            log_path = os.path.join(folder, "train.log")
            resuming = os.path.exists(os.path.join(save_dir, "checkpoint_last.pt"))
            progress(f"== {system.name}: {'resuming' if resuming else 'starting'} training in "
                     f"{folder} (log: {log_path})")
            command = train_command(system, self.args, self.inputs.data_bin, save_dir)
            run_training(command, log_path, system.name, self.environment)
            if not os.path.exists(os.path.join(save_dir, "checkpoint_best.pt")):
                raise ExperimentError(f"{system.name}: fairseq-train wrote no checkpoint_best.pt; "
                                      f"see {log_path}")
            with open(log_path, encoding="utf-8") as handle:
                record = parse_train_log(handle.read())
            write_json(record_path, record)
        return record

    def generate(self, system: System, folder: str) -> tuple:
        """fairseq-generate on the test split unless generate.out exists; returns (hypothesis
        file, generation record)."""
        output_path = os.path.join(folder, "generate.out")
        log_path = os.path.join(folder, "generate.log")
        if not os.path.exists(output_path):
            checkpoint = os.path.join(self.model_folder(system), "checkpoints", "checkpoint_best.pt")
            command = generate_command(system, self.args, self.inputs.data_bin, checkpoint)
            progress(f"== {system.name}: generating (log: {log_path})")
            started = time.monotonic()
            with atomic_output(output_path) as output:  # generate.out only once complete
                with open(log_path, "w", encoding="utf-8") as log:
                    log.write(f"$ {shlex.join(command)}\n")
                    log.flush()
                    returncode = subprocess.call(command, stdout=output, stderr=log,
                                                 env=self.environment)
                if returncode != 0:
                    raise ExperimentError(
                        f"{system.name}: fairseq-generate failed (exit {returncode}); last lines:\n"
                        f"{tail(log_path)}full log: {log_path}")
                with open(log_path, "a", encoding="utf-8") as log:
                    log.write(f"== wall seconds {time.monotonic() - started:.1f}\n")
        with open(log_path, encoding="utf-8") as handle:
            log_text = handle.read()
        record = parse_generate_log(log_text, log_path)
        wall = re.search(r"^== wall seconds ([\d.]+)$", log_text, flags=re.M)
        record["generation_wall_seconds"] = float(wall.group(1)) if wall else None
        return output_path, record

    def run_row(self, system: System) -> dict:
        """Train (or reuse), generate (or reuse) and score one system; cached in result.json."""
        folder = self.row_folder(system)
        cached = self.cached_row(system)
        if cached is not None and all(key in cached["metrics"] for key, _ in COLUMNS):
            progress(f"== {system.name}: cached in {folder}")
            return cached
        # A row scored before a metric was added is scored again from its cached generate.out.
        sources, references = read_sources_and_references(
            self.inputs.source_path(), self.inputs.reference_paths())
        result = {"system": system.name, "folder": folder}
        if system.task is None:
            hypothesis_path = None
        else:
            result["training"] = self.train(system)
            os.makedirs(folder, exist_ok=True)
            hypothesis_path, result["generation"] = self.generate(system, folder)
        progress(f"== {system.name}: scoring")
        result["metrics"] = score_system(hypothesis_path, "fairseq", sources,
                                         self.inputs.source_path(), references)
        os.makedirs(folder, exist_ok=True)
        write_json(os.path.join(folder, "result.json"), result)
        return result


def number(value: Optional[float], digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def format_speed_table(results: Dict[str, dict]) -> str:
    """Speeds, wall times and the best validation point of every trained row."""
    lines = ["| System | train words/s | s/update | train wall (min) | best epoch | best updates "
             "| stopped | gen sentences/s |",
             "|---|" + "---:|" * 6 + "---:|"]
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
            f"| {number(generation['sentences_per_second'], 2)} |")
    return "\n".join(lines)


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
        parts += ["", "Speeds (medians over fairseq's log intervals, the first left out):", "",
                  format_speed_table(results)]
    ratios = speed_ratios(results)
    if ratios is not None:
        parts += ["", format_ratios(ratios)]
    if pending:
        parts += ["", "Not computed yet: " + ", ".join(pending)]
    parts += ["", f"Made {datetime.now():%Y-%m-%d %H:%M} on {os.uname().nodename} "
                  f"({os.cpu_count()} CPUs) by: `{command}`"]
    return "\n".join(parts) + "\n"


def parse_systems(text: str) -> List[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in SYSTEM_NAMES]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown system {', '.join(map(repr, unknown))}; choose from {', '.join(SYSTEM_NAMES)}")
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pgkpr-experiment",
        description="Train, generate and score the paper's systems (Tables 2-3) on a folder prepared "
                    "by preprocess/prepare.sh, and print the table. Rows are cached: rerun to "
                    "resume or complete the table.")
    parser.add_argument("work", metavar="WORK",
                        help="folder written by preprocess/prepare.sh (WORK/text, WORK/data-bin)")
    where = parser.add_argument_group("inputs and outputs")
    where.add_argument("--data-bin", help="the data-bin [WORK/data-bin]")
    where.add_argument("--text", help="the text folder with the test sources and references "
                                      "[WORK/text]")
    where.add_argument("--cache", help="cache folder of trained models and rows [WORK/experiments]")
    where.add_argument("--output", help="also write the report (markdown) to this file "
                                        "[CACHE/results.md]")
    where.add_argument("--test-split", default="test",
                       help="split to generate and score [%(default)s]; references are "
                            "TEXT/SPLIT.ref0, .ref1, ... when present (MSCOCO), else TEXT/SPLIT.tgt")
    rows = parser.add_argument_group("rows")
    tier = rows.add_mutually_exclusive_group()
    tier.add_argument("--systems", type=parse_systems, default=list(SYSTEM_NAMES),
                      help="comma-separated rows to compute, from: " + ", ".join(SYSTEM_NAMES)
                           + " [all]")
    tier.add_argument("--quick", dest="systems", action="store_const", const=list(QUICK_SYSTEMS),
                      help="only " + ", ".join(QUICK_SYSTEMS))
    rows.add_argument("--table-only", action="store_true",
                      help="compute nothing: print the table of the rows already cached")
    model = parser.add_argument_group("model (the same for every system; the paper's sizes by default)")
    model.add_argument("--encoder-layers", type=int, default=6, help="encoder layers [%(default)s]")
    model.add_argument("--decoder-layers", type=int, default=6, help="decoder layers [%(default)s]")
    model.add_argument("--embed-dim", type=int, default=512, help="model width [%(default)s]")
    model.add_argument("--ffn-dim", type=int, default=2048, help="feed-forward width [%(default)s]")
    model.add_argument("--heads", type=int, default=8, help="attention heads [%(default)s]")
    model.add_argument("--dropout", type=float, default=0.1, help="dropout [%(default)s]")
    losses = parser.add_argument_group("losses")
    losses.add_argument("--rec-weight", type=float, default=1.0,
                        help="lambda1 of PGKPR (reconstruction) [%(default)s]")
    losses.add_argument("--con-weight", type=float, default=0.1,
                        help="lambda2 of PGKPR (contrastive): the paper's 0.1 on Quora, 1 on "
                             "MSCOCO [%(default)s]")
    losses.add_argument("--con-temperature", type=float, default=0.1,
                        help="tau of the contrastive loss [%(default)s]")
    losses.add_argument("--con-similarity", choices=("dot", "cosine"), default="dot",
                        help="similarity of the contrastive loss [%(default)s]")
    losses.add_argument("--con-counterparts", choices=("trained", "detached"), default="trained",
                        help="counterparts of the contrastive loss encoded with gradients (as eq. 3 "
                             "reads) or without (fairseq's --con-detach-counterparts) [%(default)s]")
    losses.add_argument("--label-smoothing", type=float, default=0.1,
                        help="label smoothing of the generation loss, every system [%(default)s]")
    losses.add_argument("--inference-keywords", choices=("sample", "threshold"), default="sample",
                        help="PGKPR's keyword selection on valid and test [%(default)s]")
    losses.add_argument("--keyword-threshold", type=float, default=0.5,
                        help="threshold of --inference-keywords threshold [%(default)s]")
    budget = parser.add_argument_group("optimization and budget (the same for every system)")
    budget.add_argument("--lr", type=float, default=1e-4, help="Adam learning rate [%(default)s]")
    budget.add_argument("--lr-scheduler", choices=("fixed", "inverse_sqrt"), default="fixed",
                        help="learning-rate schedule [%(default)s: constant, as the authors]")
    budget.add_argument("--warmup-updates", type=int, default=0,
                        help="linear warm-up updates [%(default)s]")
    budget.add_argument("--clip-norm", type=float, default=0.0,
                        help="gradient norm clipping, 0 for none [%(default)s]")
    budget.add_argument("--batch-size", type=int, default=128,
                        help="sentences per batch [%(default)s]")
    budget.add_argument("--max-epoch", type=int, default=35,
                        help="epochs at most [%(default)s: the authors' 35 on Quora]")
    budget.add_argument("--max-update", type=int, default=0,
                        help="updates at most, 0 for no limit [%(default)s]")
    budget.add_argument("--patience", type=int, default=5,
                        help="stop after this many validations without a better valid "
                             "nll_loss [%(default)s]")
    budget.add_argument("--seed", type=int, default=1, help="training seed [%(default)s]")
    budget.add_argument("--train-args", default="",
                        help="further fairseq-train options for every system, one string "
                             "(part of the cache key)")
    decoding = parser.add_argument_group("decoding (the same for every system)")
    decoding.add_argument("--beam", type=int, default=5, help="beam size [%(default)s]")
    decoding.add_argument("--lenpen", type=float, default=1.0, help="length penalty [%(default)s]")
    decoding.add_argument("--max-len", type=int, default=200,
                          help="generated tokens at most (absolute: fairseq's --max-len-b with "
                               "--max-len-a 0) [%(default)s]")
    decoding.add_argument("--gen-batch-size", type=int, default=128,
                          help="sentences per generation batch [%(default)s]")
    decoding.add_argument("--generate-args", default="",
                          help="further fairseq-generate options for every system, one string "
                               "(part of the cache key)")
    machine = parser.add_argument_group("machine (not part of the cache key)")
    machine.add_argument("--cpu", action=argparse.BooleanOptionalAction, default=None,
                         help="train and generate on the CPU [when no GPU is visible]")
    machine.add_argument("--threads", type=int,
                         help="OMP_NUM_THREADS / MKL_NUM_THREADS of the fairseq runs [torch's default]")
    machine.add_argument("--num-workers", type=int, default=0,
                         help="fairseq data-loading worker processes; 0 loads (and perturbs) in "
                              "the training process, so time per update includes it [%(default)s]")
    machine.add_argument("--log-interval", type=int, default=20,
                         help="updates per fairseq log line (the speeds are medians over them) "
                              "[%(default)s]")
    return parser


def resolve_device(args: argparse.Namespace) -> None:
    """--cpu unless given: the CPU when no GPU is visible."""
    if args.cpu is None:
        import torch  # here, not at start-up: the runner itself needs no torch
        args.cpu = not torch.cuda.is_available()


def resolve_paths(args: argparse.Namespace) -> Inputs:
    args.work = os.path.abspath(args.work)
    if not os.path.isdir(args.work):
        raise ExperimentError(f"no folder {args.work} (run preprocess/prepare.sh first)")
    args.cache = os.path.abspath(args.cache or os.path.join(args.work, "experiments"))
    args.output = args.output or os.path.join(args.cache, "results.md")
    return Inputs(os.path.abspath(args.data_bin or os.path.join(args.work, "data-bin")),
                  os.path.abspath(args.text or os.path.join(args.work, "text")), args.test_split)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Entry point of `pgkpr-experiment`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # A terminated run cleans up like an interrupted one: fairseq stopped, no temporary files left.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    args = build_parser().parse_args(argv)
    try:
        inputs = resolve_paths(args)
        resolve_device(args)
        systems = make_systems(args.rec_weight, args.con_weight)
        chosen = [systems[name] for name in SYSTEM_NAMES if name in args.systems]
        inputs.check([] if args.table_only else chosen)
        os.makedirs(args.cache, exist_ok=True)
        experiment = Experiment(args, inputs)
        results, failures = {}, []
        for position, system in enumerate(chosen, 1):
            if args.table_only:
                cached = experiment.cached_row(system)
                if cached is not None:
                    results[system.name] = cached
                continue
            progress(f"[{position}/{len(chosen)}] {system.name}")
            try:
                results[system.name] = experiment.run_row(system)
            except (ExperimentError, InputError) as error:
                failures.append(system.name)
                progress(f"pgkpr-experiment: {error}")
        sources, _ = read_sources_and_references(inputs.source_path(), inputs.reference_paths())
        pending = [system.name for system in chosen if system.name not in results]
        report = format_report(results, pending, len(sources), args.test_split,
                               shlex.join(["pgkpr-experiment"] + argv))
        print(report, end="")
        with atomic_output(args.output) as handle:
            handle.write(report)
        progress(f"report written to {args.output}")
        if failures:
            sys.exit(f"pgkpr-experiment: error: failed rows: {', '.join(failures)} (logs above)")
    except (ExperimentError, InputError) as error:
        sys.exit(f"pgkpr-experiment: error: {error}")


if __name__ == "__main__":
    main()
