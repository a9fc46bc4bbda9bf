"""Where a GPU backend's models live: resident, model CPU offload or group offload, and VAE tiling.

A backend describes its models once as a :class:`MemoryPlan` (weights per component at the
runtime dtype, which stage each runs in, working memory per stage). :func:`decide_placement`
turns that and the free VRAM it measured into a :class:`Placement`: the fastest mode that
fits, with VAE tiling only when the decode would not fit otherwise. It is a pure function,
so the decision for a 24 GB or an 80 GB card is tested without either.

:func:`apply_placement` carries a decision out with diffusers' own machinery
(``enable_model_cpu_offload``, ``hooks.apply_group_offloading``, ``vae.enable_tiling``), and
:func:`oom_guard` turns an out-of-memory during load or sampling into a
:class:`GpuMemoryError` that names the option that would fit, so the engine stays up.
Nothing here knows a particular model: the soul and infinitetalk backends share it.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from engine.backends.base import BackendError

GIB = 1024**3
MODES: tuple[str, ...] = ("resident", "model_offload", "group_offload")
STAGES: tuple[str, ...] = ("encode", "denoise", "decode")
HEADROOM = 0.92  # the allocator's fragmentation and the CUDA context need the rest
GROUP_SIZES: tuple[int, ...] = (8, 4, 2, 1)  # blocks per offload group, fastest first
SMALL_MODEL_BYTES = GIB  # under group offload, models smaller than this stay on the GPU
# Working-memory figures of the Wan models both GPU backends run (same DiT blocks, same VAE code).
TEXT_EMBEDDING_PARAMETERS = 256_384 * 4096  # UMT5's token embedding: the largest single layer
ACTIVATION_BYTES_PER_UNIT = 28  # per token per hidden unit of one block (attention + FFN buffers, bf16)
VAE_BYTES_PER_PIXEL = 36  # decode working memory per output pixel-frame
VAE_TILE_PIXELS = 384 * 384  # one spatial tile of diffusers' Wan VAE tiling, with its overlap
ENCODE_WORKING = GIB // 2
MODE_LABELS = {
    "resident": "every model resident on the GPU",
    "model_offload": "model CPU offload (one model on the GPU at a time)",
    "group_offload": "group offload (transformer blocks streamed from CPU memory)",
}


def vae_decode_bytes(frames: int, width: int, height: int) -> tuple[int, int]:
    """(whole-frame, tiled) working memory of decoding ``frames`` at ``width``×``height``."""
    return (frames * width * height * VAE_BYTES_PER_PIXEL,
            frames * min(width * height, VAE_TILE_PIXELS) * VAE_BYTES_PER_PIXEL)


class GpuMemoryError(BackendError):
    """The GPU ran out of memory; ``hint`` names the placement option that would fit."""

    def __init__(self, message: str, hint: str = "", suggestion: dict[str, Any] | None = None) -> None:
        super().__init__(message, hint)
        self.suggestion = dict(suggestion or {})


@dataclass(frozen=True)
class Component:
    """One model of a pipeline: its weight bytes at the runtime dtype and the stage it runs in.

    ``blocks`` is the number of repeated blocks a group offload streams (0: the model is
    streamed leaf by leaf, so only its largest layer, ``leaf_bytes``, sits on the GPU).
    ``resident_always`` marks small parts (LoRA factors) kept on the GPU in every mode;
    ``companion`` a model that runs inside another of its stage (an adapter called from the
    transformer's blocks), so it is on the GPU whenever that stage runs.
    """

    name: str
    bytes: int
    stage: str
    blocks: int = 0
    leaf_bytes: int = 0
    resident_always: bool = False
    companion: bool = False

    def onloaded(self, blocks_per_group: int) -> int:
        """Bytes of this model on the GPU under group offload (current and prefetched group)."""
        if self.resident_always:
            return self.bytes
        if self.blocks > 0:
            per_block = self.bytes / self.blocks
            return int(per_block * min(self.blocks, blocks_per_group) * 2)
        return int(min(self.bytes, 2 * (self.leaf_bytes or self.bytes)))


@dataclass(frozen=True)
class MemoryPlan:
    """What a render needs: the models, and working memory per stage (activations, latents).

    ``decode_tiled`` is the decode stage's working memory with VAE tiling on.
    """

    components: tuple[Component, ...]
    working: Mapping[str, int]
    decode_tiled: int | None = None
    overhead: int = GIB
    label: str = ""

    def weights(self) -> int:
        return sum(c.bytes for c in self.components)

    def stage_working(self, stage: str, vae_tiling: bool) -> int:
        if stage == "decode" and vae_tiling and self.decode_tiled is not None:
            return int(self.decode_tiled)
        return int(self.working.get(stage, 0))


@dataclass
class Placement:
    """A decision: mode, VAE tiling, blocks per group, and the peak it expects."""

    mode: str
    vae_tiling: bool
    peak_bytes: int
    free_bytes: int | None = None
    blocks_per_group: int | None = None
    fits: bool = True
    breakdown: dict[str, float] = field(default_factory=dict)
    reason: str = ""

    @property
    def peak_gib(self) -> float:
        return self.peak_bytes / GIB

    def options(self) -> dict[str, Any]:
        """The job options that select this placement explicitly."""
        out: dict[str, Any] = {"placement": self.mode, "vae_tiling": self.vae_tiling}
        if self.blocks_per_group:
            out["group_blocks"] = self.blocks_per_group
        return out

    def describe(self) -> str:
        tiling = ", VAE tiling" if self.vae_tiling else ""
        group = f", {self.blocks_per_group} blocks per group" if self.blocks_per_group else ""
        return f"{MODE_LABELS.get(self.mode, self.mode)}{group}{tiling} (about {self.peak_gib:.1f} GB)"

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "vae_tiling": self.vae_tiling, "blocks_per_group": self.blocks_per_group,
                "peak_gib": round(self.peak_gib, 2), "fits": self.fits,
                "free_gib": None if self.free_bytes is None else round(self.free_bytes / GIB, 2),
                "breakdown": {k: round(v, 2) for k, v in self.breakdown.items()}, "reason": self.reason}


def estimate_peak(plan: MemoryPlan, mode: str, vae_tiling: bool = False,
                  blocks_per_group: int = 1) -> tuple[int, dict[str, float]]:
    """Peak GPU bytes of ``plan`` under ``mode``, and the per-stage breakdown in GiB."""
    if mode not in MODES:
        raise ValueError(f"unknown placement {mode!r}; choose one of {', '.join(MODES)}")
    always = sum(c.bytes for c in plan.components if c.resident_always)
    small = sum(c.bytes for c in plan.components if not c.resident_always and c.bytes < SMALL_MODEL_BYTES)
    stages: dict[str, int] = {}
    for stage in STAGES:
        users = [c for c in plan.components if c.stage == stage and not c.resident_always and not c.companion]
        companions = [c for c in plan.components if c.stage == stage and c.companion and not c.resident_always]
        work = plan.stage_working(stage, vae_tiling)
        if mode == "resident":
            stages[stage] = plan.weights() + work
        elif mode == "model_offload":
            # diffusers moves one model at a time; a stage holds the largest of its models and its companions.
            stages[stage] = always + sum(c.bytes for c in companions) + max((c.bytes for c in users), default=0) + work
        else:
            stages[stage] = (always + small + sum(c.onloaded(blocks_per_group) for c in companions)
                             + max((c.onloaded(blocks_per_group) for c in users if c.bytes >= SMALL_MODEL_BYTES),
                                   default=0) + work)
    peak = max(stages.values()) + plan.overhead
    breakdown = {f"{stage} stage": v / GIB for stage, v in stages.items()}
    breakdown["overhead"] = plan.overhead / GIB
    return peak, breakdown


def _candidates(mode: str | None, vae_tiling: bool | None, blocks: int | None) -> Iterator[tuple[str, bool, int | None]]:
    for m in MODES if mode in (None, "auto") else (mode,):
        for tiling in (False, True) if vae_tiling is None else (vae_tiling,):
            if m == "group_offload":
                for size in (blocks,) if blocks else GROUP_SIZES:
                    yield m, tiling, size
            else:
                yield m, tiling, None


def decide_placement(plan: MemoryPlan, free_bytes: int | None, mode: str | None = "auto",
                     vae_tiling: bool | None = None, blocks_per_group: int | None = None,
                     headroom: float = HEADROOM) -> Placement:
    """The fastest placement of ``plan`` that fits in ``free_bytes`` of free VRAM.

    ``free_bytes`` None means no GPU (or nothing measured): everything stays resident on the
    device it runs on. ``mode``/``vae_tiling``/``blocks_per_group`` pin a choice (job options);
    when nothing fits, the lightest candidate is returned with ``fits`` False.
    """
    if mode not in (None, "auto", *MODES):
        raise BackendError(f"unknown placement {mode!r}", hint=f"choose auto or one of {', '.join(MODES)}")
    if free_bytes is None:
        chosen_mode = mode if mode in MODES else "resident"
        tiling = bool(vae_tiling)
        peak, breakdown = estimate_peak(plan, chosen_mode, tiling, blocks_per_group or 1)
        return Placement(chosen_mode, tiling, peak, None, blocks_per_group if chosen_mode == "group_offload" else None,
                         True, breakdown, "no GPU memory figure: placed as asked")
    budget = free_bytes * headroom
    last: Placement | None = None
    for m, tiling, size in _candidates(mode, vae_tiling, blocks_per_group):
        peak, breakdown = estimate_peak(plan, m, tiling, size or 1)
        last = Placement(m, tiling, peak, free_bytes, size, peak <= budget, breakdown)
        if last.fits:
            last.reason = f"{last.describe()} fits in {free_bytes / GIB:.1f} GB free"
            return last
    assert last is not None
    last.reason = (f"nothing fits in {free_bytes / GIB:.1f} GB free: the lightest placement, "
                   f"{last.describe()}, needs more")
    return last


def lighter_than(plan: MemoryPlan, current: Placement, free_bytes: int | None) -> Placement | None:
    """The first placement after ``current`` that needs less memory and fits ``free_bytes`` (None: none does).

    An out-of-memory means the estimate of ``current`` was too low, so only a placement with a
    smaller peak than it helps (VAE tiling alone does not, when sampling was the peak).
    """
    order = list(_candidates(None, None, None))
    key = (current.mode, current.vae_tiling, current.blocks_per_group)
    start = order.index(key) + 1 if key in order else 0
    for m, tiling, size in order[start:]:
        peak, breakdown = estimate_peak(plan, m, tiling, size or 1)
        if peak >= current.peak_bytes:
            continue
        if free_bytes is None or peak <= free_bytes * HEADROOM:
            return Placement(m, tiling, peak, free_bytes, size, True, breakdown)
    return None


# --------------------------------------------------------------------------- out of memory
def is_out_of_memory(exc: BaseException) -> bool:
    """True for torch's OutOfMemoryError and the CUDA runtime's 'out of memory' RuntimeErrors."""
    try:
        import torch

        if isinstance(exc, torch.OutOfMemoryError):
            return True
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def out_of_memory_error(stage: str, current: Placement | None, plan: MemoryPlan | None,
                        free_bytes: int | None = None, smaller: str = "") -> GpuMemoryError:
    """The error a user sees: what ran out, what was in use, and the option that fits."""
    used = f" with {current.describe()}" if current is not None else ""
    message = f"the GPU ran out of memory while {stage}{used}"
    fallback = smaller or "render a draft at 480p"
    if plan is None or current is None:
        return GpuMemoryError(message, hint=f"set placement: group_offload and vae_tiling: true, or {fallback}",
                              suggestion={"placement": "group_offload", "vae_tiling": True})
    budget = free_bytes if free_bytes is not None else current.free_bytes
    better = lighter_than(plan, current, budget)
    if better is not None:
        opts = ", ".join(f"{k}: {str(v).lower() if isinstance(v, bool) else v}" for k, v in better.options().items())
        return GpuMemoryError(message, hint=f"set {opts} ({better.describe()}); or {fallback}",
                              suggestion=better.options())
    free = f"{budget / GIB:.1f} GB free" if budget is not None else "the free memory"
    return GpuMemoryError(message, hint=f"even the lightest placement needs more than {free}: {fallback}, "
                                         "or close other programs that use the GPU",
                          suggestion={"placement": "group_offload", "vae_tiling": True})


def free_cuda_memory() -> None:
    """Release cached blocks after a failure so the next job starts clean."""
    import gc

    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except Exception:  # noqa: BLE001 - cleaning up must never raise over the real error
        pass


@contextmanager
def oom_guard(stage: str, current: Placement | None = None, plan: MemoryPlan | None = None,
              smaller: str = "") -> Iterator[None]:
    """Run a load or sampling step; an out-of-memory inside becomes a :class:`GpuMemoryError`."""
    try:
        yield
    except GpuMemoryError:
        raise
    except (RuntimeError, MemoryError) as exc:
        if not is_out_of_memory(exc):
            raise
        free_cuda_memory()
        raise out_of_memory_error(stage, current, plan, smaller=smaller) from exc


# ------------------------------------------------------------------------------- measure
def resolve_dtypes(device: str | None, dtype: str | None, vae_dtype: str | None) -> tuple[Any, Any, Any]:
    """(torch device, model dtype, VAE dtype) from option strings: CUDA when present, bf16 there
    and fp32 on CPU; the VAE stays fp32 unless asked (its decode is the most dtype-sensitive step).
    A CUDA device asked for on a machine without one is refused before any weight is read."""
    import torch

    from engine.backends.soul.errors import ModelFolderError

    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ModelFolderError("CUDA was requested but no CUDA GPU is available", hint="choose device cpu")
    default = torch.bfloat16 if dev.type == "cuda" else torch.float32
    return dev, getattr(torch, dtype) if dtype else default, getattr(torch, vae_dtype) if vae_dtype else torch.float32


_DRIVER_FILES = ("/proc/driver/nvidia/version", "/dev/nvidiactl", "/dev/dxg", "/dev/kfd")  # NVIDIA, WSL, ROCm
_DRIVER_LIBRARIES = {"win32": ("nvcuda",), "darwin": ()}
_QUERY = ("import json, torch\n"
          "ok = torch.cuda.is_available()\n"
          "p = torch.cuda.get_device_properties(0) if ok else None\n"
          "print(json.dumps([ok, p.name if p else '', p.total_memory / 1024**3 if p else 0.0]))\n")
QUERY_TIMEOUT_S = 120.0


def gpu_driver_present() -> bool:
    """Whether a GPU driver torch could use is installed (NVIDIA's, under WSL, or ROCm's).

    Reads device files and the linker's cache only: no torch import and no library loaded,
    so a machine without a GPU learns it for free.
    """
    if any(os.path.exists(path) for path in _DRIVER_FILES):
        return True
    import ctypes.util

    names = _DRIVER_LIBRARIES.get(sys.platform, ("cuda",))
    return any(ctypes.util.find_library(name) for name in names)


def _torch_cuda_device() -> tuple[bool, str, float]:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False, "", 0.0
    if not torch.cuda.is_available():
        return False, "", 0.0
    props = torch.cuda.get_device_properties(0)
    return True, props.name, props.total_memory / 1024**3


def _child_cuda_device(timeout: float = QUERY_TIMEOUT_S) -> tuple[bool, str, float]:
    """Ask torch in a short-lived child process, so this one never holds torch or a CUDA context."""
    try:
        out = subprocess.run([sys.executable, "-c", _QUERY], capture_output=True, text=True, timeout=timeout,
                             stdin=subprocess.DEVNULL)
        ok, name, total = json.loads(out.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError, TypeError):
        return False, "", 0.0  # torch or the driver is broken there: no usable GPU here either
    if ok is not True or not isinstance(name, str) or isinstance(total, bool) or not isinstance(total, int | float) \
            or not math.isfinite(total) or total <= 0:
        return False, "", 0.0  # an answer of the wrong shape is no GPU, never a made-up one
    return True, name, float(total)


def cuda_device(isolated: bool = False) -> tuple[bool, str, float]:
    """(CUDA present, name of GPU 0, its total memory in GiB): what a backend reports it runs on.

    Without a GPU driver the answer is known without importing torch (about 200 MB of
    memory). ``isolated`` (capability probes) asks torch in a child process unless torch is
    already loaded here, so an engine that only renders sketches never loads it at all.
    """
    if not gpu_driver_present():
        return False, "", 0.0
    if isolated and "torch" not in sys.modules:
        return _child_cuda_device()
    return _torch_cuda_device()


def measured_free_bytes(device: Any = None) -> int | None:
    """Free VRAM on ``device`` (CUDA only); None without a GPU."""
    try:
        import torch

        if not torch.cuda.is_available():
            return None
        dev = torch.device(device) if device is not None else torch.device("cuda")
        if dev.type != "cuda":
            return None
        free, _total = torch.cuda.mem_get_info(dev)
        return int(free)
    except Exception:  # noqa: BLE001 - a broken driver means no figure
        return None


def placement_from_options(plan: MemoryPlan, options: Mapping[str, Any], free_bytes: int | None) -> Placement:
    """Read ``placement``/``vae_tiling``/``group_blocks`` (and the older ``cpu_offload``) from job options."""
    mode = options.get("placement", "auto") or "auto"
    if mode == "auto" and options.get("cpu_offload"):
        mode = "model_offload"
    tiling = options.get("vae_tiling")
    tiling = None if tiling in (None, "auto") else bool(tiling)
    blocks = options.get("group_blocks")
    return decide_placement(plan, free_bytes, str(mode), tiling, int(blocks) if blocks else None)


# --------------------------------------------------------------------------------- apply
def _has_block_list(module: Any) -> bool:
    from torch import nn

    return any(isinstance(child, nn.ModuleList | nn.Sequential) for child in module.children())


def _module_bytes(module: Any) -> int:
    return sum(p.numel() * p.element_size() for p in module.parameters())


def apply_placement(pipe: Any, placement: Placement, device: Any, modules: Mapping[str, Any] | None = None,
                    vae: Any = None, keep_on_device: tuple[str, ...] = (), small_bytes: int = SMALL_MODEL_BYTES) -> None:
    """Carry ``placement`` out on a diffusers-style pipeline.

    ``modules`` are the models to place (default: the ``nn.Module`` entries of
    ``pipe.components``), ``vae`` the one to tile (default ``pipe.vae``). Group offload
    streams models that hold a top-level block list block by block and the others leaf by
    leaf, with CUDA streams on a GPU so transfers overlap compute; models named in
    ``keep_on_device`` (parts called from inside another model) and models under
    ``small_bytes`` (:data:`SMALL_MODEL_BYTES`: the VAE, wav2vec2) simply stay on the GPU.
    """
    import torch
    from torch import nn

    device = torch.device(device)
    mods = dict(modules) if modules is not None else {
        k: v for k, v in getattr(pipe, "components", {}).items() if isinstance(v, nn.Module)}
    vae = vae if vae is not None else getattr(pipe, "vae", None)
    if placement.vae_tiling and vae is not None and hasattr(vae, "enable_tiling"):
        vae.enable_tiling()
    if placement.mode == "resident" or (device.type != "cuda" and placement.mode == "model_offload"):
        for module in mods.values():
            module.to(device)
        return
    if placement.mode == "model_offload":
        pipe.enable_model_cpu_offload(device=device)
        return
    from diffusers.hooks import apply_group_offloading

    stream = device.type == "cuda"
    for name, module in mods.items():
        if name in keep_on_device or _module_bytes(module) < small_bytes:
            module.to(device)
        elif _has_block_list(module):
            apply_group_offloading(module, onload_device=device, offload_device=torch.device("cpu"),
                                   offload_type="block_level", num_blocks_per_group=placement.blocks_per_group or 1,
                                   use_stream=stream)
        else:
            apply_group_offloading(module, onload_device=device, offload_device=torch.device("cpu"),
                                   offload_type="leaf_level", use_stream=stream)
