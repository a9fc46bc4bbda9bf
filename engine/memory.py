"""Free RAM and VRAM, measured cheaply, so the engine knows when to drop a warm model.

Nothing here imports torch: VRAM is read through torch only when a backend has already
imported it, otherwise from ``nvidia-smi`` when one is installed. Unknown values are None.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import Any

_MIB = 1024 * 1024


def ram_mb() -> tuple[float | None, float | None]:
    """(available, total) system memory in MiB."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            fields = {line.split(":")[0]: line.split()[1] for line in handle if ":" in line}
        return int(fields["MemAvailable"]) / 1024, int(fields["MemTotal"]) / 1024
    except (OSError, KeyError, ValueError, IndexError):
        pass
    try:
        import psutil  # type: ignore[import-untyped]

        vm = psutil.virtual_memory()
        return vm.available / _MIB, vm.total / _MIB
    except ImportError:
        return None, None


def vram_mb() -> tuple[float | None, float | None]:
    """(free, total) memory of the first GPU in MiB, or (None, None) when unknown."""
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            if torch.cuda.is_available() and torch.cuda.is_initialized():
                free, total = torch.cuda.mem_get_info()
                return free / _MIB, total / _MIB
        except Exception:  # noqa: BLE001 - a broken driver must not break a status request
            pass
    smi = shutil.which("nvidia-smi")
    if smi is None or os.environ.get("CUDA_VISIBLE_DEVICES") in ("", "-1"):
        return None, None
    try:
        out = subprocess.run(
            [smi, "--query-gpu=memory.free,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=3, check=True,
        ).stdout.splitlines()
        free, total = (float(x) for x in out[0].split(","))
        return free, total
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None, None


def memory_info(include_vram: bool = True) -> dict[str, Any]:
    ram_free, ram_total = ram_mb()
    vram_free, vram_total = vram_mb() if include_vram else (None, None)

    def rnd(x: float | None) -> float | None:
        return None if x is None else round(x, 1)

    return {
        "ram_free_mb": rnd(ram_free),
        "ram_total_mb": rnd(ram_total),
        "vram_free_mb": rnd(vram_free),
        "vram_total_mb": rnd(vram_total),
    }


def release_cached_gpu_memory() -> None:
    """Hand cached CUDA blocks back to the driver after an unload (when torch is loaded)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return
    try:
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            torch.cuda.empty_cache()
    except Exception:  # noqa: BLE001 - best effort
        pass
