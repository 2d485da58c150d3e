"""preprocess/prepare.sh end to end on made-up pairs, with a stand-in for stage one (the real
pgkpr-keywords is tested on its own): checks the chaining, the distinct-sentence scoring and RESUME."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fairseq.data import indexed_dataset

from pgkpr_fairseq.data.side_data import side_stream_prefix

REPO = Path(__file__).resolve().parent.parent
# Accepts the options prepare.sh passes; `train` makes the model folder, `score` gives every word
# 0.25 (mode self) or 0.75 (mode ref), one line per line of --src.
FAKE_KEYWORDS = """#!{python}
import argparse, os
parser = argparse.ArgumentParser()
parser.add_argument("command")
parser.add_argument("--src")
parser.add_argument("--output")
parser.add_argument("--mode", default="self")
args, _ = parser.parse_known_args()
if args.command == "train":
    os.makedirs(args.output)
else:
    value = "0.25" if args.mode == "self" else "0.75"
    with open(args.src) as src, open(args.output, "w") as out:
        out.writelines(" ".join(value for _ in line.split()) + "\\n" for line in src)
"""

PAIRS = {
    "train": [("How do I learn Python?", "What's the best way to learn Python?"),
              ("How can I lose weight?", "What should I do to lose weight?"),
              ("How do I learn Python?", "How can I study Python quickly?"),
              ("Is coffee bad for you?", "Is drinking coffee unhealthy?")],
    "val": [("How do I cook rice?", "What is the way to cook rice?")],
    "test_clean": [("Is Python hard?", "Is Python difficult to learn?")],
}


@pytest.mark.slow
def test_prepare_script_folder_to_data_bin(tmp_path):
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
    work = tmp_path / "work"
    env = dict(os.environ, PATH=f"{fake_bin}:{Path(sys.executable).parent}:{os.environ['PATH']}",
               FOLDER_SPLITS="train,valid=val,test=test_clean", LIMITS="train=3")
    command = ["bash", str(REPO / "preprocess" / "prepare.sh"), "folder", str(pairs), str(work)]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
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

    rerun = subprocess.run(command, env=dict(env, RESUME="1"), capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stderr.count("skipping, already done") == 5  # text, POS, stage one, both scorings
