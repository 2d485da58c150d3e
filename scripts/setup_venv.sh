#!/usr/bin/env bash
# Build .venv for pgkpr-fairseq (idempotent; safe to re-run). Usage: scripts/setup_venv.sh
#
# Why not a plain `pip install fairseq`: fairseq 0.12.2 has no Python 3.11 wheel, requires torchaudio
# (which pins its own torch release) and hydra-core<1.1 (which does not import on 3.11), and its config
# dataclasses use mutable defaults that Python 3.11 rejects. So: torch first (the CPU build here; a GPU
# user installs their own torch beforehand), fairseq with --no-deps (setup.py lists its real text-side
# requirements), then scripts/patch_fairseq.py fixes fairseq for Python 3.11 and torch >= 2.6.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
VENV=${VENV:-.venv}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
pip_install() { "$VENV/bin/python" -m pip install --disable-pip-version-check "$@"; }

"$VENV/bin/python" -c 'import torch' 2>/dev/null || pip_install "$TORCH_SPEC"
"$VENV/bin/python" -m pip show fairseq >/dev/null 2>&1 || pip_install --no-deps fairseq==0.12.2
pip_install -e '.[test]'
"$VENV/bin/python" scripts/patch_fairseq.py
"$VENV/bin/python" -c 'import fairseq, pgkpr_fairseq; print("fairseq", fairseq.__version__, "and pgkpr_fairseq ready")'
