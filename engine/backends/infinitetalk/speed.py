"""Speed options of a loaded pipeline: diffusers' attention backend and regional ``torch.compile``.

``attention_backend`` goes through diffusers' dispatcher (``ModelMixin.set_attention_backend``),
so the model code stays diffusers' own. Backends that fetch kernels from a hub are refused:
the engine never downloads. ``torch_compile`` compiles each ``WanTransformerBlock`` once
(diffusers' ``compile_repeated_blocks``): 40 identical blocks share one compiled graph, so
the first window pays seconds, not minutes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.backends.base import BackendError

# name → what must be installed for it (None: part of PyTorch).
ATTENTION_BACKENDS: dict[str, str | None] = {
    "native": None,
    "_native_cudnn": None,
    "_native_efficient": None,
    "_native_flash": None,
    "_native_math": None,
    "flex": None,
    "flash": "flash-attn",
    "_flash_3": "flash-attn 3 (built from source)",
    "sage": "sageattention",
    "xformers": "xformers",
}
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def set_attention_backend(model: Any, name: str) -> str:
    """Route ``model``'s attention through diffusers backend ``name``; a clear error when it cannot run here."""
    key = str(name).strip().lower()
    if key not in ATTENTION_BACKENDS:
        raise BackendError(f"unknown attention backend {name!r}",
                           hint=f"choose one of {', '.join(ATTENTION_BACKENDS)} (hub kernels are not downloaded)")
    try:
        model.set_attention_backend(key)
    except (RuntimeError, ValueError, ImportError) as exc:
        need = ATTENTION_BACKENDS[key]
        hint = f"install {need} in the engine's environment, or use attention_backend: native" if need else (
            "use attention_backend: native")
        raise BackendError(f"attention backend {key!r} cannot run here ({exc})", hint=hint) from exc
    return key


def compile_transformer(model: Any, mode: str | bool | None = True, backend: str = "inductor") -> str:
    """Compile the transformer's repeated blocks; returns the mode used."""
    chosen = "default" if mode in (True, None, "true", "default") else str(mode)
    if chosen not in COMPILE_MODES:
        raise BackendError(f"unknown torch_compile mode {mode!r}", hint=f"choose true or one of {', '.join(COMPILE_MODES)}")
    kwargs: dict[str, Any] = {"fullgraph": False, "dynamic": False, "backend": backend}
    if chosen != "default" and backend == "inductor":
        kwargs["mode"] = chosen
    try:
        model.compile_repeated_blocks(**kwargs)
    except (RuntimeError, ValueError) as exc:
        raise BackendError(f"torch.compile failed ({exc})", hint="turn torch_compile off") from exc
    return chosen


def apply_speed_options(pipe: Any, options: Mapping[str, Any], compile_backend: str = "inductor") -> dict[str, Any]:
    """Apply ``attention_backend`` and ``torch_compile`` from job options; returns what was applied (sidecar)."""
    applied: dict[str, Any] = {}
    name = options.get("attention_backend")
    if name:
        applied["attention_backend"] = set_attention_backend(pipe.transformer, str(name))
        adapter = getattr(pipe, "audio_adapter", None)
        if adapter is not None and hasattr(adapter, "set_attention_backend"):
            try:
                adapter.set_attention_backend(applied["attention_backend"])
            except (RuntimeError, ValueError):
                pass  # the adapter's own attention stays on SDPA
    mode = options.get("torch_compile")
    if mode not in (None, False, "false", "off", ""):
        applied["torch_compile"] = compile_transformer(pipe.transformer, mode, compile_backend)
    return applied


def speed_key(options: Mapping[str, Any]) -> tuple[Any, ...]:
    """The part of a backend's load key that these options change (a changed value reloads)."""
    return (options.get("attention_backend") or None, options.get("torch_compile") or None)
