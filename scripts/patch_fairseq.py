#!/usr/bin/env python3
"""Make an installed fairseq 0.12.2 work on Python 3.11 and torch >= 2.6. Idempotent.

Run with the interpreter of the environment that holds fairseq: `.venv/bin/python scripts/patch_fairseq.py`.
It finds fairseq without importing it (an unpatched fairseq does not import on 3.11) and edits five
files in place; each edit is skipped when already applied. Why each one (../shared notes, fairseq
issues #5012 #5457 #5610 #4858):
  1. dataclass fields `x: T = T()` are mutable defaults, rejected by Python 3.11: use default_factory;
  2. hydra_init reads `.default` of each config field: call `default_factory()` where it is set;
  3. torch >= 2.6 loads with weights_only=True: allow-list argparse.Namespace, which fairseq puts in
     checkpoints of its argparse-era architectures (safe loading stays on);
  4. the TransformerEncoderLayer "fast path" calls a pre-2.0 torch internal that fails on padded
     batches in eval mode ("Mask Type should be defined"): switch it off.
"""
import importlib.util
import re
import sys
from pathlib import Path

# `x: T = T()` and `x: T = field(default=T())`
DEFAULT_INSTANCE = re.compile(r"^(\s+\w+: (\w+)) = (?:\2\(\)|field\(default=\2\(\)\))$", re.MULTILINE)

TEXT_EDITS = {
    "dataclass/initialize.py": [
        (
            "        v = FairseqConfig.__dataclass_fields__[k].default\n",
            "        config_field = FairseqConfig.__dataclass_fields__[k]\n"
            "        v = (\n"
            "            config_field.default_factory()\n"
            "            if config_field.default_factory is not dataclasses.MISSING\n"
            "            else config_field.default\n"
            "        )\n",
        ),
        ("import logging\n", "import dataclasses\nimport logging\n"),
    ],
    "checkpoint_utils.py": [
        (
            "from omegaconf import DictConfig, OmegaConf, open_dict\n",
            "from omegaconf import DictConfig, OmegaConf, open_dict\n\n"
            "import argparse\n"
            "if hasattr(torch.serialization, \"add_safe_globals\"):\n"
            "    torch.serialization.add_safe_globals([argparse.Namespace])\n",
        ),
    ],
    "modules/transformer_layer.py": [
        ("        self.can_use_fastpath = (\n", "        self.can_use_fastpath = False and (\n"),
    ],
}


def patch_text(path: Path, old: str, new: str) -> bool:
    text = path.read_text()
    if new in text:
        return False
    if old not in text:
        sys.exit(f"{path}: expected text not found; is this fairseq 0.12.2?\n{old}")
    path.write_text(text.replace(old, new, 1))
    return True


def patch_default_instances(path: Path) -> bool:
    text = path.read_text()
    patched = DEFAULT_INSTANCE.sub(r"\1 = field(default_factory=\2)", text)
    if patched == text:
        return False
    path.write_text(patched)
    return True


def main() -> None:
    spec = importlib.util.find_spec("fairseq")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("fairseq is not installed in this environment")
    root = Path(list(spec.submodule_search_locations)[0])
    changed = []
    for name in ("dataclass/configs.py", "models/transformer/transformer_config.py"):
        if patch_default_instances(root / name):
            changed.append(name)
    for name, edits in TEXT_EDITS.items():
        for old, new in edits:
            if patch_text(root / name, old, new):
                changed.append(name)
    print(f"fairseq at {root}: " + (f"patched {sorted(set(changed))}" if changed else "already patched"))


if __name__ == "__main__":
    main()
