"""pgkpr-experiment's settings: every one reaches its cache key and its fairseq commands, the recipes'
variables reach the runner, and the Transformer's keys stay those of the caches made before the
settings were declared once (PGKPR's changed with the method, issue "Faithful PGKPR")."""
import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from pgkpr_fairseq import experiment
from pgkpr_fairseq.experiment.cli import recipe_options
from pgkpr_fairseq.precision import recipe_precision
from pgkpr_fairseq.experiment.settings import (GENERATE, SETTINGS, TRAIN, DecodingSettings,
                                               TrainingSettings, fairseq_options_of, option_name)

REPO = Path(__file__).resolve().parent.parent
ROWS = {"translation": experiment.make_systems()[experiment.TRANSFORMER],
        "pgkpr": experiment.make_systems()[experiment.PGKPR]}

# The defaults of pgkpr_fairseq/experiment.py at commit 358e51a, given explicitly: a default that
# changes later must not make the runs that ask for the old value lose their caches.
DEFAULTS_BEFORE = ["--encoder-layers", "6", "--decoder-layers", "6", "--embed-dim", "512",
                   "--ffn-dim", "2048", "--heads", "8", "--dropout", "0.1", "--rec-weight", "1",
                   "--con-weight", "0.1", "--con-temperature", "0.1", "--con-similarity", "dot",
                   "--con-counterparts", "trained", "--label-smoothing", "0.1",
                   "--inference-keywords", "sample", "--keyword-threshold", "0.5", "--lr", "1e-4",
                   "--lr-scheduler", "fixed", "--warmup-updates", "0", "--clip-norm", "0",
                   "--batch-size", "128", "--max-epoch", "35", "--max-update", "0", "--patience", "5",
                   "--seed", "1", "--train-args=", "--beam", "5", "--lenpen", "1", "--max-len", "200",
                   "--gen-batch-size", "128", "--generate-args=", "--test-split", "test"]
# Every option away from its default (and a decoding of split valid).
CHANGED = ["--encoder-layers", "2", "--decoder-layers", "3", "--embed-dim", "64", "--ffn-dim", "128",
           "--heads", "4", "--dropout", "0.2", "--rec-weight", "0.5", "--con-weight", "1",
           "--con-temperature", "0.05", "--con-similarity", "cosine", "--con-counterparts", "detached",
           "--label-smoothing", "0", "--inference-keywords", "threshold", "--keyword-threshold", "0.4",
           "--lr", "5e-4", "--lr-scheduler", "inverse_sqrt", "--warmup-updates", "300",
           "--clip-norm", "1", "--batch-size", "64", "--max-epoch", "40", "--max-update", "1000",
           "--patience", "3", "--seed", "7", "--train-args", "--fp16 --update-freq 2", "--beam", "4",
           "--lenpen", "1.2", "--max-len", "50", "--gen-batch-size", "32",
           "--generate-args", "--no-repeat-ngram-size 3", "--test-split", "valid"]

# (model folder, decoding hash) per row, computed by pgkpr_fairseq/experiment.py at commit 358e51a,
# before the settings were declared once: the caches it made must stay valid.
CACHED_BEFORE = {
    "defaults": {
        "Transformer": ("transformer-a46f106d02", "5fdbb49707"),
        "PGKPR": ("pgkpr-rec1-con0.1-e0e881f8a3", "467f691f0b"),
        "PGKPR w/o L_con": ("pgkpr-rec1-con0-93dd533354", "16df64d448"),
        "PGKPR w/o L_rec": ("pgkpr-rec0-con0.1-fdc8ce23d8", "380d3a6881"),
        "PGKPR w/o L_con and L_rec": ("pgkpr-rec0-con0-eb4d7adfbf", "ca4758490a"),
        "PGKPR-ref": ("pgkpr-rec1-con0.1-e0e881f8a3", "28abc33756"),
    },
    "changed": {
        "Transformer": ("transformer-277be20967", "09a66a825a"),
        "PGKPR": ("pgkpr-rec0.5-con1-db348a177f", "3f0452e657"),
        "PGKPR w/o L_con": ("pgkpr-rec0.5-con0-80e9ee2591", "f8ed9d4c8c"),
        "PGKPR w/o L_rec": ("pgkpr-rec0-con1-18e99d4977", "0a49cc3b2f"),
        "PGKPR w/o L_con and L_rec": ("pgkpr-rec0-con0-de616cd0d5", "39f618ab1a"),
        "PGKPR-ref": ("pgkpr-rec0.5-con1-db348a177f", "8fe6a69ce6"),
    },
}


@pytest.mark.parametrize("case, options", [("defaults", DEFAULTS_BEFORE), ("changed", CHANGED)])
def test_only_the_transformer_keeps_the_cache_keys_of_the_earlier_caches(case, options):
    """The Transformer trains as before; PGKPR's models of before the faithful-method fixes
    (negatives by text, the training keyword stream, ...) must not be reused."""
    arguments = experiment.build_parser().parse_args(["work", *options])
    keys = {}
    for name, system in experiment.make_systems().items():
        if system.task is None:
            continue
        folder = experiment.model_folder_name(system, experiment.model_settings(system, arguments, "d1"))
        decoding = experiment.decode_settings(system, arguments, folder, "t1")
        keys[name] = (folder, experiment.settings_hash(decoding))
    before = CACHED_BEFORE[case]
    assert keys["Transformer"] == before["Transformer"]
    for name in keys.keys() - {"Transformer"}:
        assert keys[name][0] != before[name][0] and keys[name][1] != before[name][1], name


def other_value(setting):
    """A valid value of the setting other than its default."""
    if setting.metadata["choices"]:
        return next(choice for choice in setting.metadata["choices"] if choice != setting.default)
    if setting.type is str:
        return setting.default + "--other"
    return setting.default + 1


def parsed(*options):
    return experiment.build_parser().parse_args(["work", "--cpu", *options])


def model_key(system, arguments):
    return experiment.settings_hash(experiment.model_settings(system, arguments, "data"))


def decoding_key(system, arguments):
    return experiment.settings_hash(experiment.decode_settings(system, arguments, "model", "test"))


def command(tool, system, arguments):
    if tool == TRAIN:
        return experiment.train_command(system, arguments, "bin", "save")
    return experiment.generate_command(system, arguments, "bin", "checkpoint")


def contains(sequence, part):
    return any(sequence[start:start + len(part)] == part for start in range(len(sequence)))


@pytest.mark.parametrize("settings_class, setting",
                         [(settings_class, setting) for settings_class in SETTINGS
                          for setting in fields(settings_class)],
                         ids=lambda value: getattr(value, "name", getattr(value, "__name__", "")))
def test_every_setting_reaches_its_cache_key_and_its_fairseq_commands(settings_class, setting):
    """A setting given to fairseq but missing from the cache key would reuse a model trained
    otherwise; one missing from fairseq's command would do nothing."""
    value = other_value(setting)
    default, changed = parsed(), parsed(f"{option_name(setting)}={value}")
    assert getattr(changed, setting.name) == value
    for task, system in ROWS.items():
        applies = task in setting.metadata["tasks"]
        assert (model_key(system, changed) != model_key(system, default)) \
            == (applies and settings_class is TrainingSettings)
        assert (decoding_key(system, changed) != decoding_key(system, default)) \
            == (applies and settings_class is DecodingSettings)
        for tool in (TRAIN, GENERATE):
            given = applies and tool in setting.metadata["tools"]
            assert (command(tool, system, changed) != command(tool, system, default)) == given
            assert not given or contains(command(tool, system, changed),
                                         fairseq_options_of(setting, value))


FAST = ["--rec-softmax", "tags", "--con-counterparts", "detached", "--con-candidates", "targets"]


@pytest.mark.parametrize("variables, fast_options", [
    ({}, FAST),  # the recipes' default: PGKPR's fast configuration
    ({"FAITHFUL": "1"}, []),  # eq. 2-3 as the paper writes them
    ({"CON_CANDIDATES": "sources_and_targets"}, FAST[:4] + ["--con-candidates", "sources_and_targets"]),
])
def test_recipes_turn_their_variables_into_the_declared_options(variables, fast_options):
    declared = {name for _, names in recipe_options() for name in names}
    environment = {name: value for name, value in os.environ.items()
                   if name not in declared and name != "FAITHFUL"}
    environment.update(PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}", LAYERS="2",
                       DECODER_LAYERS="3", TRAIN_SEED="7", GEN_MAX_LEN="9", EMBED_DIM="",
                       TRAIN_ARGS="--fp16 --update-freq 2", CACHE="/a cache", **variables)
    # CON_WEIGHT as the recipes set it: a shell variable, not exported.
    script = (f"source {REPO}/scripts/experiment_env.sh; CON_WEIGHT=1; experiment_options; "
              'printf "%s\\n" "${EXPERIMENT_ARGS[@]}"')
    done = subprocess.run(["bash", "-c", script], env=environment, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    # PRECISION unset: the recipes' own choice (bf16 where the CPU has it)
    expected = ["--encoder-layers", "2", "--decoder-layers", "3", *fast_options[:2],
                "--con-weight", "1", *fast_options[2:], "--precision", recipe_precision()[0],
                "--seed", "7", "--train-args", "--fp16 --update-freq 2", "--max-len", "9",
                "--cache", "/a cache"]
    assert done.stdout.splitlines() == expected



def test_scoring_settings_key_the_copy_floor_and_decoding_settings_do_not():
    default = experiment.copy_settings(parsed(), "test files")
    assert experiment.copy_settings(parsed("--score-units", "sources"), "test files") != default
    assert experiment.copy_settings(parsed("--beam", "3", "--lenpen", "2"), "test files") == default
    # The key of the copy rows cached before the setting existed.
    assert default == {"test": "test files", "split": "test"}


def test_exported_hypotheses_need_line_by_line_scores(capsys):
    with pytest.raises(SystemExit):
        experiment.main(["work", "--hypotheses", "out", "--score-units", "sources"])
    assert "not with --score-units sources" in capsys.readouterr().err
