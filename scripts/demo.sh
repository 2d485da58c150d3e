#!/usr/bin/env bash
# The whole PGKPR pipeline end to end: pairs -> text, POS tags, stage one (MiniLM fine-tuned, keyword
# probabilities by gradient attribution), data-bin -> fairseq-train -> fairseq-generate -> scores,
# then raw, cased sentences through the Python API (pgkpr_fairseq.Paraphraser).
#
#   scripts/demo.sh              a SMOKE DEMO on a synthetic sample corpus the project generates
#   DATA=folder scripts/demo.sh  the same on a folder of train|valid|test.src|tgt files
#
# Settings (environment variables, [default]): WORK output folder [outputs/demo, or
# outputs/demo-<folder name> with DATA]; TOKENIZER [moses];
# STAGE1_EXAMPLES [2000]; UPDATES training updates [300]; ARCH [pgkpr_transformer_small];
# SHOW paraphrases printed [8]. Runs in about 10 minutes on 2 CPU cores with the sample corpus.
# Needs the project's venv on PATH (make demo does that). Steps already done are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
USER_DIR=$(pwd)/pgkpr_fairseq

if [ -z "${DATA:-}" ]; then
    WORK=${WORK:-outputs/demo}
    DATA=$WORK/pairs
    cat <<'BANNER'
================================================================================================
 SMOKE DEMO: a synthetic corpus of template questions (pgkpr_fairseq/sample_corpus.py) and a tiny
 model trained for minutes on a CPU. Every stage runs for real; the output shows that the
 pipeline works, not how good PGKPR is. Run `make demo DATA=folder` on real pairs.
================================================================================================
BANNER
    [ -e "$DATA/test.tgt" ] || python -c "from pgkpr_fairseq.sample_corpus import write_corpus; write_corpus('$DATA')"
else
    WORK=${WORK:-outputs/demo-$(basename "$DATA")}
fi
mkdir -p "$WORK"

RESUME=1 TOKENIZER=${TOKENIZER:-moses} STAGE1_EXAMPLES=${STAGE1_EXAMPLES:-2000} \
    preprocess/prepare.sh folder "$DATA" "$WORK"

echo "== stage two: fairseq-train (${UPDATES:-300} updates)" >&2
# Unbuffered and line-buffered, so that the progress shows as it happens, not at the end.
PYTHONUNBUFFERED=1 fairseq-train "$WORK/data-bin" --user-dir "$USER_DIR" --task pgkpr \
    --arch "${ARCH:-pgkpr_transformer_small}" --criterion pgkpr --label-smoothing 0.1 \
    --optimizer adam --lr 5e-4 --lr-scheduler inverse_sqrt --warmup-updates 100 --clip-norm 1.0 \
    --batch-size 64 --max-update "${UPDATES:-300}" --save-dir "$WORK/checkpoints" \
    --no-epoch-checkpoints --cpu --num-workers 0 --log-format simple --log-interval 25 \
    --tensorboard-logdir "$WORK/tensorboard" \
    2>&1 | grep --line-buffered -E "train_inner|valid on|done training" >&2

echo "== fairseq-generate" >&2
fairseq-generate "$WORK/data-bin" --user-dir "$USER_DIR" --task pgkpr \
    --path "$WORK/checkpoints/checkpoint_best.pt" --beam 5 --batch-size 64 --cpu \
    > "$WORK/generate.out" 2> "$WORK/generate.log"

echo "== source -> paraphrase (first ${SHOW:-8} of the test split)"
grep '^H-' "$WORK/generate.out" | sort -t- -k2 -n | head -n "${SHOW:-8}" | while IFS=$'\t' read -r id score text; do
    line=$(( ${id#H-} + 1 ))
    printf '  %s\n  -> %s\n' "$(sed -n "${line}p" "$WORK/text/test.src")" "$text"
done
echo "== scores on the test split"
pgkpr-score --hyp "$WORK/generate.out" --src "$WORK/text/test.src" --refs "$WORK/text/test.tgt"

echo "== the Python API on raw sentences"
python - "$WORK/checkpoints" <<'PY'
import sys

from pgkpr_fairseq import Paraphraser

# The data-bin comes from the checkpoint, the tokenizer and stage one from the data-bin's record.
paraphraser = Paraphraser.from_pretrained(sys.argv[1])


def show(sentence, paraphrases, how=""):
    print(f"  {sentence}{how}")
    for p in paraphrases:
        print(f"  -> {p.text}    (score {p.score:.2f}; keywords: {' '.join(p.keywords)})")


sentences = ["How can I learn Python quickly?", "What are the best tips to sleep better?"]
for sentence, paraphrases in zip(sentences, paraphraser.paraphrase(sentences)):
    show(sentence, paraphrases)
sentence = "What should I do to cook rice?"
show(sentence, paraphraser.paraphrase(sentence, keep=["rice"]), "    [keep: rice]")
sentence = "Is it hard to start a business?"
show(sentence, paraphraser.paraphrase(sentence, n=3, diverse=True), "    [3 diverse paraphrases]")
PY
