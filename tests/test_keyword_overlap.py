"""scripts/keyword_overlap.py: how often a stream's keywords are in the target, against other words."""
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_keyword_and_other_words_in_the_target_in_expectation_over_the_draws(tmp_path):
    (tmp_path / "train.src").write_text("a b\nc d e\n")
    (tmp_path / "train.tgt").write_text("a x\ny d c\n")
    # kwprob_ref: keyword mass 1 on "a" (kept) and 1 on "e" (not kept); kwprob: half on each word
    (tmp_path / "train.kwprob_ref").write_text("1 0\n0 0 1\n")
    (tmp_path / "train.kwprob").write_text("0.5 0.5\n0.5 0.5 0.5\n")
    done = subprocess.run([sys.executable, REPO / "scripts" / "keyword_overlap.py", "--text", tmp_path],
                          capture_output=True, text=True, check=True)
    rows = {line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[2:-1]]
            for line in done.stdout.splitlines()[2:]}
    # kwprob_ref: keywords a (in t), e (not): 50%; others b (not), c, d (in t): 2 of 3
    assert rows["kwprob_ref"] == ["50.0", "66.7", "0.400"]
    # kwprob: every word half a keyword, so both shares are the words' 3 of 5
    assert rows["kwprob"] == ["60.0", "60.0", "0.500"]


def test_a_probability_line_of_the_wrong_length_is_refused(tmp_path):
    (tmp_path / "train.src").write_text("a b\n")
    (tmp_path / "train.tgt").write_text("a\n")
    (tmp_path / "train.kwprob_ref").write_text("1\n")
    done = subprocess.run([sys.executable, REPO / "scripts" / "keyword_overlap.py", "--text", tmp_path,
                           "--streams", "kwprob_ref"], capture_output=True, text=True)
    assert done.returncode == 1
    assert (f"{tmp_path / 'train.kwprob_ref'}:1: 1 values for the 2 words of "
            f"{tmp_path / 'train.src'}:1") in done.stderr
