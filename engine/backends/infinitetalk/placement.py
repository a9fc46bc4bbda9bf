"""Placement of the InfiniteTalk pipeline: the shared decision with this model's sizes.

A thin layer over :mod:`engine.backends.placement` (which soul uses too): the memory plan
comes from :mod:`.memory`, the audio adapter (whose layers run inside the transformer's
blocks) is placed together with the transformer, and an out-of-memory names the option
that would fit this render.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.backends.base import BackendError
from engine.backends.infinitetalk.memory import RenderShape, memory_plan
from engine.backends.placement import (
    GIB,
    MemoryPlan,
    Placement,
    free_cuda_memory,
    is_out_of_memory,
    out_of_memory_error,
    placement_from_options,
)
from engine.backends.placement import (
    apply_placement as _apply,
)

_CPU_OFFLOAD_MODES = {True: "model_offload", "model": "model_offload", "group": "group_offload",
                      "sequential": "group_offload"}


def _parameters(options: Mapping[str, Any]) -> dict[str, int]:
    """Parameter counts a loaded folder reported (option ``_parameters``), else the reference sizes."""
    return {str(k): int(v) for k, v in (options.get("_parameters") or {}).items()}


def plan_for(width: int, height: int, frames: int, options: Mapping[str, Any], speakers: int = 1) -> MemoryPlan:
    """The memory plan of one window of this render."""
    window = min(int(frames), int(options.get("window_frames", 81)))
    # The draft LoRA's factors sit on the GPU while a draft renders; plan for them unless told there is none.
    draft = bool(options.get("_draft_lora", True))
    return memory_plan(RenderShape(int(width), int(height), max(5, window), max(1, speakers)),
                       _parameters(options), draft_lora=draft)


def normalised_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Job options with the backend's ``cpu_offload`` spellings mapped onto ``placement``."""
    out = dict(options)
    offload = out.get("cpu_offload")
    if out.get("placement") in (None, "auto") and offload in _CPU_OFFLOAD_MODES:
        out["placement"] = _CPU_OFFLOAD_MODES[offload]
        if offload == "sequential":
            out.setdefault("group_blocks", 1)
    out.pop("cpu_offload", None)
    return out


def plan_placement(free_vram_gb: float | None, width: int, height: int, frames: int,
                   options: Mapping[str, Any], speakers: int = 1) -> Placement:
    """Decide the placement of a render from the free VRAM (None: no GPU) and the job options."""
    plan = plan_for(width, height, frames, options, speakers)
    free = None if free_vram_gb is None else int(free_vram_gb * GIB)
    return placement_from_options(plan, normalised_options(options), free)


def apply_placement(pipe: Any, placement: Placement, device: Any) -> None:
    """Place every model of ``pipe``; the audio adapter follows the transformer."""
    from torch import nn

    modules = {k: v for k, v in pipe.components.items() if isinstance(v, nn.Module)}
    adapter = getattr(pipe, "audio_adapter", None)
    if isinstance(adapter, nn.Module):
        modules.setdefault("audio_adapter", adapter)
    _apply(pipe, placement, device, modules=modules, vae=getattr(pipe, "vae", None), keep_on_device=("audio_adapter",))
    if placement.mode == "model_offload" and isinstance(adapter, nn.Module):
        # enable_model_cpu_offload moves only the pipeline's sequence; the adapter runs inside the
        # transformer's blocks, so it stays on the GPU (the memory plan counts it as always resident).
        adapter.to(device)


def oom_error(exc: BaseException, stage: str, options: Mapping[str, Any], width: int = 832, height: int = 480,
              frames: int = 81, speakers: int = 1, current: Placement | None = None,
              free_vram_gb: float | None = None) -> BackendError:
    """The error for an out-of-memory during ``stage``: what was used and the option that would fit."""
    if not is_out_of_memory(exc):
        return BackendError(f"{stage} failed: {exc}")
    free_cuda_memory()
    plan = plan_for(width, height, frames, options, speakers)
    if current is None:
        current = placement_from_options(plan, normalised_options(options),
                                         None if free_vram_gb is None else int(free_vram_gb * GIB))
    smaller = "render at 480p" if height * width > 832 * 480 else "render the shot as a draft"
    budget = None if free_vram_gb is None else int(free_vram_gb * GIB)
    return out_of_memory_error(stage, current, plan, budget, smaller=smaller)
