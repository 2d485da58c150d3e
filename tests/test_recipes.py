"""The dataset recipes end to end on tiny made-up data (raw file -> prepare -> train -> generate -> table),
with a stand-in for stage one, and the experiment runner's cache; plus the runner's log parsing."""
import csv
import json
import os
import re
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pgkpr_fairseq import experiment
from pgkpr_fairseq.experiment.fairseq_runs import echo_training_progress
from pgkpr_fairseq.precision import recipe_precision
from pgkpr_fairseq.sample_corpus import make_pairs
from pgkpr_fairseq.scoring import format_table, score

from test_preprocessing_script import FAKE_KEYWORDS

REPO = Path(__file__).resolve().parent.parent
TINY = dict(LAYERS="1", EMBED_DIM="16", FFN_DIM="32", HEADS="2", BATCH_SIZE="8", MAX_UPDATE="3",
            LOG_INTERVAL="1", BEAM="2", GEN_MAX_LEN="12", GEN_BATCH_SIZE="4", LR="1e-3",
            TOKENIZER="space", NWORDS="500")


def recipe_environment(tmp_path, **settings):
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir(exist_ok=True)
    fake = fake_bin / "pgkpr-keywords"
    fake.write_text(FAKE_KEYWORDS.format(python=sys.executable))
    fake.chmod(0o755)
    path = f"{fake_bin}:{Path(sys.executable).parent}:{os.environ['PATH']}"
    return dict(os.environ, PATH=path, WORK=str(tmp_path / "work"), **TINY, **settings)


def run_recipe(script, environment, *options):
    done = subprocess.run(["bash", str(REPO / "scripts" / script), *options], env=environment,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def write_kaggle_tsv(path, count):
    """A Kaggle-style quora_duplicate_questions.tsv: duplicates and a few non-duplicates."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t")
        writer.writerow(["id", "qid1", "qid2", "question1", "question2", "is_duplicate"])
        for number, (first, second) in enumerate(make_pairs(count, seed=5)):
            writer.writerow([number, 2 * number, 2 * number + 1, first, second, int(number % 5 != 0)])


def table_rows(stdout):
    """The rows of the first table of the report (the scores), by system name."""
    scores_table = stdout.split("\n\n")[1]
    return {line.split("|")[1].strip(): line for line in scores_table.splitlines()[2:]}


def without_made_line(report):
    return [line for line in report.splitlines() if not line.startswith("Made ")]


def modification_times(folder):
    """Every file of the cache but the report, which each run rewrites."""
    return {path: path.stat().st_mtime_ns for path in folder.rglob("*")
            if path.is_file() and path.name not in (".lock", "results.md")}


@pytest.mark.slow
def test_quora_recipe_end_to_end_and_cached(tmp_path):
    tsv = tmp_path / "quora_duplicate_questions.tsv"
    write_kaggle_tsv(tsv, 80)
    environment = recipe_environment(tmp_path, QUORA_TSV=str(tsv), TRAIN_PAIRS="40", VALID_PAIRS="8",
                                     TEST_PAIRS="8")
    # The ablations differ from PGKPR only by their weights (test_model_folder_... below): left out
    # to keep this test short.
    systems = ("--systems", "Transformer,PGKPR,PGKPR-ref,Copy source")
    first = run_recipe("quora/run.sh", environment, *systems)
    rows = table_rows(first.stdout)
    assert list(rows)[:4] == [experiment.TRANSFORMER, experiment.PGKPR, experiment.PGKPR_REF,
                              "Copy source"]
    assert "| Copy source |" in rows["Copy source"] and "100.00" in rows["Copy source"]
    assert "Scores on the 8 sentences of split 'test'" in first.stdout
    assert "time per update:" in first.stdout and "generation speed" in first.stdout
    cache = tmp_path / "work" / "experiments"
    assert (cache / "results.md").read_text() == first.stdout
    # PGKPR-ref decodes PGKPR's model with the other keyword stream: one model, two decodings.
    pgkpr_models = [folder for folder in cache.glob("pgkpr-rec1-con0.1-*")]
    assert len(pgkpr_models) == 1 and len(list(pgkpr_models[0].glob("decode-kwprob*"))) == 2
    assert len(list(cache.glob("*/train.json"))) == 2  # Transformer and PGKPR
    # fairseq-train's json log gives every number of the training record.
    for record_path in cache.glob("*/train.json"):
        record = json.loads(record_path.read_text())
        assert (record["best_epoch"], record["best_updates"]) == (1, 3) and record["seconds_per_update"] > 0
        assert '| train_inner | {"epoch": 1' in (record_path.parent / "train.log").read_text()
        accuracies = [record[f"best_valid_{key}"] for key in experiment.AUXILIARY_ACCURACIES]
        if record_path.parent.name.startswith("pgkpr-"):
            assert all(0 <= accuracy <= 100 for accuracy in accuracies)
        else:
            assert accuracies == [None] * 3
    assert "val rec acc %" in first.stdout
    generate_log = next(pgkpr_models[0].glob("decode-kwprob_ref-*/generate.log")).read_text()
    assert "--keyword-prob-stream kwprob_ref" in generate_log

    before = modification_times(cache)
    second = run_recipe("quora/run.sh", environment, *systems)
    assert "starting training" not in second.stderr and "generating" not in second.stderr
    assert second.stderr.count("cached in") == 4
    assert modification_times(cache) == before
    assert table_rows(second.stdout) == rows
    # The cache alone reproduces the whole report, speeds and ratios included; only the line that
    # says when and how it was made differs.
    table_only = run_recipe("quora/run.sh", environment, *systems, "--table-only")
    assert without_made_line(table_only.stdout) == without_made_line(first.stdout)
    assert modification_times(cache) == before
    # The rows' hypotheses as committed files: pgkpr-score gives each row's scores from them alone.
    exported = run_recipe("quora/run.sh", environment, *systems, "--table-only",
                          "--hypotheses", str(tmp_path / "hypotheses"))
    hypotheses = tmp_path / "hypotheses"
    files = sorted(path.name for path in hypotheses.glob("*.hyp.gz"))
    assert files == ["pgkpr-ref.seed1.test.hyp.gz", "pgkpr.seed1.test.hyp.gz",
                     "transformer.seed1.test.hyp.gz"]
    assert (sorted(path.name for path in hypotheses.glob("*.scores.json"))
            == [experiment.scores_path(name) for name in files])
    assert table_rows(exported.stdout) == rows
    text = tmp_path / "work" / "text"
    for name, file_name in [(experiment.TRANSFORMER, files[2]), (experiment.PGKPR_REF, files[0])]:
        scored = subprocess.run(
            [Path(sys.executable).parent / "pgkpr-score", "table", "--row",
             f"{name}={hypotheses / file_name}", "--src", text / "test.src",
             "--refs", text / "test.tgt"], capture_output=True, text=True, check=True)
        assert table_rows("\n\n" + scored.stdout)[name] == rows[name]
        recorded = json.loads(Path(experiment.scores_path(str(hypotheses / file_name))).read_text())
        test_sources = len((text / "test.src").read_text().splitlines())
        assert (recorded["system"], recorded["sentences"]) == (name, test_sources)
        assert table_rows("\n\n" + format_table([(name, recorded["metrics"])]))[name] == rows[name]
    assert modification_times(cache) == before
    # scripts/compare_variants.py on the same cache: the rows' scores, a variant not trained yet
    # pending, and the bootstrap against PGKPR.
    runner_command = shlex.split(re.search(r"^Made .* by: `(.*)`$", first.stdout, re.M).group(1))
    compared = subprocess.run(
        [sys.executable, REPO / "scripts" / "compare_variants.py", "--rows", "Transformer,PGKPR",
         "--variant", "tau 0.2=--con-temperature 0.2", "--samples", "50", "--",
         *runner_command[1:]], capture_output=True, text=True, check=True, env=environment)
    variant_rows = {line.split("|")[1].strip(): line.split("|")[2:-1]
                    for line in compared.stdout.splitlines() if line.startswith("| ")}
    for name in (experiment.TRANSFORMER, experiment.PGKPR):
        assert variant_rows[name][0].strip() == rows[name].split("|")[5].strip()  # B-4
    assert "[" in variant_rows[experiment.TRANSFORMER][6] and variant_rows[experiment.PGKPR][6].strip() == ""
    assert variant_rows["tau 0.2"][0].strip() == "pending"
    # ... and with --unseen-in, on the test sources that are not lines of a file only: the scores
    # pgkpr-score gives the exported hypotheses on the same sources.
    test_lines = (text / "test.src").read_text().splitlines()
    seen = tmp_path / "seen.src"
    seen.write_text("\n".join(test_lines[:3]) + "\n")
    unseen_count = sum(source not in test_lines[:3] for source in test_lines)
    compared_unseen = subprocess.run(
        [sys.executable, REPO / "scripts" / "compare_variants.py", "--rows", "Transformer,PGKPR",
         "--unseen-in", seen, "--samples", "50", "--", *runner_command[1:]],
        capture_output=True, text=True, check=True, env=environment)
    assert (f"Rows on the {unseen_count} sentences of split 'test' whose source"
            in compared_unseen.stdout)
    unseen_rows = {line.split("|")[1].strip(): line.split("|")[2:6]
                   for line in compared_unseen.stdout.splitlines() if line.startswith("| ")}
    for name, file_name in [(experiment.TRANSFORMER, files[2]), (experiment.PGKPR, files[1])]:
        scored = subprocess.run(
            [Path(sys.executable).parent / "pgkpr-score", "table", "--row",
             f"{name}={hypotheses / file_name}", "--unseen-in", seen, "--src", text / "test.src",
             "--refs", text / "test.tgt"], capture_output=True, text=True, check=True)
        cells = table_rows("\n\n" + scored.stdout)[name].split("|")
        # B-4, iBLEU, self-BLEU, Len%: columns 5, 11, 10, 12 of pgkpr-score's table
        assert [cell.strip() for cell in unseen_rows[name]] == [cells[index].strip()
                                                                for index in (5, 11, 10, 12)]
    missing = tmp_path / "missing.src"
    refused = subprocess.run(
        [sys.executable, REPO / "scripts" / "compare_variants.py", "--rows", "Transformer",
         "--against", "Transformer", "--unseen-in", missing, "--", *runner_command[1:]],
        capture_output=True, text=True, env=environment)
    assert (refused.returncode, refused.stderr) == (
        1, f"compare_variants.py: error: {missing}: no such file\n")
    assert modification_times(cache) == before

    # A row scored before a metric existed is scored again from its generate.out, nothing rerun.
    transformer_result = next(cache.glob("transformer-*/decode-plain-*/result.json"))
    result = json.loads(transformer_result.read_text())
    del result["metrics"]["length"]
    transformer_result.write_text(json.dumps(result))
    # A model and row cached before the auxiliary accuracies were read: read again from train.log.
    pgkpr_record_path = pgkpr_models[0] / "train.json"
    pgkpr_record = json.loads(pgkpr_record_path.read_text())
    old_record = {key: value for key, value in pgkpr_record.items()
                  if key != "best_valid_rec_accuracy"}
    pgkpr_record_path.write_text(json.dumps(old_record))
    pgkpr_result_path = next(pgkpr_models[0].glob("decode-kwprob-*/result.json"))
    pgkpr_result = json.loads(pgkpr_result_path.read_text())
    pgkpr_result_path.write_text(json.dumps({**pgkpr_result, "training": old_record}))
    # ... and one whose train.log is gone: its record is kept as it is, nothing is trained again.
    transformer_record_path = next(cache.glob("transformer-*/train.json"))
    transformer_record = json.loads(transformer_record_path.read_text())
    transformer_old_record = {key: value for key, value in transformer_record.items()
                              if key != "best_valid_rec_accuracy"}
    transformer_record_path.write_text(json.dumps(transformer_old_record))
    (transformer_record_path.parent / "train.log").unlink()
    third = run_recipe("quora/run.sh", environment, *systems)
    assert "starting training" not in third.stderr and "generating" not in third.stderr
    assert third.stderr.count("cached in") == 3 and third.stderr.count("scoring") == 1
    assert "length" in json.loads(transformer_result.read_text())["metrics"]
    assert table_rows(third.stdout) == rows
    assert json.loads(pgkpr_record_path.read_text()) == pgkpr_record
    assert json.loads(pgkpr_result_path.read_text())["training"] == pgkpr_record
    assert json.loads(transformer_record_path.read_text()) == transformer_old_record

    # compare_variants.py --run computes the pending variant with its venv's pgkpr-experiment (the
    # venv not on PATH), leaves the cached rows alone, and finds it cached the next time.
    before = modification_times(cache)
    venv_bin = str(Path(sys.executable).parent)
    outside_venv = dict(environment, PATH=os.pathsep.join(
        folder for folder in environment["PATH"].split(os.pathsep) if folder != venv_bin))
    variant_command = [sys.executable, REPO / "scripts" / "compare_variants.py", "--run",
                       "--rows", "PGKPR", "--variant", "tau 0.2=--con-temperature 0.2",
                       "--samples", "50", "--", *runner_command[1:]]
    ran = subprocess.run(variant_command, capture_output=True, text=True, check=True, env=outside_venv)
    assert "== tau 0.2: pgkpr-experiment" in ran.stderr and "not computed here" not in ran.stderr
    computed = {line.split("|")[1].strip(): line.split("|")[2].strip()
                for line in ran.stdout.splitlines() if line.startswith("| ")}
    assert computed["PGKPR"] == rows["PGKPR"].split("|")[5].strip()
    assert float(computed["tau 0.2"]) >= 0  # B-4, no longer pending
    reports = list((cache / "variants").glob("*.md"))
    assert len(reports) == 1 and "--con-temperature 0.2" in reports[0].read_text()
    assert all(modification_times(cache)[path] == time for path, time in before.items())
    again = subprocess.run(variant_command, capture_output=True, text=True, check=True, env=outside_venv)
    assert "== tau 0.2" not in again.stderr and again.stdout == ran.stdout


def write_coco_json(path, images):
    pairs = make_pairs(images * 3, seed=9)
    annotations = [{"image_id": image, "id": 10 * image + k,
                    "caption": pairs[3 * image + k // 2][k % 2].capitalize()}
                   for image in range(images) for k in range(5)]
    path.write_text(json.dumps({"annotations": annotations}))


@pytest.mark.slow
def test_mscoco_recipe_scores_against_four_references(tmp_path):
    captions = tmp_path / "captions_train2017.json"
    write_coco_json(captions, 14)
    environment = recipe_environment(tmp_path, COCO_CAPTIONS=str(captions), TRAIN_PAIRS="32",
                                     VALID_PAIRS="8", TEST_PAIRS="8")
    # Training is the Quora test's: here the MSCOCO inputs, the four references and lambda2 = 1.
    done = run_recipe("mscoco/run.sh", environment, "--systems", "Copy source")
    text = tmp_path / "work" / "text"
    assert len((text / "test.src").read_text().splitlines()) == 2  # one source per test image
    copy_row = table_rows(done.stdout)["Copy source"]
    assert "100.00" in copy_row  # self-BLEU
    # Four references: every caption of the image but the source; scored against all of them.
    references = [(text / f"test.ref{k}").read_text().splitlines() for k in range(4)]
    sources = (text / "test.src").read_text().splitlines()

    def copy_source_row(reference_sets):
        return format_table([("Copy source", score(sources, sources, reference_sets))]).splitlines()[-1]

    assert copy_row == copy_source_row(references) != copy_source_row(references[:1])
    assert "--con-weight 1 " in done.stdout  # the command line in the report

    # The valid split holds pairs, each source once per other caption: --score-units sources
    # scores each source once against its four, as the test split is (its own cached row).
    valid = run_recipe("mscoco/run.sh", environment, "--systems", "Copy source",
                       "--test-split", "valid", "--score-units", "sources")
    valid_pairs = [(text / f"valid.{side}").read_text().splitlines() for side in ("src", "tgt")]
    sources = valid_pairs[0][::4]
    assert len(set(valid_pairs[0])) == len(sources) == 2
    assert table_rows(valid.stdout)["Copy source"] == copy_source_row(
        [valid_pairs[1][k::4] for k in range(4)])

    # A lost reference file is an output of the text step like any other: it is made again, and
    # the steps after it, whose inputs come out the same, stay done.
    (text / "test.ref2").unlink()
    again = run_recipe("mscoco/run.sh", environment, "--systems", "Copy source")
    assert f"== redoing text: {text / 'test.ref2'} is gone" in again.stderr
    assert "== skipping, already done: binarize" in again.stderr
    assert (text / "test.ref2").read_text().splitlines() == references[2]


def test_recipe_without_input_prints_usage(tmp_path):
    environment = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    environment.pop("QUORA_TSV", None)
    environment.pop("PAIRS_DIR", None)
    done = subprocess.run(["bash", str(REPO / "scripts" / "quora" / "run.sh")], env=environment,
                          capture_output=True, text=True)
    assert done.returncode == 2 and "QUORA_TSV=" in done.stderr
    done = subprocess.run(["bash", str(REPO / "scripts" / "quora" / "run.sh")],
                          env=dict(environment, QUORA_TSV=str(tmp_path / "missing.tsv")),
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().endswith(f"QUORA_TSV: no such file or folder: {tmp_path}/missing.tsv")


def recipe_precision_in_bash(**settings):
    environment = {key: value for key, value in os.environ.items() if key != "PRECISION"}
    environment.update(PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}", **settings)
    done = subprocess.run(["bash", "-c", f"source {REPO}/scripts/experiment_env.sh; "
                           "experiment_options; echo \"$PRECISION|${EXPERIMENT_ARGS[*]}\""],
                          env=environment, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().split("|"), done.stderr


def test_recipes_train_in_bf16_where_the_cpu_has_it():
    """The recipes' precision, unless PRECISION is set: bf16 on a CPU with native bf16, else
    float32 with a one-line notice of why; given to pgkpr-experiment as --precision."""
    expected, why = recipe_precision()
    (precision, arguments), stderr = recipe_precision_in_bash()
    assert precision == expected and f"--precision {expected}" in arguments
    assert (why or "") in stderr and bool(stderr.strip()) == (why is not None)
    (precision, arguments), stderr = recipe_precision_in_bash(PRECISION="float32")
    assert precision == "float32" and "--precision float32" in arguments and not stderr


# One training log, killed after epoch 1 and resumed, as fairseq-train writes it with --log-format
# simple (runs cached before the runner used json) and json: two run segments each.
SIMPLE_LOG = ["""== pgkpr-experiment: fairseq-train started at 2026-01-01 10:00:00
2026-01-01 10:00:05 | INFO | train_inner | epoch 001:      2 / 4 loss=9, nll_loss=8, wps=50, ups=0.5, wpb=100, bsz=8, num_updates=2, lr=0.001
2026-01-01 10:00:07 | INFO | train_inner | epoch 001:      4 / 4 loss=8, nll_loss=7, wps=200, ups=2, wpb=100, bsz=8, num_updates=4, lr=0.001
2026-01-01 10:00:08 | INFO | valid | epoch 001 | valid on 'valid' subset | loss 7 | nll_loss 6.5 | ppl 90 | wps 0 | wpb 90 | bsz 8 | num_updates 4
2026-01-01 10:00:08 | INFO | train | epoch 001 | loss 8.5 | nll_loss 7.5 | ppl 181 | wps 120 | ups 1.2 | wpb 100 | bsz 8 | num_updates 4 | lr 0.001 | wall 8
2026-01-01 10:00:10 | INFO | train_inner | epoch 002:      2 / 4 loss=8, nll_loss=7, wps=100, ups=1, wpb=100, bsz=8, num_updates=6, lr=0.001
""", """== pgkpr-experiment: fairseq-train started at 2026-01-01 11:00:00
2026-01-01 11:00:04 | INFO | train_inner | epoch 002:      2 / 4 loss=8, nll_loss=7, wps=10, ups=0.1, wpb=100, bsz=8, num_updates=6, lr=0.001
2026-01-01 11:00:06 | INFO | train_inner | epoch 002:      4 / 4 loss=7, nll_loss=6, wps=400, ups=4, wpb=100, bsz=8, num_updates=8, lr=0.001
2026-01-01 11:00:07 | INFO | valid | epoch 002 | valid on 'valid' subset | loss 6 | nll_loss 5.25 | ppl 40 | wps 0 | wpb 90 | bsz 8 | num_updates 8 | rec_accuracy 91.5 | rec_keyword_accuracy 70.5 | con_accuracy 60.25 | best_nll_loss 5.25
2026-01-01 11:00:08 | INFO | valid | epoch 003 | valid on 'valid' subset | loss 6 | nll_loss 5.5 | ppl 40 | wps 0 | wpb 90 | bsz 8 | num_updates 12 | rec_accuracy 93 | rec_keyword_accuracy 75 | con_accuracy 62 | best_nll_loss 5.25
2026-01-01 11:00:09 | INFO | fairseq_cli.train | early stop since valid performance hasn't improved for last 1 runs
"""]
# The json log ends its first segment with a line cut short by the kill.
JSON_LOG = ["""== pgkpr-experiment: fairseq-train started at 2026-01-01 10:00:00
2026-01-01 10:00:05 | INFO | train_inner | {"epoch": 1, "update": 0.5, "loss": "9", "nll_loss": "8", "wps": "50", "ups": "0.5", "wpb": "100", "bsz": "8", "num_updates": "2", "lr": "0.001"}
2026-01-01 10:00:07 | INFO | train_inner | {"epoch": 1, "update": 1.0, "loss": "8", "nll_loss": "7", "wps": "200", "ups": "2", "wpb": "100", "bsz": "8", "num_updates": "4", "lr": "0.001"}
2026-01-01 10:00:08 | INFO | valid | {"epoch": 1, "valid_loss": "7", "valid_nll_loss": "6.5", "valid_ppl": "90", "valid_wps": "0", "valid_wpb": "90", "valid_bsz": "8", "valid_num_updates": "4"}
2026-01-01 10:00:08 | INFO | train | {"epoch": 1, "train_loss": "8.5", "train_nll_loss": "7.5", "train_ppl": "181", "train_wps": "120", "train_ups": "1.2", "train_wpb": "100", "train_bsz": "8", "train_num_updates": "4", "train_lr": "0.001", "train_wall": "8"}
2026-01-01 10:00:10 | INFO | train_inner | {"epoch": 2, "update": 1.5, "loss": "8", "nll_loss": "7", "wps": "100", "ups": "1", "wpb": "100", "bsz": "8", "num_updates": "6", "lr": "0.001"}
2026-01-01 10:00:10 | INFO | train_inner | {"epoch": 2, "update": 1.75, "lo
""", """== pgkpr-experiment: fairseq-train started at 2026-01-01 11:00:00
2026-01-01 11:00:04 | INFO | train_inner | {"epoch": 2, "update": 1.5, "loss": "8", "nll_loss": "7", "wps": "10", "ups": "0.1", "wpb": "100", "bsz": "8", "num_updates": "6", "lr": "0.001"}
2026-01-01 11:00:06 | INFO | train_inner | {"epoch": 2, "update": 2.0, "loss": "7", "nll_loss": "6", "wps": "400", "ups": "4", "wpb": "100", "bsz": "8", "num_updates": "8", "lr": "0.001"}
2026-01-01 11:00:07 | INFO | valid | {"epoch": 2, "valid_loss": "6", "valid_nll_loss": "5.25", "valid_ppl": "40", "valid_wps": "0", "valid_wpb": "90", "valid_bsz": "8", "valid_num_updates": "8", "valid_rec_accuracy": "91.5", "valid_rec_keyword_accuracy": "70.5", "valid_con_accuracy": "60.25", "valid_best_nll_loss": "5.25"}
2026-01-01 11:00:08 | INFO | valid | {"epoch": 3, "valid_loss": "6", "valid_nll_loss": "5.5", "valid_ppl": "40", "valid_wps": "0", "valid_wpb": "90", "valid_bsz": "8", "valid_num_updates": "12", "valid_rec_accuracy": "93", "valid_rec_keyword_accuracy": "75", "valid_con_accuracy": "62", "valid_best_nll_loss": "5.25"}
2026-01-01 11:00:09 | INFO | fairseq_cli.train | early stop since valid performance hasn't improved for last 1 runs
"""]


@pytest.mark.parametrize("log", [SIMPLE_LOG[0] + SIMPLE_LOG[1], JSON_LOG[0] + JSON_LOG[1],
                                 SIMPLE_LOG[0] + JSON_LOG[1]], ids=["simple", "json", "resumed-in-json"])
def test_train_log_speeds_leave_out_each_runs_first_interval(log):
    record = experiment.parse_train_log(log)
    assert record["train_words_per_second"] == 200  # median of 200, 100, 400 (50 and 10 left out)
    assert record["seconds_per_update"] == pytest.approx(0.5)
    assert record["train_wall_seconds"] == 10 + 9
    assert (record["best_epoch"], record["best_updates"], record["best_valid_nll_loss"]) == (2, 8, 5.25)
    assert record["stopped_early"] and record["updates"] == 12 and record["epochs"] == 3
    # The auxiliary accuracies of the best validation (epoch 2), not of the last.
    assert (record["best_valid_rec_accuracy"], record["best_valid_rec_keyword_accuracy"],
            record["best_valid_con_accuracy"]) == (91.5, 70.5, 60.25)
    assert experiment.train_record_is_current(record)


def test_train_log_without_auxiliary_losses_has_no_accuracies():
    record = experiment.parse_train_log(JSON_LOG[0])  # a Transformer's log: no rec or con stats
    assert record["best_epoch"] == 1
    assert all(record[f"best_valid_{key}"] is None for key in experiment.AUXILIARY_ACCURACIES)


def test_training_progress_is_echoed_alike_from_both_log_formats(capsys):
    echoed = {}
    for log_format, log in (("simple", SIMPLE_LOG[1]), ("json", JSON_LOG[1])):
        for line in log.splitlines():
            echo_training_progress(line, "row")
        echoed[log_format] = capsys.readouterr().err
    assert echoed["simple"] == echoed["json"]
    assert echoed["json"].splitlines() == [
        "  [row] epoch 2, update 6: 10 target words/s", "  [row] epoch 2, update 8: 400 target words/s",
        "  [row] epoch 2: valid nll_loss 5.25", "  [row] epoch 3: valid nll_loss 5.5",
        "  [row] early stop since valid performance hasn't improved for last 1 runs"]


def test_training_log_is_written_while_the_run_goes_on(tmp_path, monkeypatch):
    """A run killed mid-epoch (session end, Ctrl-C) keeps every line it printed in train.log."""
    monkeypatch.delenv("PYTHONUNBUFFERED", raising=False)
    log_path, release = tmp_path / "train.log", tmp_path / "release"
    # Prints as fairseq does, then runs on until the test has looked at the log (at most 20 s).
    child = (f"import os, time; print('epoch 001 | valid on ...'); deadline = time.time() + 20\n"
             f"while not os.path.exists({str(release)!r}) and time.time() < deadline: time.sleep(0.05)")
    environment = experiment.child_environment(experiment.build_parser().parse_args(["work"]))
    runner = threading.Thread(target=experiment.run_training,
                              args=([sys.executable, "-c", child], str(log_path), "row", environment))
    runner.start()

    def line_in_log():
        return log_path.exists() and "epoch 001 | valid on" in log_path.read_text()

    deadline = time.time() + 15
    while not line_in_log() and time.time() < deadline:
        time.sleep(0.05)
    seen_while_running = line_in_log()
    release.touch()
    runner.join()
    assert seen_while_running


def test_generate_log_speed_and_missing_line():
    line = "2026-01-01 | INFO | fairseq_cli.generate | Translated 2,000 sentences (21,345 tokens) " \
           "in 75.3s (26.56 sentences/s, 283.47 tokens/s)"
    record = experiment.parse_generate_log(line, "generate.log")
    assert record == {"sentences": 2000, "generation_seconds": 75.3, "sentences_per_second": 26.56}
    with pytest.raises(experiment.ExperimentError, match="generate.log"):
        experiment.parse_generate_log("Traceback ...", "generate.log")


def test_speed_ratios_against_the_transformer():
    def row(words_per_second, seconds_per_update, sentences_per_second):
        return {"training": {"train_words_per_second": words_per_second,
                             "seconds_per_update": seconds_per_update},
                "generation": {"sentences_per_second": sentences_per_second}}

    ratios = experiment.speed_ratios({experiment.TRANSFORMER: row(800, 1.0, 30),
                                      experiment.PGKPR: row(500, 1.6, 27)})
    assert ratios == pytest.approx({"train_words_per_second": 0.625, "step_time": 1.6,
                                    "generation_speed": 0.9})
    text = experiment.format_ratios(ratios)
    assert re.search(r"time per update: 1\.60x \(target <= 2x\)", text)
    assert "generation speed (sentences/s): 0.90x (target >= 0.8x)" in text
    assert experiment.speed_ratios({experiment.PGKPR: row(500, 1.6, 27)}) is None


def test_model_folder_depends_on_settings_not_on_the_row_name():
    arguments = experiment.build_parser().parse_args(["work"])
    systems = experiment.make_systems()
    names = {name: experiment.model_folder_name(system, experiment.model_settings(system, arguments, "d1"))
             for name, system in systems.items() if system.task}
    assert names[experiment.PGKPR] == names[experiment.PGKPR_REF]
    assert len(set(names.values())) == 5
    assert names[experiment.TRANSFORMER].startswith("transformer-")
    arguments.batch_size = 64
    pgkpr = systems[experiment.PGKPR]
    assert experiment.model_folder_name(pgkpr, experiment.model_settings(pgkpr, arguments, "d1")) \
        != names[experiment.PGKPR]
    arguments.batch_size = 128
    assert experiment.model_folder_name(pgkpr, experiment.model_settings(pgkpr, arguments, "d2")) \
        != names[experiment.PGKPR]


def test_training_fingerprint_covers_what_training_reads_whatever_split_is_decoded(tmp_path):
    data_bin = tmp_path / "data-bin"
    data_bin.mkdir()
    for name in ["dict.src.txt", "dict.tgt.txt", "train.src-tgt.src.bin", "valid.src-tgt.src.bin",
                 "test.src-tgt.src.bin", "test.src-tgt.src.kwprob_ref.bin",
                 "train.src-tgt.src.kwprob_ref.bin"]:
        (data_bin / name).write_text(name)

    def fingerprint(split):
        return experiment.Inputs(str(data_bin), str(tmp_path / "text"), split).training_fingerprint()

    before = fingerprint("test")
    assert fingerprint("valid") == before  # scoring on val reuses the models trained for test
    (data_bin / "test.src-tgt.src.bin").write_text("other test data")
    (data_bin / "test.src-tgt.src.kwprob_ref.bin").write_text("other reference scores")
    assert fingerprint("test") == before
    (data_bin / "train.src-tgt.src.kwprob_ref.bin").write_text("other training keywords")
    assert fingerprint("test") != before  # PGKPR trains on stage one's (s [SEP] t) scores
    before = fingerprint("test")
    (data_bin / "valid.src-tgt.src.bin").write_text("other validation data")  # early stopping
    assert fingerprint("test") != before
    # preparation.json says how raw text is prepared for the API; training does not read it
    before = fingerprint("test")
    (data_bin / "preparation.json").write_text('{"tokenizer": "space", "max_len": 17}')
    assert fingerprint("test") == before

