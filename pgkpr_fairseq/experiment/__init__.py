"""Train, generate and score the systems of the paper's Tables 2-3 on one data-bin (`pgkpr-experiment`).

Given a folder prepared by `preprocess/prepare.sh` (WORK/text, WORK/data-bin), every system is trained
with the same data, vocabulary, budget and early stopping (validation generation loss, `nll_loss`),
decoded the same way on the same test split and scored with `pgkpr_fairseq.scoring`. The result is a
markdown table in the paper's layout, a table of speeds, and PGKPR's speeds as ratios to the
Transformer's.

Cache (default WORK/experiments): a trained model lives in `<model>-<hash>/` (fairseq's checkpoints and
log, `train.json` once training is complete), its decoding of the test split in
`<model>-<hash>/decode-<stream>-<hash>/` (`generate.out`, its log, `result.json` once scored), the copy
floor in `copy-source-<hash>/`. Each hash covers every setting that changes that output (for a model:
the content of the data-bin's dictionary, train and valid files, the architecture, loss weights,
optimizer, budget, seed; for a decoding: the model's hash, decoding settings, the test files). A part
whose final file exists is not recomputed; an interrupted training resumes from fairseq's
`checkpoint_last.pt`. Final files are written under a temporary name and renamed.

One module per role: `systems` (the rows), `inputs` (the prepared data and its fingerprints), `cache`
(keys, folder names, locks), `fairseq_runs` (commands, training, log reading), `runner` (a row's steps
through the cache), `report` (the tables and speed ratios), `export` (the rows' hypotheses as files,
and their scores' mean over seeds), `cli` (the command line).
"""
from .cache import (FolderLock, copy_settings, decode_settings, model_folder_name, model_settings,
                    settings_hash)
from .cli import build_parser, main, parse_systems, parse_variant, resolve_device, resolve_paths
from .fairseq_runs import (AUXILIARY_ACCURACIES, child_environment, generate_command,
                           parse_generate_log, parse_train_log, run_training, train_command,
                           train_record_is_current)
from .export import (export_hypotheses, file_stem, format_seed_summary, read_scores,
                     scores_path, summarize_seeds)
from .inputs import Inputs
from .messages import ExperimentError
from .report import format_ratios, format_report, speed_ratios
from .runner import Experiment
from .systems import PGKPR, PGKPR_REF, QUICK_SYSTEMS, SYSTEM_NAMES, TRANSFORMER, System, make_systems

# Today's names, for `from pgkpr_fairseq import experiment` (the benchmark scripts, the tests).
__all__ = [
    "FolderLock", "copy_settings", "decode_settings", "model_folder_name", "model_settings",
    "settings_hash",
    "build_parser", "main", "parse_systems", "parse_variant", "resolve_device", "resolve_paths",
    "AUXILIARY_ACCURACIES", "child_environment", "generate_command", "parse_generate_log",
    "parse_train_log", "run_training", "train_command", "train_record_is_current",
    "export_hypotheses", "file_stem", "scores_path", "read_scores", "summarize_seeds",
    "format_seed_summary", "Inputs", "ExperimentError",
    "format_ratios", "format_report", "speed_ratios",
    "Experiment", "PGKPR", "PGKPR_REF", "QUICK_SYSTEMS", "SYSTEM_NAMES", "TRANSFORMER", "System",
    "make_systems",
]
