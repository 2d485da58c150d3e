# Sourced by the recipes (scripts/quora/run.sh, scripts/mscoco/run.sh, scripts/benchmark_quora.sh):
# puts the project's venv on PATH when its tools are not there yet, and turns pgkpr-experiment's
# settings, when set as variables, into its options (unset ones keep pgkpr-experiment's defaults: the
# paper's). Each option's variable is its name in capitals (EMBED_DIM for --embed-dim), but for the
# few that pgkpr-experiment declares otherwise, such as LAYERS (both sides) and TRAIN_SEED (--seed:
# prepare.sh's SEED draws the split): `pgkpr-experiment --recipe-variables` lists them all.

EXPERIMENT_ENV_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if ! command -v pgkpr-experiment > /dev/null && [ -x "$EXPERIMENT_ENV_REPO/.venv/bin/pgkpr-experiment" ]; then
    PATH=$EXPERIMENT_ENV_REPO/.venv/bin:$PATH
fi
command -v pgkpr-experiment > /dev/null || {
    echo "$(basename "$0"): pgkpr-experiment not found: run 'make venv' or activate the project's venv" >&2
    exit 2
}

# PRECISION, unless set: bf16 when training on a CPU with native bf16 (issue 12: the same quality,
# 1.4-1.6x faster training and 1.3x faster decoding), else float32 with a one-line notice.
if [ -z "${PRECISION:-}" ]; then
    read -r PRECISION PRECISION_NOTE < <("$(dirname "$(command -v pgkpr-experiment)")/python" -c \
        'from pgkpr_fairseq.precision import recipe_precision as r; p, why = r(); print(p, why or "")')
    [ -n "$PRECISION_NOTE" ] && echo "$(basename "$0"): training in float32: $PRECISION_NOTE" >&2
    export PRECISION
fi

# PGKPR's fast configuration unless FAITHFUL=1 (issue 12; BENCHMARKS.md, "CPU speed"): eq. 3 against
# the batch's targets only (the authors' code), its counterparts encoded without gradients, eq. 2's
# POS-tag targets with a softmax over the tags. An update takes 1.6x the Transformer's instead of 3x,
# and on the Quora benchmark's val it scored no lower than eq. 2-3 as the paper writes them. A
# variable that is set wins.
if [ "${FAITHFUL:-0}" != 1 ]; then
    CON_CANDIDATES=${CON_CANDIDATES:-targets}
    CON_COUNTERPARTS=${CON_COUNTERPARTS:-detached}
    REC_SOFTMAX=${REC_SOFTMAX:-tags}
fi

# Fills the array EXPERIMENT_ARGS with an option for every setting that is set, from the list of
# options and their variables that pgkpr-experiment derives from its declarations.
experiment_options() {
    local table option variables variable
    table=$(pgkpr-experiment --recipe-variables) || exit 2
    EXPERIMENT_ARGS=()
    while read -r option variables; do
        for variable in $variables; do
            if [ -n "${!variable:-}" ]; then
                EXPERIMENT_ARGS+=("$option" "${!variable}")
                break
            fi
        done
    done <<< "$table"
}

# Stops with a one-line error unless the given input file or folder exists.
require_input() {  # require_input VARIABLE_NAME PATH
    [ -e "$2" ] || { echo "$(basename "$0"): $1: no such file or folder: $2" >&2; exit 2; }
}
