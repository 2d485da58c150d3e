"""The test-set hypotheses committed under benchmarks/ (BENCHMARKS.md's final rows): pgkpr-score reads
each one, one line per source of the benchmark's test file, and re-scoring one of them against the
benchmark's references gives the scores recorded beside it, so that anyone can check the tables
without training anything."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pgkpr_fairseq.preprocessing.tokenize import SentenceTokenizer
from pgkpr_fairseq.experiment import scores_path
from pgkpr_fairseq.scoring import read_hypotheses

REPO = Path(__file__).resolve().parents[1]
QUORA_HYPOTHESES = sorted((REPO / "benchmarks" / "quora").glob("*.hyp.gz"))
# The benchmark data sits beside the repository (CI's layout); it is never copied into it.
QUORA_DATA = REPO.parent / "shared" / "data" / "quora"
QUORA_MAX_LEN = 17  # the paper's cap, as preprocess/prepare.sh applied it to the test split


def recorded_scores(hypothesis_path: Path) -> dict:
    return json.loads(Path(scores_path(str(hypothesis_path))).read_text())


@pytest.fixture(scope="module")
def quora_test_text(tmp_path_factory):
    """test_clean's sources and references as the benchmark scored them: whitespace tokens,
    lowercased, cut to 17 words (`prepare.sh folder` with TOKENIZER=space MAX_LEN=17)."""
    if not (QUORA_DATA / "test_clean.src").exists():
        pytest.skip(f"the Quora benchmark data is not at {QUORA_DATA}")
    folder = tmp_path_factory.mktemp("quora-test")
    tokenize = SentenceTokenizer("space", QUORA_MAX_LEN)
    for side in ("src", "tgt"):
        lines = (QUORA_DATA / f"test_clean.{side}").read_text(encoding="utf-8").splitlines()
        (folder / f"test.{side}").write_text(
            "".join(" ".join(tokenize(line)) + "\n" for line in lines), encoding="utf-8")
    return folder


def test_quora_rows_are_committed():
    assert QUORA_HYPOTHESES, "no benchmarks/quora/*.hyp.gz"


@pytest.mark.parametrize("path", QUORA_HYPOTHESES, ids=lambda path: path.name)
def test_each_file_has_one_hypothesis_per_test_source(path, quora_test_text):
    test_sources = len((quora_test_text / "test.src").read_text(encoding="utf-8").splitlines())
    recorded = recorded_scores(path)
    assert len(read_hypotheses(str(path), "auto")) == recorded["sentences"] == test_sources


def test_rescoring_a_committed_file_gives_its_recorded_scores(quora_test_text, tmp_path):
    # The Transformer's seed-1 row: one full scoring of 13,134 sentences (about half a minute).
    path = REPO / "benchmarks" / "quora" / "transformer.seed1.test.hyp.gz"
    scores = tmp_path / "scores.json"
    subprocess.run([Path(sys.executable).parent / "pgkpr-score", "--hyp", path,
                    "--src", quora_test_text / "test.src", "--refs", quora_test_text / "test.tgt",
                    "--json", scores], check=True, capture_output=True)
    rescored = json.loads(scores.read_text())["metrics"]
    recorded = recorded_scores(path)["metrics"]
    assert {key: round(value, 2) for key, value in rescored.items()} == recorded
