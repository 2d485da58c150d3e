#!/usr/bin/env bash
# PGKPR on MSCOCO captions, the paper's Tables 2-3: Transformer, PGKPR, its ablations, PGKPR-ref and
# the copy floor, trained on the same data and budget, scored against the four references per image.
#
#   COCO_CAPTIONS=path/annotations/captions_train2017.json scripts/mscoco/run.sh [pgkpr-experiment options]
#   COCO_CAPTIONS=... scripts/mscoco/run.sh --quick        (Transformer, PGKPR, copy only)
#
# Writes WORK (default outputs/mscoco): text/ (test.ref0..3: the references) and data-bin/
# (preprocess/prepare.sh: both keyword streams), experiments/ (every row cached: rerun to
# resume or complete the table), experiments/results.md (the report). Preparation steps already done
# with the same input files and settings are skipped (RESUME=1); a changed input or setting redoes its
# step and the steps after it.
# Settings: every variable of preprocess/prepare.sh (MAX_LEN [16], TRAIN_PAIRS, STAGE1_EXAMPLES, ...)
# and pgkpr-experiment's settings (LAYERS, EMBED_DIM, BATCH_SIZE, MAX_EPOCH, PATIENCE, BEAM, ...:
# `pgkpr-experiment --recipe-variables` lists them);
# defaults are the paper's section 5.3, with lambda1 / lambda2 = REC_WEIGHT / CON_WEIGHT [1 / 1].
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
source "$REPO/scripts/experiment_env.sh"

if [ -z "${COCO_CAPTIONS:-}" ]; then
    sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
require_input COCO_CAPTIONS "$COCO_CAPTIONS"
WORK=${WORK:-$REPO/outputs/mscoco}
CON_WEIGHT=${CON_WEIGHT:-1}
GEN_MAX_LEN=${GEN_MAX_LEN:-50}  # tokens: a cap for runaway beams, far above the 16-word sentences

MAX_LEN=${MAX_LEN:-16} RESUME=${RESUME:-1} \
    "$REPO/preprocess/prepare.sh" coco "$COCO_CAPTIONS" "$WORK"
experiment_options
pgkpr-experiment "$WORK" "${EXPERIMENT_ARGS[@]}" "$@"
