# Sourced by the recipes (scripts/quora/run.sh, scripts/mscoco/run.sh, scripts/benchmark_quora.sh):
# puts the project's venv on PATH when its tools are not there yet, and turns the settings below, when
# set, into pgkpr-experiment options (unset ones keep pgkpr-experiment's defaults: the paper's).
#
#   LAYERS (both sides), ENCODER_LAYERS, DECODER_LAYERS, EMBED_DIM, FFN_DIM, HEADS, DROPOUT,
#   REC_WEIGHT (lambda1), CON_WEIGHT (lambda2), CON_TEMPERATURE, CON_SIMILARITY, CON_COUNTERPARTS,
#   LABEL_SMOOTHING, INFERENCE_KEYWORDS, KEYWORD_THRESHOLD, LR, LR_SCHEDULER, WARMUP_UPDATES,
#   CLIP_NORM, BATCH_SIZE, MAX_EPOCH, MAX_UPDATE, PATIENCE, TRAIN_SEED, TRAIN_ARGS, BEAM, LENPEN, GEN_MAX_LEN,
#   GEN_BATCH_SIZE, GENERATE_ARGS, CACHE, THREADS, NUM_WORKERS, LOG_INTERVAL
# (TRAIN_SEED, not SEED: prepare.sh's SEED draws the Quora / COCO split.)

EXPERIMENT_ENV_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if ! command -v pgkpr-experiment > /dev/null && [ -x "$EXPERIMENT_ENV_REPO/.venv/bin/pgkpr-experiment" ]; then
    PATH=$EXPERIMENT_ENV_REPO/.venv/bin:$PATH
fi
command -v pgkpr-experiment > /dev/null || {
    echo "$(basename "$0"): pgkpr-experiment not found: run 'make venv' or activate the project's venv" >&2
    exit 2
}

# Fills the array EXPERIMENT_ARGS with an option for every setting above that is set.
experiment_options() {
    local pair variable
    ENCODER_LAYERS=${ENCODER_LAYERS:-${LAYERS:-}}
    DECODER_LAYERS=${DECODER_LAYERS:-${LAYERS:-}}
    EXPERIMENT_ARGS=()
    for pair in ENCODER_LAYERS:--encoder-layers DECODER_LAYERS:--decoder-layers EMBED_DIM:--embed-dim \
            FFN_DIM:--ffn-dim HEADS:--heads DROPOUT:--dropout REC_WEIGHT:--rec-weight \
            CON_WEIGHT:--con-weight CON_TEMPERATURE:--con-temperature CON_SIMILARITY:--con-similarity \
            CON_COUNTERPARTS:--con-counterparts \
            LABEL_SMOOTHING:--label-smoothing INFERENCE_KEYWORDS:--inference-keywords \
            KEYWORD_THRESHOLD:--keyword-threshold LR:--lr LR_SCHEDULER:--lr-scheduler \
            WARMUP_UPDATES:--warmup-updates CLIP_NORM:--clip-norm BATCH_SIZE:--batch-size \
            MAX_EPOCH:--max-epoch MAX_UPDATE:--max-update PATIENCE:--patience TRAIN_SEED:--seed \
            TRAIN_ARGS:--train-args BEAM:--beam LENPEN:--lenpen GEN_MAX_LEN:--max-len \
            GEN_BATCH_SIZE:--gen-batch-size GENERATE_ARGS:--generate-args CACHE:--cache \
            THREADS:--threads NUM_WORKERS:--num-workers LOG_INTERVAL:--log-interval; do
        variable=${pair%%:*}
        if [ -n "${!variable:-}" ]; then EXPERIMENT_ARGS+=("${pair#*:}" "${!variable}"); fi
    done
}

# Stops with a one-line error unless the given input file or folder exists.
require_input() {  # require_input VARIABLE_NAME PATH
    [ -e "$2" ] || { echo "$(basename "$0"): $1: no such file or folder: $2" >&2; exit 2; }
}
