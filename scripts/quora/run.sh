#!/usr/bin/env bash
# PGKPR on Quora, the paper's Tables 2-3: Transformer, PGKPR, its ablations, PGKPR-ref and the copy
# floor, trained on the same data and budget, scored, printed as a table.
#
#   QUORA_TSV=path/quora_duplicate_questions.tsv scripts/quora/run.sh [pgkpr-experiment options]
#   QUORA_TSV=path/train.csv scripts/quora/run.sh --quick       (Transformer, PGKPR, copy only)
#   PAIRS_DIR=folder scripts/quora/run.sh      (aligned train|valid|test.src / .tgt files)
#
# Writes WORK (default outputs/quora): text/ and data-bin/ (preprocess/prepare.sh: both keyword
# streams, (s [SEP] s) and (s [SEP] t)), experiments/ (every row cached: rerun to resume or complete the table),
# experiments/results.md (the report). Preparation steps already done with the same input files and
# settings are skipped (RESUME=1); a changed input or setting redoes its step and the steps after it.
# Settings: every variable of preprocess/prepare.sh (MAX_LEN [17], TRAIN_PAIRS, STAGE1_EXAMPLES, ...)
# and pgkpr-experiment's settings (LAYERS, EMBED_DIM, BATCH_SIZE, MAX_EPOCH, PATIENCE, BEAM, ...:
# `pgkpr-experiment --recipe-variables` lists them);
# defaults are the paper's section 5.3, with lambda1 / lambda2 = REC_WEIGHT / CON_WEIGHT [1 / 0.1].
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
source "$REPO/scripts/experiment_env.sh"

if [ -n "${QUORA_TSV:-}" ]; then
    kind=quora input=$QUORA_TSV
    require_input QUORA_TSV "$input"
elif [ -n "${PAIRS_DIR:-}" ]; then
    kind=folder input=$PAIRS_DIR
    require_input PAIRS_DIR "$input"
else
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
WORK=${WORK:-$REPO/outputs/quora}
CON_WEIGHT=${CON_WEIGHT:-0.1}
GEN_MAX_LEN=${GEN_MAX_LEN:-50}  # tokens: a cap for runaway beams, far above the 17-word sentences

MAX_LEN=${MAX_LEN:-17} RESUME=${RESUME:-1} "$REPO/preprocess/prepare.sh" "$kind" "$input" "$WORK"
experiment_options
pgkpr-experiment "$WORK" "${EXPERIMENT_ARGS[@]}" "$@"
