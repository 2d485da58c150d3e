#!/usr/bin/env bash
# The CPU-sized benchmark of the issue: PGKPR against the Transformer (and the ablations, PGKPR-ref,
# the copy floor) on the Quora split in ../shared/data/quora: a training subset, a small architecture
# trained to convergence on val (early stopping on the validation generation loss), the first 2,000
# pairs of test_clean, the same budget and decoding for every system.
#
#   scripts/benchmark_quora.sh            every row (many hours on 2 CPU cores)
#   scripts/benchmark_quora.sh --quick    Transformer, PGKPR and the copy floor only
#   (any pgkpr-experiment option can follow, e.g. --table-only to print what is cached)
#
# Every row is cached in BENCH_DIR and resumable: rerun the same command to continue a cut-short run
# or to complete the table. Prints the table and PGKPR's speed ratios to the Transformer, and writes
# them to BENCH_DIR/results.md; the keyword-POS plot (the paper's Figure 3) of the first 5,000
# training sentences goes to BENCH_DIR/keyword-pos-quora.png. Steps already done are skipped: use a new BENCH_DIR after changing a
# data setting (LIMITS, MAX_LEN, STAGE1_EXAMPLES, NWORDS).
#
#   TEST_CLEAN=1 scripts/benchmark_quora.sh --systems PGKPR --seed 2 --lenpen 2.0 --hypotheses DIR
# scores the rows on all of test_clean (13,134 pairs) instead of its first 2,000: the whole split is
# prepared in TEST_DIR [BENCH_DIR-testclean] as BENCH_DIR's test was (prepare.sh's TEST_FROM), the
# models are BENCH_DIR's (trained there if not yet), the report goes to TEST_DIR/results.md.
#
# Settings (environment variables, [default]):
#   QUORA_DIR   the pairs (train, val, test_clean .src/.tgt, already tokenized) [../shared/data/quora
#               beside the repository]
#   BENCH_DIR   work and cache folder [~/.cache/pgkpr-fairseq/benchmark-quora]
#   LIMITS      first N pairs per split ["train=20000 valid=1000 test=2000"]; MAX_LEN [17]
#   STAGE1_EXAMPLES and the other variables of preprocess/prepare.sh
#   model and budget, pgkpr-experiment's settings (pgkpr-experiment --recipe-variables), here defaulting to:
#     LAYERS 3, EMBED_DIM 256, FFN_DIM 1024, HEADS 4 (pgkpr_transformer_small's sizes), DROPOUT 0.1,
#     LR 5e-4 with LR_SCHEDULER inverse_sqrt, WARMUP_UPDATES 300, BATCH_SIZE 128, MAX_EPOCH 40,
#     PATIENCE 3, CON_WEIGHT 0.1, BEAM 5, GEN_MAX_LEN 50 (tokens; the references have at most 17),
#     PRECISION bf16 where the CPU has native bf16, else float32 (scripts/experiment_env.sh)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
source "$REPO/scripts/experiment_env.sh"

QUORA_DIR=${QUORA_DIR:-$REPO/../shared/data/quora}
BENCH_DIR=${BENCH_DIR:-$HOME/.cache/pgkpr-fairseq/benchmark-quora}
for split in train val test_clean; do
    require_input QUORA_DIR "$QUORA_DIR/$split.tgt"
done
export LAYERS=${LAYERS:-3} EMBED_DIM=${EMBED_DIM:-256} FFN_DIM=${FFN_DIM:-1024} HEADS=${HEADS:-4} \
    LR=${LR:-5e-4} LR_SCHEDULER=${LR_SCHEDULER:-inverse_sqrt} WARMUP_UPDATES=${WARMUP_UPDATES:-300} \
    BATCH_SIZE=${BATCH_SIZE:-128} MAX_EPOCH=${MAX_EPOCH:-40} PATIENCE=${PATIENCE:-3} \
    CON_WEIGHT=${CON_WEIGHT:-0.1} BEAM=${BEAM:-5} GEN_MAX_LEN=${GEN_MAX_LEN:-50}
mkdir -p "$BENCH_DIR"

echo "== preparing $BENCH_DIR from $QUORA_DIR" >&2
TOKENIZER=space FOLDER_SPLITS=train,valid=val,test=test_clean MAX_LEN=${MAX_LEN:-17} \
    LIMITS=${LIMITS:-"train=20000 valid=1000 test=2000"} RESUME=1 \
    "$REPO/preprocess/prepare.sh" folder "$QUORA_DIR" "$BENCH_DIR"
echo "== the paper's Figure 3 for the first 5,000 training sentences" >&2
pgkpr-keywords plot --src "$BENCH_DIR/text/train.src" --pos "$BENCH_DIR/text/train.pos.src" \
    --probs "$BENCH_DIR/text/train.kwprob" --limit 5000 --output "$BENCH_DIR/keyword-pos-quora.png" \
    --title "Quora: POS of sampled keywords (first 5,000 training sentences)"
experiment_options
if [ "${TEST_CLEAN:-0}" = 1 ]; then
    TEST_DIR=${TEST_DIR:-$BENCH_DIR-testclean}
    echo "== preparing all of test_clean in $TEST_DIR as $BENCH_DIR's test" >&2
    TEST_FROM=$BENCH_DIR TOKENIZER=space MAX_LEN=${MAX_LEN:-17} FOLDER_SPLITS=test=test_clean RESUME=1 \
        "$REPO/preprocess/prepare.sh" folder "$QUORA_DIR" "$TEST_DIR"
    exec pgkpr-experiment "$TEST_DIR" --cache "$BENCH_DIR/experiments" --output "$TEST_DIR/results.md" \
        "${EXPERIMENT_ARGS[@]}" "$@"
fi
pgkpr-experiment "$BENCH_DIR" --output "$BENCH_DIR/results.md" "${EXPERIMENT_ARGS[@]}" "$@"
