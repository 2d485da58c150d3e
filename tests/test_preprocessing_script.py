"""preprocess/prepare.sh end to end on made-up pairs, with a stand-in for stage one (the real
pgkpr-keywords is tested on its own): checks the chaining, the distinct-sentence scoring and RESUME."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fairseq.data import indexed_dataset

from pgkpr_fairseq.data.side_data import side_stream_prefix
from pgkpr_fairseq.preprocessing.record import read_record

REPO = Path(__file__).resolve().parent.parent
# Accepts the options prepare.sh passes and logs each call to $CALLS (if set); `train` makes the
# model folder (its file `done` last), `score` gives every word 0.25 (mode self) or 0.75 (mode ref),
# one line per line of --src, from a complete model folder only. KILL=train or KILL=score: that
# command dies (SIGKILL) half-way, as a killed run does.
FAKE_KEYWORDS = """#!{python}
import argparse, os, signal, sys
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
    os.makedirs(args.output, exist_ok=True)
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
    """A function that runs prepare.sh on PAIRS (in tmp_path/pairs) into tmp_path/work with the fake
    stage one and the given settings: (exit code, stderr)."""
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
    command = ["bash", str(REPO / "preprocess" / "prepare.sh"), "folder", str(pairs), str(tmp_path / "work")]

    def run(**more_settings):
        done = subprocess.run(command, env=dict(env, **settings, **more_settings), capture_output=True, text=True)
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

    code, log = prepare(RESUME="1")
    assert code == 0, log
    assert skipped(log) == ["text", "pos", "stage1", "distinct-self", "score-self", "spread-self",
                            "distinct-ref", "score-ref", "spread-ref"]


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
