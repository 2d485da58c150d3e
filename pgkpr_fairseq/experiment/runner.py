"""A row's steps through the cache: train (or reuse), generate (or reuse), score."""
import argparse
import os
import re
import shlex
import subprocess
import time
from typing import Optional

from ..scoring import COLUMNS, ScoringInputs, score, write_json
from ..textio import atomic_output
from .cache import (FolderLock, copy_settings, decode_settings, model_folder_name, model_settings,
                    read_json, settings_hash)
from .fairseq_runs import (child_environment, generate_command, parse_generate_log, parse_train_log,
                           run_training, tail, train_command, train_record_is_current)
from .inputs import Inputs
from .messages import ExperimentError, progress
from .systems import System


class Experiment:
    """The cache layout and the steps of every row (see the package docstring)."""

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
            settings = copy_settings(self.args, self.test_fingerprint(None))
            return os.path.join(self.args.cache, f"copy-source-{settings_hash(settings)}")
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
        log_path = os.path.join(folder, "train.log")
        record = read_json(record_path)
        if record is not None:
            # Written by an older runner: read its log again (kept as it is if the log is gone).
            if not train_record_is_current(record) and os.path.exists(log_path):
                with open(log_path, encoding="utf-8") as handle:
                    record = parse_train_log(handle.read())
                write_json(record_path, record)
            return record
        os.makedirs(folder, exist_ok=True)
        with FolderLock(folder):
            settings = model_settings(system, self.args, self.training_fingerprint())
            write_json(os.path.join(folder, "settings.json"), settings)
            save_dir = os.path.join(folder, "checkpoints")
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

    def scoring_inputs(self, seen_sources_path: Optional[str] = None) -> ScoringInputs:
        """The split's sources and references as the rows are scored (`--score-units`); without
        the sources that are lines of `seen_sources_path` if given."""
        return ScoringInputs(self.inputs.source_path(), self.inputs.reference_paths(),
                             group_sources=self.args.score_units == "sources",
                             seen_sources_path=seen_sources_path)

    def run_row(self, system: System) -> dict:
        """Train (or reuse), generate (or reuse) and score one system; cached in result.json."""
        folder = self.row_folder(system)
        cached = self.cached_row(system)
        if cached is not None and all(key in cached["metrics"] for key, _ in COLUMNS):
            progress(f"== {system.name}: cached in {folder}")
            if "training" in cached and not train_record_is_current(cached["training"]):
                cached["training"] = self.train(system)
                write_json(os.path.join(folder, "result.json"), cached)
            return cached
        # A row scored before a metric was added is scored again from its cached generate.out.
        scoring = self.scoring_inputs()
        result = {"system": system.name, "folder": folder}
        if system.task is None:
            hypothesis_path = None
        else:
            result["training"] = self.train(system)
            os.makedirs(folder, exist_ok=True)
            hypothesis_path, result["generation"] = self.generate(system, folder)
        progress(f"== {system.name}: scoring")
        result["metrics"] = score(scoring.hypotheses(hypothesis_path, "fairseq"), scoring.sources,
                                  scoring.references)
        os.makedirs(folder, exist_ok=True)
        write_json(os.path.join(folder, "result.json"), result)
        return result
