"""preprocess/prepare.sh end to end on made-up pairs, with a stand-in for stage one (the real
pgkpr-keywords is tested on its own): checks the chaining, the distinct-sentence scoring and RESUME."""
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fairseq.data import indexed_dataset

from pgkpr_fairseq import experiment
from pgkpr_fairseq.data.side_data import side_stream_prefix
from pgkpr_fairseq.preprocessing.record import read_record, tokenization_record, write_record

REPO = Path(__file__).resolve().parent.parent
# Accepts the options prepare.sh passes and logs each call to $CALLS (if set); `train` makes the
# model folder (config.json first, its file `done` last), `score` gives every word 0.25 (mode self) or 0.75 (mode ref),
# one line per line of --src, from a complete model folder only. KILL=train or KILL=score: that
# command dies (SIGKILL) half-way, as a killed run does. HOLD=PATH: `train` waits for PATH to exist.
FAKE_KEYWORDS = """#!{python}
import argparse, os, signal, sys, time
if "CALLS" in os.environ:
    with open(os.environ["CALLS"], "a") as calls:
        calls.write(" ".join(sys.argv[1:]) + "\\n")
parser = argparse.ArgumentParser()
parser.add_argument("command")
parser.add_argument("--src")
parser.add_argument("--model")
parser.add_argument("--output")
parser.add_argument("--mode", default="self")
args, _ = parser.parse_known_args()
killed = os.environ.get("KILL") == args.command
if args.command == "train":
    while "HOLD" in os.environ and not os.path.exists(os.environ["HOLD"]):
        time.sleep(0.05)
    os.makedirs(args.output, exist_ok=True)
    open(os.path.join(args.output, "config.json"), "w").close()
    if killed:
        os.kill(os.getpid(), signal.SIGKILL)
    open(os.path.join(args.output, "done"), "w").close()
else:
    if not os.path.exists(os.path.join(args.model, "done")):
        sys.exit(args.model + ": incomplete model folder")
    value = "0.25" if args.mode == "self" else "0.75"
    with open(args.src) as src, open(args.output + ".partial", "w") as out:
        out.writelines(" ".join(value for _ in line.split()) + "\\n" for line in src)
    if killed:
        os.kill(os.getpid(), signal.SIGKILL)
    os.replace(args.output + ".partial", args.output)
"""

PAIRS = {
    "train": [("How do I learn Python?", "What's the best way to learn Python?"),
              ("How can I lose weight?", "What should I do to lose weight?"),
              ("How do I learn Python?", "How can I study Python quickly?"),
              ("Is coffee bad for you?", "Is drinking coffee unhealthy?")],
    "val": [("How do I cook rice?", "What is the way to cook rice?")],
    "test_clean": [("Is Python hard?", "Is Python difficult to learn?")],
}


def prepare_folder(tmp_path, **settings):
    """A function that runs prepare.sh on PAIRS (in tmp_path/pairs) into tmp_path/work (or the folder
    `work` it is given) with the fake stage one and the given settings: (exit code, stderr)."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    fake = fake_bin / "pgkpr-keywords"
    fake.write_text(FAKE_KEYWORDS.format(python=sys.executable))
    fake.chmod(0o755)
    pairs = tmp_path / "pairs"
    pairs.mkdir()
    for name, split_pairs in PAIRS.items():
        for side, column in (("src", 0), ("tgt", 1)):
            (pairs / f"{name}.{side}").write_text("".join(p[column] + "\n" for p in split_pairs))
    env = dict(os.environ, PATH=f"{fake_bin}:{Path(sys.executable).parent}:{os.environ['PATH']}",
               FOLDER_SPLITS="train,valid=val,test=test_clean", CALLS=str(tmp_path / "calls"))

    def run(work="work", background_log=None, **more_settings):
        """(exit code, stderr); with `background_log` (a path for its stderr), the running process."""
        command = ["bash", str(REPO / "preprocess" / "prepare.sh"), "folder", str(pairs), str(tmp_path / work)]
        run_env = {**env, **settings, **more_settings}
        if background_log:
            with open(background_log, "w") as log:
                return subprocess.Popen(command, env=run_env, stderr=log)
        done = subprocess.run(command, env=run_env, capture_output=True, text=True)
        return done.returncode, done.stderr

    return run


@pytest.mark.slow
def test_prepare_script_folder_to_data_bin(tmp_path):
    prepare = prepare_folder(tmp_path, LIMITS="train=3")
    work = tmp_path / "work"
    code, log = prepare()
    assert code == 0, log
    text = work / "text"
    assert (text / "train.src").read_text().splitlines() == [
        "how do i learn python ?", "how can i lose weight ?", "how do i learn python ?"]
    assert (text / "stage1.self.src").read_text().count("\n") == 4  # 2 distinct train + valid + test
    assert (text / "train.kwprob").read_text().splitlines()[0] == " ".join(["0.25"] * 6)
    dest = work / "data-bin"
    for split, count in (("train", 3), ("valid", 1), ("test", 1)):
        for stream, value in (("kwprob", 16384), ("kwprob_ref", 49151)):
            probs = indexed_dataset.MMapIndexedDataset(side_stream_prefix(str(dest), split, "src", "tgt", "src", stream))
            assert len(probs) == count and set(probs[0].tolist()) == {value}
    # what the Python API needs to prepare raw sentences as this data was
    record = read_record(str(dest))
    assert (record["tokenizer"], record["max_len"], record["keyword_model"]) == ("moses", 17, str(work / "stage1"))

    binarized, written = file_contents(dest), file_identities(dest)
    code, log = prepare(RESUME="1")
    assert code == 0, log
    assert skipped(log) == ALL_STEPS
    # the data-bin is left alone (as under a training reading it), unless it is gone
    assert file_identities(dest) == written
    shutil.rmtree(dest)
    code, log = prepare(RESUME="1")
    assert code == 0, log
    assert skipped(log) == ALL_STEPS[:-1] and file_contents(dest) == binarized
    # so is any step's output: the step runs again, and the steps after it find their inputs unchanged
    tags, written = (work / "text" / "valid.pos.src").read_text(), file_identities(dest)
    (work / "text" / "valid.pos.src").unlink()
    code, log = prepare(RESUME="1")
    assert code == 0, log
    assert f"== redoing pos: {work / 'text' / 'valid.pos.src'} is gone" in log, log
    assert skipped(log) == [step for step in ALL_STEPS if step != "pos"]
    assert (work / "text" / "valid.pos.src").read_text() == tags and file_identities(dest) == written


ALL_STEPS = ["text", "pos", "stage1", "distinct-self", "score-self", "spread-self",
             "distinct-ref", "score-ref", "spread-ref", "binarize"]


def skipped(log):
    return re.findall(r"^== skipping, already done: (\S+)$", log, flags=re.M)


def last_scoring(calls, mode="self"):
    """The command line of the last `pgkpr-keywords score --mode MODE`."""
    return [call for call in calls.read_text().splitlines()
            if call.startswith("score") and f"--mode {mode}" in call][-1]


@pytest.mark.slow
def test_prepare_script_redoes_failed_killed_and_changed_steps(tmp_path):
    prepare = prepare_folder(tmp_path, RESUME="1")
    pairs, text, calls = tmp_path / "pairs", tmp_path / "work" / "text", tmp_path / "calls"
    valid_sources = (pairs / "val.src").read_text()
    (pairs / "val.src").write_text("Is coffee \udcff bad?\n", errors="surrogateescape")  # invalid UTF-8
    code, log = prepare()
    assert code == 1 and f"{pairs / 'val.src'}:1: invalid UTF-8" in log, log
    assert not text.exists()  # train's files are not written either

    (pairs / "val.src").write_text(valid_sources)
    code, log = prepare(KILL="train")
    assert code != 0 and skipped(log) == [], log
    code, log = prepare(KILL="score")
    assert code != 0 and skipped(log) == ["text", "pos"], log  # stage one is trained again

    with open(pairs / "train.src", "a") as train_sources:
        train_sources.write("How do I learn Rust?\n")
    with open(pairs / "train.tgt", "a") as train_targets:
        train_targets.write("What is the best way to learn Rust?\n")
    code, log = prepare(KILL="score")
    assert code != 0 and skipped(log) == [], log  # every step depends on the training split
    assert not last_scoring(calls).endswith("--resume")  # other sentences were scored

    code, log = prepare()
    assert code == 0, log
    assert skipped(log) == ["text", "pos", "stage1", "distinct-self"], log
    assert last_scoring(calls).endswith("--resume")  # the killed scoring continues
    assert (text / "train.src").read_text().splitlines()[-1] == "how do i learn rust ?"
    assert (text / "train.kwprob").read_text().splitlines()[-1] == " ".join(["0.25"] * 6)


def wait_for(condition, what, timeout=60):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.slow
def test_prepare_script_runs_one_at_a_time_per_work_folder(tmp_path):
    """A second prepare.sh on the same folder waits for the first, then finds every step done."""
    release = tmp_path / "release"
    prepare = prepare_folder(tmp_path, RESUME="1", HOLD=str(release))
    calls, first_log, second_log = (tmp_path / name for name in ("calls", "first.log", "second.log"))
    runs = [prepare(background_log=first_log)]
    try:
        wait_for(lambda: calls.exists() and "train" in calls.read_text(), "the first run's stage one")
        runs.append(prepare(background_log=second_log))
        wait_for(lambda: "waiting for the other prepare.sh" in second_log.read_text(),
                 "the second to wait")
    finally:
        release.touch()  # which also lets the runs of a failed test end
        exit_codes = [run.wait(timeout=120) for run in runs]
    assert exit_codes == [0, 0], first_log.read_text() + second_log.read_text()
    assert skipped(second_log.read_text()) == ALL_STEPS
    assert [call.split()[0] for call in calls.read_text().splitlines()].count("train") == 1
    probs = indexed_dataset.MMapIndexedDataset(
        side_stream_prefix(str(tmp_path / "work" / "data-bin"), "train", "src", "tgt", "src", "kwprob"))
    assert len(probs) == len(PAIRS["train"])


def file_contents(folder):
    """Every file under `folder`, by path: its bytes."""
    return {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def file_identities(folder):
    """Every file under `folder`, by path: (inode, mtime), which a rewrite with the same bytes changes."""
    return {path: (path.stat().st_ino, path.stat().st_mtime_ns) for path in folder.rglob("*") if path.is_file()}


def model_and_decoding_folders(work):
    """The folder names pgkpr-experiment computes for WORK (its data-bin and text) under the default
    settings: {system: (model folder, decoding folder)}."""
    args = experiment.build_parser().parse_args([str(work)])
    runner = experiment.Experiment(args, experiment.resolve_paths(args))
    return {system.name: (os.path.basename(runner.model_folder(system)),
                          os.path.basename(runner.row_folder(system)))
            for system in experiment.make_systems().values() if system.task}


@pytest.mark.slow
def test_prepare_script_test_from_prepares_new_test_pairs_for_the_trained_models(tmp_path):
    prepare = prepare_folder(tmp_path, LIMITS="train=3")
    code, log = prepare()
    assert code == 0, log
    work, new, calls = tmp_path / "work", tmp_path / "new", tmp_path / "calls"
    long_pair = (" ".join(f"word{i}" for i in range(20)) + "?", "A short question?")
    new_pairs = PAIRS["test_clean"] + [("How do I learn Python?", "Where can I learn Python?"),
                                       long_pair, ("What is Rust?", "What's Rust?")]
    for side, column in (("src", 0), ("tgt", 1)):
        (tmp_path / "pairs" / f"all_test.{side}").write_text("".join(p[column] + "\n" for p in new_pairs))
    before, calls_before = file_contents(work), len(calls.read_text().splitlines())

    test_from = dict(TEST_FROM=str(work), FOLDER_SPLITS="test=all_test", LIMITS="", RESUME="1")
    code, log = prepare("new", **test_from)
    assert code == 0, log
    assert file_contents(work) == before  # nothing of the original folder is written to
    # stage one is not fine-tuned again: the original classifier scores the new pairs
    new_calls = calls.read_text().splitlines()[calls_before:]
    assert [call.split()[0] for call in new_calls] == ["score", "score"]
    assert all(f"--model {work / 'stage1'} " in call for call in new_calls)
    # the dictionaries, train and valid splits: the original's, byte for byte
    original_bin, new_bin = work / "data-bin", new / "data-bin"
    kept = sorted(path.name for path in original_bin.iterdir() if not path.name.startswith("test."))
    assert "dict.src.txt" in kept and "train.src-tgt.src.kwprob_ref.bin" in kept
    assert sorted(path.name for path in new_bin.iterdir() if not path.name.startswith("test.")) == kept
    for name in kept:
        assert (new_bin / name).read_bytes() == (original_bin / name).read_bytes(), name
    # the test split: every new pair, over-long ones cut to MAX_LEN (17), both keyword streams
    sources = (new / "text" / "test.src").read_text().splitlines()
    assert len(sources) == len(new_pairs) and sources[2].split() == [f"word{i}" for i in range(17)]
    assert (new / "text" / "test.pos.src").read_text().count("\n") == len(new_pairs)
    for stream, value in (("kwprob", 16384), ("kwprob_ref", 49151)):
        probs = indexed_dataset.MMapIndexedDataset(side_stream_prefix(str(new_bin), "test", "src", "tgt", "src", stream))
        assert len(probs) == len(new_pairs)
        assert all(set(probs[i].tolist()) == {value} for i in range(len(new_pairs)))
    # the first pair is the original's test pair, binarized as it was
    old_tokens, new_tokens = (indexed_dataset.MMapIndexedDataset(str(folder / "test.src-tgt.src"))
                              for folder in (original_bin, new_bin))
    assert new_tokens[0].tolist() == old_tokens[0].tolist() and len(new_tokens) == len(new_pairs)
    # pgkpr-experiment finds the models trained on the original, and decodes them anew
    original_folders, new_folders = model_and_decoding_folders(work), model_and_decoding_folders(new)
    for system, (model, decoding) in new_folders.items():
        assert model == original_folders[system][0], system
        assert decoding != original_folders[system][1], system
    assert "pgkpr-experiment" in log and f"--cache {work / 'experiments'}" in log

    code, log = prepare("new", **test_from)
    assert code == 0, log
    assert skipped(log) == [step for step in ALL_STEPS if step != "stage1"]


def test_prepare_script_test_from_refuses_what_the_trained_models_would_not_fit(tmp_path):
    prepare = prepare_folder(tmp_path)
    work = tmp_path / "work"
    code, log = prepare("new", TEST_FROM=str(work))
    assert code == 2 and log == f"prepare.sh: TEST_FROM: no {work / 'stage1' / 'config.json'} " \
                                "(TEST_FROM is a work folder of prepare.sh)\n"
    # what the checks look at of a prepared folder
    for path in (work / "stage1" / "config.json", work / "data-bin" / "dict.src.txt"):
        path.parent.mkdir(parents=True)
        path.write_text("{}\n")
    write_record(str(work / "text"), tokenization_record("moses", 17))
    code, log = prepare("new", TEST_FROM=str(work), FOLDER_SPLITS="valid=val,test=test_clean")
    assert code == 2 and "FOLDER_SPLITS has valid, a split the models of" in log
    code, log = prepare("work", TEST_FROM=str(work), FOLDER_SPLITS="test=test_clean")
    assert code == 2 and f"write to a new WORKDIR and DEST, not to {work}" in log
    code, log = prepare("new", TEST_FROM=str(work), FOLDER_SPLITS="test=test_clean", SPM_VOCAB="100")
    assert code == 2 and "leave out SPM_VOCAB" in log
    code, log = prepare("new", TEST_FROM=str(work), FOLDER_SPLITS="test=test_clean", TOKENIZER="space")
    assert code == 2 and log.splitlines()[-1] == (
        f"prepare.sh: TEST_FROM: {tmp_path / 'new' / 'text' / 'preparation.json'} (tokenizer, length cap) "
        f"differs from {work / 'text' / 'preparation.json'}: set TOKENIZER and MAX_LEN as when {work} "
        "was prepared")
    assert sorted(path.name for path in (work / "text").iterdir()) == ["preparation.json"]
