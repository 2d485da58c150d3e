#!/usr/bin/env python3
"""Make an installed fairseq 0.12.2 work on Python 3.11 and torch >= 2.6. Idempotent.

Run with the interpreter of the environment that holds fairseq: `.venv/bin/python scripts/patch_fairseq.py`.
It finds fairseq without importing it (an unpatched fairseq does not import on 3.11) and edits seven
files in place; each edit is skipped when already applied. Why each one (../shared notes, fairseq
issues #5012 #5457 #5610 #4858):
  1. dataclass fields `x: T = T()` are mutable defaults, rejected by Python 3.11: use default_factory;
  2. hydra_init reads `.default` of each config field: call `default_factory()` where it is set;
  3. torch >= 2.6 loads with weights_only=True: allow-list argparse.Namespace, which fairseq puts in
     checkpoints of its argparse-era architectures (safe loading stays on);
  4. the TransformerEncoderLayer "fast path" calls a pre-2.0 torch internal that fails on padded
     batches in eval mode ("Mask Type should be defined"): switch it off;
  5. data-parallel training with the default --ddp-backend: torch's DistributedDataParallel waits for
     a gradient of every parameter, but each encoder layer holds copies of its weights that only the
     inference fast path reads (never trained): DDP ignores them;
  6. data-parallel training on CPU: DistributedDataParallel takes device ids for GPU modules only, and
     fairseq passes one anyway; without a launcher fairseq spawns one process per GPU, so on CPU it is
     told to use torchrun, and the default nccl backend (GPUs only) to use gloo;
  7. a data-parallel run that resumes: rank 0 reads the checkpoint and sends the loaded state,
     fairseq's config objects included, to the other ranks, which must unpickle it in full (torch >=
     2.6 would refuse the config objects);
  8. checkpoints (train --restore-file, generate, interactive, hub_utils) load with weights_only=True
     whatever torch's default (older torch, TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1): unpickling a crafted
     checkpoint would run its code. One that needs more than weights is refused with one line.
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
        ("import os\n", "import os\nimport pickle\n"),
        (
            "        state = torch.load(f, map_location=torch.device(\"cpu\"))\n",
            "        try:\n"
            "            # weights only, whatever torch's default: unpickling anything else can run code\n"
            "            state = torch.load(f, map_location=torch.device(\"cpu\"), weights_only=True)\n"
            "        except pickle.UnpicklingError as error:\n"
            "            needed = re.search(r\"GLOBAL (\\S+)\", str(error))\n"
            "            raise SystemExit(\n"
            "                f\"{path}: refused: loading it would import and run \"\n"
            "                f\"{needed.group(1) if needed else 'code'}; checkpoints are read as weights only\"\n"
            "            )\n",
        ),
    ],
    "modules/transformer_layer.py": [
        ("        self.can_use_fastpath = (\n", "        self.can_use_fastpath = False and (\n"),
    ],
    "models/distributed_fairseq_model.py": [
        (
            "    elif args.ddp_backend in {\"c10d\", \"pytorch_ddp\"}:\n",
            "    elif args.ddp_backend in {\"c10d\", \"pytorch_ddp\"}:\n"
            "        from fairseq.modules.transformer_layer import TransformerEncoderLayerBase\n"
            "\n"
            "        # the encoder layers' copies of their weights for the inference fast path: never trained\n"
            "        DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(model, [\n"
            "            f\"{prefix}.{name}\"\n"
            "            for prefix, module in model.named_modules()\n"
            "            if isinstance(module, TransformerEncoderLayerBase)\n"
            "            for name, _ in module.named_parameters(recurse=False)\n"
            "        ])\n",
        ),
        (
            "            device_ids=[args.device_id],\n"
            "            output_device=args.device_id,\n",
            "            device_ids=[args.device_id] if device.type == \"cuda\" else None,\n"
            "            output_device=args.device_id if device.type == \"cuda\" else None,\n",
        ),
    ],
    "distributed/utils.py": [
        (
            "    assert (\n"
            "        cfg.distributed_world_size <= torch.cuda.device_count()\n"
            "    ), f\"world size is {cfg.distributed_world_size} but have {torch.cuda.device_count()} available devices\"\n",
            "    if cfg.distributed_world_size > torch.cuda.device_count():\n"
            "        raise SystemExit(\n"
            "            f\"--distributed-world-size {cfg.distributed_world_size}: fairseq starts one process \"\n"
            "            f\"per GPU and found {torch.cuda.device_count()}; on CPU start the processes with \"\n"
            "            f\"torchrun: torchrun --nproc_per_node {cfg.distributed_world_size} \"\n"
            "            f\"$(which fairseq-train) ... --cpu --distributed-backend gloo\"\n"
            "        )\n",
        ),
        (
            "            dist.init_process_group(\n",
            "            if cfg.common.cpu and cfg.distributed_training.distributed_backend == \"nccl\":\n"
            "                raise SystemExit(\"--cpu: the nccl backend needs GPUs; add --distributed-backend gloo\")\n"
            "            dist.init_process_group(\n",
        ),
        (
            "        obj = torch.load(buffer, map_location=\"cpu\")\n",
            "        # the state rank 0 of this job loaded (weights only) and pickled, config objects included\n"
            "        obj = torch.load(buffer, map_location=\"cpu\", weights_only=False)\n",
        ),
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
