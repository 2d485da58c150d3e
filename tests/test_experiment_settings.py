"""pgkpr-experiment's settings: every one reaches its cache key and its fairseq command, and the
keys of today's settings stay those of the caches made before they were declared once."""
import pytest

from pgkpr_fairseq import experiment

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


@pytest.mark.parametrize("case, options", [("defaults", []), ("changed", CHANGED)])
def test_cache_keys_of_todays_settings_are_those_of_the_earlier_caches(case, options):
    arguments = experiment.build_parser().parse_args(["work", *options])
    keys = {}
    for name, system in experiment.make_systems(arguments.rec_weight, arguments.con_weight).items():
        if system.task is None:
            continue
        folder = experiment.model_folder_name(system, experiment.model_settings(system, arguments, "d1"))
        decoding = experiment.decode_settings(system, arguments, folder, "t1")
        keys[name] = (folder, experiment.settings_hash(decoding))
    assert keys == CACHED_BEFORE[case]
