#!/usr/bin/env bash
# The CPU-sized MSCOCO benchmark: PGKPR against the Transformer (and, with no --quick, the ablations
# and PGKPR-ref) and the copy floor on the real COCO 2017 val captions in ../shared/data/mscoco,
# split by image: 4,000 training images (16,000 pairs), 250 validation images (1,000 pairs), 750 test
# images (750 sources, each with its other 4 captions as references). The paper's MSCOCO settings
# (16 words, lambda1 = lambda2 = 1), the Quora benchmark's small architecture and budget.
#
#   scripts/benchmark_mscoco.sh --quick    Transformer, PGKPR and the copy floor
#   scripts/benchmark_mscoco.sh            every row
#   (any pgkpr-experiment option can follow, e.g. --table-only to print what is cached)
#
# It runs scripts/mscoco/run.sh (preparation, stage one, every row cached and resumable: rerun the
# same command to continue) with these settings; the report goes to BENCH_DIR/experiments/results.md.
#
# Settings (environment variables, [default]):
#   COCO_CAPTIONS  [../shared/data/mscoco/captions_val2017.json beside the repository]
#   BENCH_DIR      work and cache folder [~/.cache/pgkpr-fairseq/benchmark-mscoco]
#   TRAIN_PAIRS VALID_PAIRS TEST_PAIRS  [16000 1000 3000]: 4 pairs per image
#   and every variable of scripts/mscoco/run.sh; model and budget default as in
#   scripts/benchmark_quora.sh (LAYERS 3, EMBED_DIM 256, FFN_DIM 1024, HEADS 4, LR 5e-4 with
#   inverse_sqrt and 300 warm-up updates, BATCH_SIZE 128, MAX_EPOCH 40, PATIENCE 3, BEAM 5)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)

export COCO_CAPTIONS=${COCO_CAPTIONS:-$REPO/../shared/data/mscoco/captions_val2017.json}
export WORK=${BENCH_DIR:-$HOME/.cache/pgkpr-fairseq/benchmark-mscoco}
export TRAIN_PAIRS=${TRAIN_PAIRS:-16000} VALID_PAIRS=${VALID_PAIRS:-1000} TEST_PAIRS=${TEST_PAIRS:-3000}
export LAYERS=${LAYERS:-3} EMBED_DIM=${EMBED_DIM:-256} FFN_DIM=${FFN_DIM:-1024} HEADS=${HEADS:-4} \
    LR=${LR:-5e-4} LR_SCHEDULER=${LR_SCHEDULER:-inverse_sqrt} WARMUP_UPDATES=${WARMUP_UPDATES:-300} \
    BATCH_SIZE=${BATCH_SIZE:-128} MAX_EPOCH=${MAX_EPOCH:-40} PATIENCE=${PATIENCE:-3} BEAM=${BEAM:-5}
mkdir -p "$WORK"
exec "$REPO/scripts/mscoco/run.sh" "$@"
