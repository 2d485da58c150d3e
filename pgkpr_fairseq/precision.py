"""bf16 on the CPU: forward passes and losses under `torch.autocast("cpu", torch.bfloat16)`, with
float32 weights, gradients and optimizer state. fairseq's own `--bf16` is for TPUs and `--amp` for
CUDA; processors with AVX512-BF16 or AMX run bf16 matrix products about 2-3x faster than float32."""
import os
from typing import Optional, Tuple

import torch

NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_bf16_unsupported_reason() -> Optional[str]:
    """Why bf16 autocast would not be fast here, or None when this CPU and torch build have it."""
    if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return "this torch build has no bf16 CPU kernels (oneDNN)"
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            flags = set(next((line for line in cpuinfo if line.startswith("flags")), "").split())
        if not flags.intersection(NATIVE_BF16_FLAGS):
            return (f"this CPU has no native bf16 instructions ({' or '.join(NATIVE_BF16_FLAGS)}): "
                    f"bf16 would be emulated, slower than float32")
    return None


def recipe_precision() -> Tuple[str, Optional[str]]:
    """The recipes' default precision: ("bf16", None) when training runs on a CPU with native
    bf16, else ("float32", why not bf16)."""
    if torch.cuda.is_available():
        return "float32", "a GPU is visible (CPU bf16 is for CPU training)"
    reason = cpu_bf16_unsupported_reason()
    return ("float32", reason) if reason else ("bf16", None)


def require_cpu_bf16(option: str) -> None:
    """Refuse `option` with one line where bf16 autocast cannot be fast."""
    reason = cpu_bf16_unsupported_reason()
    if reason is not None:
        raise ValueError(f"{option}: {reason}; leave {option} out to run in float32")


def cpu_autocast(enabled: bool):
    """The autocast context of the plugin's bf16 option (a no-op when not enabled)."""
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=enabled)
