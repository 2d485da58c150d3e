"""The rows' hypotheses exported by `pgkpr-experiment --hypotheses` and their scores files: names that
keep rows apart, files in test order that pgkpr-score reads, and the mean and spread over seeds that
scripts/summarize_seeds.py prints from them."""
import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from pgkpr_fairseq import experiment
from pgkpr_fairseq.scoring import COLUMNS, read_hypotheses

REPO = Path(__file__).resolve().parent.parent
METRIC_KEYS = [key for key, _ in COLUMNS]


@pytest.mark.parametrize("name, seed, lenpen, stem", [
    ("PGKPR w/o L_con", 2, 1.0, "pgkpr-without-l-con.seed2.test"),
    ("PGKPR", 1, 2.0, "pgkpr.seed1.test.lenpen2"),
    ("PGKPR-ref", 3, 1.5, "pgkpr-ref.seed3.test.lenpen1.5"),
])
def test_exported_file_names_tell_rows_seeds_and_length_penalties_apart(name, seed, lenpen, stem):
    assert experiment.file_stem(name, seed, "test", lenpen) == stem


def decoded_row(folder: Path, hypotheses, bleu4: float) -> dict:
    """A row as the runner returns it: its folder's generate.out (fairseq's batch order, not the
    test file's) and its metrics; the folder is in its model's, beside the model's settings.json."""
    folder.mkdir(parents=True)
    (folder.parent / "settings.json").write_text(f'{{"data": "data-of-{folder.parent.name}"}}')
    lines = [f"S-{i}\tsource {i}\nH-{i}\t-0.25\t{text}\n" for i, text in enumerate(hypotheses)]
    (folder / "generate.out").write_text("".join(reversed(lines)), encoding="utf-8")
    metrics = dict.fromkeys(METRIC_KEYS, 10.0)
    metrics["bleu4"] = bleu4
    return {"folder": str(folder), "generation": {}, "metrics": metrics}


def export_seeds(tmp_path: Path, bleu4_by_seed) -> Path:
    directory = tmp_path / "benchmarks"
    for seed, bleu4 in bleu4_by_seed.items():
        row = decoded_row(tmp_path / f"pgkpr{seed}" / "decode", ["a b", "", "c d e"], bleu4)
        results = {"PGKPR": row, "Copy source": {"folder": str(tmp_path), "metrics": {}}}
        written = experiment.export_hypotheses(results, str(directory), seed, "test", 2.0)
        assert [Path(path).name for path in written] == [f"pgkpr.seed{seed}.test.lenpen2.hyp.gz"]
    return directory


def test_exported_hypotheses_are_in_test_order_one_line_per_source(tmp_path):
    directory = export_seeds(tmp_path, {1: 20.004})
    path = directory / "pgkpr.seed1.test.lenpen2.hyp.gz"
    assert gzip.decompress(path.read_bytes()).decode() == "a b\n\nc d e\n"
    assert read_hypotheses(str(path)) == ["a b", "", "c d e"]
    (record,) = experiment.read_scores(str(directory))
    assert record["sentences"] == 3 and record["lenpen"] == 2.0
    assert record["metrics"]["bleu4"] == 20.0  # two decimals, as the table shows
    assert (record["model"], record["training_data"]) == ("pgkpr1", "data-of-pgkpr1")


def test_a_row_whose_model_left_no_settings_is_not_exported(tmp_path):
    row = decoded_row(tmp_path / "model" / "decode", ["a b"], 20.0)
    (tmp_path / "model" / "settings.json").unlink()
    with pytest.raises(experiment.ExperimentError, match="no settings.json"):
        experiment.export_hypotheses({"PGKPR": row}, str(tmp_path / "out"), 1, "test")


def test_seed_summary_gives_mean_and_sample_spread(tmp_path):
    directory = export_seeds(tmp_path, {3: 22.0, 1: 20.0, 2: 21.0})
    (group,) = experiment.summarize_seeds(experiment.read_scores(str(directory)))
    assert group["system"] == "PGKPR" and group["seeds"] == [1, 2, 3]
    assert group["metrics"]["bleu4"] == pytest.approx((21.0, 1.0))
    assert group["metrics"]["ibleu"] == pytest.approx((10.0, 0.0))
    table = experiment.format_seed_summary([group])
    assert "| PGKPR | 2 | 1,2,3 | 10.00 ± 0.00 | 10.00 ± 0.00 | 10.00 ± 0.00 | 21.00 ± 1.00 |" in table


def test_one_seed_has_no_spread_and_rows_stay_apart_by_lenpen():
    records = [{"system": "PGKPR", "split": "test", "lenpen": lenpen, "seed": 1,
                "metrics": {"bleu4": bleu4}} for lenpen, bleu4 in ((1.0, 21.1), (2.0, 21.4))]
    summary = experiment.summarize_seeds(records)
    assert [(group["lenpen"], group["metrics"]["bleu4"]) for group in summary] == [
        (1.0, (21.1, None)), (2.0, (21.4, None))]


def test_a_seed_counted_twice_is_refused():
    record = {"system": "PGKPR", "split": "test", "lenpen": 1.0, "seed": 1, "metrics": {"bleu4": 1.0}}
    with pytest.raises(ValueError, match=r"seed listed twice in \[1, 1\]"):
        experiment.summarize_seeds([record, dict(record)])


def test_summarize_seeds_script_prints_the_table(tmp_path):
    directory = export_seeds(tmp_path, {1: 20.0, 2: 22.0})
    script = [sys.executable, str(REPO / "scripts" / "summarize_seeds.py"), str(directory)]
    done = subprocess.run(script + ["--split", "test"], capture_output=True, text=True, check=True)
    assert "| PGKPR | 2 | 1,2 |" in done.stdout and "21.00 ± 1.41" in done.stdout
    refused = subprocess.run(script + ["--split", "valid"], capture_output=True, text=True)
    assert refused.returncode == 2 and "no *.scores.json" in refused.stderr
