"""Build a :class:`SoulPipeline` from a validated local model folder.

Only safetensors are read (``use_safetensors=True``, never the network). bf16 on CUDA,
fp32 on CPU; the VAE stays in fp32 for cleaner decodes. Where the models live is decided
by :mod:`engine.backends.placement` from the GPU's measured free memory and the folder's
real parameter counts (:mod:`.memory`): resident when everything fits, else model or
group CPU offload, with VAE tiling when the decode would not fit. An out-of-memory while
moving the models becomes a :class:`~engine.backends.placement.GpuMemoryError` naming the
option that fits. ``attention_backend`` and ``torch_compile`` are diffusers' own.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from engine.backends.placement import resolve_dtypes
from engine.backends.soul.errors import ModelFolderError
from engine.backends.soul.folder import ValidationReport, validate_model_folder

FINAL_SHAPE = (1280, 704, 121)  # the heaviest single pass soul renders: a 720p final chunk


@dataclass
class LoadOptions:
    """How to place the model: device, dtypes, placement and speed options.

    ``placement`` is ``auto`` (decided from the GPU's measured free memory), ``resident``,
    ``model_offload`` or ``group_offload``; ``vae_tiling`` None means automatic. The old
    ``cpu_offload: true`` still selects model offload. ``shape`` is the (width, height,
    frames) of the largest chunk the loaded model will render, which sizes the decision.
    """

    device: str | None = None  # None: cuda when available, else cpu
    dtype: str | None = None  # None: bfloat16 on cuda, float32 on cpu
    vae_dtype: str | None = None  # None: float32
    placement: str = "auto"
    vae_tiling: bool | None = None
    group_blocks: int | None = None
    cpu_offload: bool = False
    attention_backend: str | None = None
    torch_compile: str | bool | None = None
    shape: tuple[int, int, int] = FINAL_SHAPE

    @classmethod
    def from_options(cls, options: dict[str, Any], shape: tuple[int, int, int] = FINAL_SHAPE) -> LoadOptions:
        tiling = options.get("vae_tiling")
        return cls(
            device=options.get("device"),
            dtype=options.get("dtype"),
            vae_dtype=options.get("vae_dtype"),
            placement=str(options.get("placement") or "auto"),
            vae_tiling=None if tiling in (None, "auto") else bool(tiling),
            group_blocks=int(options["group_blocks"]) if options.get("group_blocks") else None,
            cpu_offload=bool(options.get("cpu_offload", False)),
            attention_backend=options.get("attention_backend") or None,
            torch_compile=options.get("torch_compile") or None,
            shape=tuple(shape),  # type: ignore[arg-type]
        )

    def resolve(self) -> tuple[torch.device, torch.dtype, torch.dtype]:
        return resolve_dtypes(self.device, self.dtype, self.vae_dtype)

    def placement_options(self) -> dict[str, Any]:
        """The options :func:`~engine.backends.placement.placement_from_options` reads."""
        return {"placement": self.placement, "vae_tiling": self.vae_tiling, "group_blocks": self.group_blocks,
                "cpu_offload": self.cpu_offload}

    def speed_options(self) -> dict[str, Any]:
        return {"attention_backend": self.attention_backend, "torch_compile": self.torch_compile}


def decide(report: ValidationReport, options: LoadOptions, device: torch.device, dtype: torch.dtype,
           free_bytes: int | None = None) -> tuple[Any, Any]:
    """(placement, memory plan) for ``options.shape`` from the folder's real parameter counts.

    ``free_bytes`` defaults to the free memory measured on ``device`` (None on a CPU).
    """
    from engine.backends.placement import measured_free_bytes, placement_from_options
    from engine.backends.soul.memory import folder_parameters, memory_plan

    width, height, frames = options.shape
    tr = report.components.get("transformer")
    cfg = tr.config if tr is not None else {}
    plan = memory_plan(width, height, frames, folder_parameters(report), dtype_bytes=torch.finfo(dtype).bits // 8,
                       blocks=int(cfg.get("num_layers", 30)),
                       model_width=int(cfg.get("num_attention_heads", 24)) * int(cfg.get("attention_head_dim", 128)))
    if free_bytes is None and device.type == "cuda":
        free_bytes = measured_free_bytes(device)
    return placement_from_options(plan, options.placement_options(), free_bytes), plan


def _scheduler(folder: Path) -> Any:
    import diffusers

    config = json.loads((folder / "scheduler" / "scheduler_config.json").read_text())
    cls = getattr(diffusers, config["_class_name"])
    return cls.from_config(config)


def load_soul_pipeline(
    folder: str | os.PathLike[str], options: LoadOptions | None = None, report: ValidationReport | None = None
) -> Any:
    """Validate ``folder`` (unless ``report`` is given) and load every component from it.

    Raises :class:`ModelFolderError` naming what is wrong before any weight is read.
    """
    from diffusers import AutoencoderKLWan, WanTransformer3DModel
    from diffusers.utils import logging as diffusers_logging
    from transformers import AutoTokenizer, UMT5EncoderModel
    from transformers.utils import logging as transformers_logging

    from engine.backends.infinitetalk.speed import apply_speed_options
    from engine.backends.placement import apply_placement, oom_guard
    from engine.backends.soul.adapter import SoulAudioAdapter
    from engine.backends.soul.audio_checkpoint import load_audio_encoder
    from engine.backends.soul.pipeline import SoulPipeline

    root = Path(folder).expanduser()
    report = report or validate_model_folder(root)
    report.raise_for_errors()
    options = options or LoadOptions()
    device, dtype, vae_dtype = options.resolve()  # refuses CUDA where there is none
    safe = {"use_safetensors": True, "local_files_only": True}
    # The engine reports its own progress; library progress bars would only clutter its log.
    transformers_logging.disable_progress_bar()
    diffusers_logging.disable_progress_bar()
    try:
        transformer = WanTransformer3DModel.from_pretrained(root / "transformer", torch_dtype=dtype, **safe)
        vae = AutoencoderKLWan.from_pretrained(root / "vae", torch_dtype=vae_dtype, **safe)
        adapter = SoulAudioAdapter.from_pretrained(root / "audio_adapter", torch_dtype=dtype, **safe)
        text_encoder = UMT5EncoderModel.from_pretrained(root / "text_encoder", dtype=dtype, **safe)
        audio_encoder, feature_extractor, _kind = load_audio_encoder(root / "audio_encoder", dtype)
        tokenizer = AutoTokenizer.from_pretrained(root / "tokenizer", local_files_only=True)
        scheduler = _scheduler(root)
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise ModelFolderError(f"soul model folder {root} failed to load: {exc}",
                               hint="validate the folder and replace the damaged component") from exc
    for model in (transformer, vae, adapter, text_encoder, audio_encoder):
        model.eval().requires_grad_(False)
    pipe = SoulPipeline(
        tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, scheduler=scheduler, transformer=transformer,
        audio_adapter=adapter, audio_encoder=audio_encoder, feature_extractor=feature_extractor,
    )
    placement, plan = decide(report, options, device, dtype)
    with oom_guard("moving the soul model to the GPU", placement, plan, smaller="render a draft at 480p"):
        apply_placement(pipe, placement, device)
        if placement.mode == "model_offload" and device.type == "cuda":
            adapter.to(device)  # runs inside the transformer's blocks: it stays with them
    pipe.set_progress_bar_config(disable=True)
    pipe.soul_report = report
    pipe.soul_placement = placement
    pipe.soul_memory_plan = plan
    pipe.soul_speed = apply_speed_options(pipe, options.speed_options())
    return pipe
