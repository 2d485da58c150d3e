"""The test-set hypotheses committed under benchmarks/ (BENCHMARKS.md's final rows): pgkpr-score reads
each one, one line per source of the benchmark's test split, and re-scoring one row per dataset
against the benchmark's references gives the scores recorded beside it, so that anyone can check
the tables without training anything."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pgkpr_fairseq.experiment import scores_path
from pgkpr_fairseq.preprocessing import raw
from pgkpr_fairseq.preprocessing.tokenize import SentenceTokenizer
from pgkpr_fairseq.scoring import read_hypotheses

REPO = Path(__file__).resolve().parents[1]
# The benchmark data sits beside the repository (CI's layout); it is never copied into it.
SHARED_DATA = REPO.parent / "shared" / "data"
DATASETS = ("quora", "quora-100k", "mscoco")
# Each dataset's test text: the 100K-pair benchmark scores the same test_clean as the 20K one.
TEST_TEXT = {"quora": "quora_test_text", "quora-100k": "quora_test_text",
             "mscoco": "mscoco_test_text"}
# One row per dataset is scored again in full (the others' line counts are checked).
RESCORED = {"quora": "transformer.seed1.test.hyp.gz", "mscoco": "transformer.seed1.test.hyp.gz"}


def committed(dataset: str):
    return sorted((REPO / "benchmarks" / dataset).glob("*.hyp.gz"))


def recorded_scores(hypothesis_path: Path) -> dict:
    return json.loads(Path(scores_path(str(hypothesis_path))).read_text())


def require(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"the benchmark data is not at {path}")


@pytest.fixture(scope="module")
def quora_test_text(tmp_path_factory):
    """test_clean's sources and references as scripts/benchmark_quora.sh scored them: whitespace
    tokens, lowercased, cut to 17 words (`prepare.sh folder` with TOKENIZER=space MAX_LEN=17)."""
    quora = SHARED_DATA / "quora"
    require(quora / "test_clean.src")
    folder = tmp_path_factory.mktemp("quora-test")
    tokenize = SentenceTokenizer("space", 17)
    for side, name in (("src", "test.src"), ("tgt", "test.ref0")):
        lines = (quora / f"test_clean.{side}").read_text(encoding="utf-8").splitlines()
        (folder / name).write_text("".join(" ".join(tokenize(line)) + "\n" for line in lines),
                                   encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def mscoco_test_text(tmp_path_factory):
    """The test split of scripts/benchmark_mscoco.sh, made again from the COCO captions as it made
    it: the split by image (16,000 / 1,000 / 3,000 pairs, seed 666), moses tokens cut to 16 words;
    750 sources with 4 references each (test.ref0..3)."""
    captions = SHARED_DATA / "mscoco" / "captions_val2017.json"
    require(captions)
    folder = tmp_path_factory.mktemp("mscoco-test")
    raw.prepare_coco([str(captions)], str(folder), raw.split_sizes(16000, 1000, 3000), 666,
                     SentenceTokenizer("moses", 16))
    return folder


def benchmark_text(request, dataset: str) -> Path:
    return request.getfixturevalue(TEST_TEXT[dataset])


@pytest.mark.parametrize("dataset", DATASETS)
def test_final_rows_are_committed(dataset):
    assert committed(dataset), f"no benchmarks/{dataset}/*.hyp.gz"


@pytest.mark.parametrize("dataset, path", [(dataset, path) for dataset in DATASETS
                                           for path in committed(dataset)],
                         ids=lambda value: getattr(value, "name", value))
def test_each_file_has_one_hypothesis_per_test_source(dataset, path, request):
    sources = (benchmark_text(request, dataset) / "test.src").read_text(encoding="utf-8").splitlines()
    assert len(read_hypotheses(str(path), "auto")) == recorded_scores(path)["sentences"] == len(sources)


@pytest.mark.parametrize("dataset", sorted(RESCORED))
def test_rescoring_a_committed_file_gives_its_recorded_scores(dataset, request, tmp_path):
    # One full scoring of the test split (about half a minute for Quora's 13,134 sentences).
    path = REPO / "benchmarks" / dataset / RESCORED[dataset]
    folder = benchmark_text(request, dataset)
    references = sorted(folder.glob("test.ref*"))
    scores = tmp_path / "scores.json"
    subprocess.run([Path(sys.executable).parent / "pgkpr-score", "--hyp", path,
                    "--src", folder / "test.src", "--refs", *references, "--json", scores],
                   check=True, capture_output=True)
    rescored = json.loads(scores.read_text())["metrics"]
    recorded = recorded_scores(path)["metrics"]
    assert {key: round(value, 2) for key, value in rescored.items()} == recorded
