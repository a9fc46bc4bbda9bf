"""Build a :class:`SoulPipeline` from a validated local model folder.

Only safetensors are read (``use_safetensors=True``, never the network). bf16 on CUDA,
fp32 on CPU; the VAE may stay in fp32 for cleaner decodes. ``cpu_offload`` moves each
model to the GPU only while it runs and ``vae_tiling`` decodes in spatial tiles, which
together bring a 720p render within a 24 GB card.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from engine.backends.soul.errors import ModelFolderError
from engine.backends.soul.folder import ValidationReport, validate_model_folder


@dataclass
class LoadOptions:
    """How to place the model: device, dtypes, memory savers."""

    device: str | None = None  # None: cuda when available, else cpu
    dtype: str | None = None  # None: bfloat16 on cuda, float32 on cpu
    vae_dtype: str | None = None  # None: float32
    cpu_offload: bool = False
    vae_tiling: bool = False

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> LoadOptions:
        return cls(
            device=options.get("device"),
            dtype=options.get("dtype"),
            vae_dtype=options.get("vae_dtype"),
            cpu_offload=bool(options.get("cpu_offload", False)),
            vae_tiling=bool(options.get("vae_tiling", False)),
        )

    def resolve(self) -> tuple[torch.device, torch.dtype, torch.dtype]:
        device = torch.device(self.device or ("cuda" if torch.cuda.is_available() else "cpu"))
        default = torch.bfloat16 if device.type == "cuda" else torch.float32
        dtype = getattr(torch, self.dtype) if self.dtype else default
        vae_dtype = getattr(torch, self.vae_dtype) if self.vae_dtype else torch.float32
        return device, dtype, vae_dtype


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

    from engine.backends.soul.adapter import SoulAudioAdapter
    from engine.backends.soul.audio_checkpoint import load_audio_encoder
    from engine.backends.soul.pipeline import SoulPipeline

    root = Path(folder).expanduser()
    report = report or validate_model_folder(root)
    report.raise_for_errors()
    options = options or LoadOptions()
    device, dtype, vae_dtype = options.resolve()
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ModelFolderError("CUDA was requested but no CUDA GPU is available", hint="choose device cpu")
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
    if options.vae_tiling:
        vae.enable_tiling()
    if options.cpu_offload and device.type == "cuda":
        pipe.enable_model_cpu_offload(device=device)
    else:
        pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    pipe.soul_report = report
    return pipe
