"""Build an :class:`InfiniteTalkPipeline` from a validated local folder.

Only safetensors are read, never the network. bf16 on CUDA, fp32 on CPU; the VAE stays
fp32 unless ``vae_dtype`` says otherwise. Where the models live on the GPU is decided in
one place, :func:`place_pipeline`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from engine.backends.infinitetalk.folder import adapter_path, audio_folder, validate_model_folder
from engine.backends.placement import resolve_dtypes
from engine.backends.soul.errors import ModelFolderError
from engine.backends.soul.folder import ValidationReport


@dataclass
class LoadOptions:
    """What to load and how to place it."""

    adapter: str = "single"  # "single" or "multi"
    adapter_folder: str | None = None
    audio_encoder_folder: str | None = None
    device: str | None = None  # None: cuda when available, else cpu
    dtype: str | None = None  # None: bfloat16 on cuda, float32 on cpu
    vae_dtype: str | None = None  # None: float32
    cpu_offload: bool | str = False
    vae_tiling: bool | None = None  # None: decided from the free VRAM
    placement: str = "auto"  # auto | resident | model_offload | group_offload
    group_blocks: int | None = None
    resolution: str = "480p"  # the largest render the placement is planned for
    attention_backend: str | None = None
    torch_compile: bool | str | None = None

    @classmethod
    def from_options(cls, options: dict[str, Any], adapter: str = "single") -> LoadOptions:
        return cls(
            adapter=adapter,
            adapter_folder=options.get("adapter_folder"),
            audio_encoder_folder=options.get("audio_encoder_folder"),
            device=options.get("device"),
            dtype=options.get("dtype"),
            vae_dtype=options.get("vae_dtype"),
            cpu_offload=options.get("cpu_offload", False),
            vae_tiling=None if options.get("vae_tiling") in (None, "auto") else bool(options.get("vae_tiling")),
            placement=str(options.get("placement") or "auto"),
            group_blocks=int(options["group_blocks"]) if options.get("group_blocks") else None,
            resolution=str(options.get("resolution") or "480p"),
            attention_backend=options.get("attention_backend") or None,
            torch_compile=options.get("torch_compile") or None,
        )

    def key(self) -> tuple[Any, ...]:
        return (self.adapter, self.adapter_folder, self.audio_encoder_folder, self.device, self.dtype,
                self.vae_dtype, self.cpu_offload, self.vae_tiling, self.placement, self.group_blocks,
                self.resolution, self.attention_backend, self.torch_compile)

    def resolve(self) -> tuple[torch.device, torch.dtype, torch.dtype]:
        return resolve_dtypes(self.device, self.dtype, self.vae_dtype)


def place_pipeline(pipe: Any, options: LoadOptions, device: torch.device) -> None:
    """Put the pipeline's models where they run, from the measured free VRAM and the options.

    Resident, model offload or group offload, VAE tiling on or off (:mod:`.placement`);
    the audio adapter runs inside the transformer's blocks, so it follows the transformer.
    Then the attention backend and ``torch.compile`` (:mod:`.speed`). Both records go into
    the take's sidecar.
    """
    from engine.backends.infinitetalk.placement import apply_placement, plan_placement
    from engine.backends.infinitetalk.speed import apply_speed_options
    from engine.backends.placement import GIB, measured_free_bytes

    free = measured_free_bytes(device) if device.type == "cuda" else None
    opts = {"placement": options.placement, "group_blocks": options.group_blocks, "vae_tiling": options.vae_tiling,
            "cpu_offload": options.cpu_offload}
    width, height = (1280, 720) if options.resolution == "720p" else (832, 480)
    speakers = 2 if options.adapter == "multi" else 1  # a two-shot adds the routing scores to the plan
    pipe.placement = plan_placement(None if free is None else free / GIB, width, height, 81, opts, speakers=speakers)
    apply_placement(pipe, pipe.placement, device)
    pipe.speed = apply_speed_options(pipe, {"attention_backend": options.attention_backend,
                                            "torch_compile": options.torch_compile})


def load_infinitetalk_pipeline(folder: str | os.PathLike[str], options: LoadOptions | None = None,
                               report: ValidationReport | None = None) -> Any:
    """Validate ``folder`` (unless ``report`` is given) and load every component from it.

    Raises :class:`ModelFolderError` naming what is wrong before any weight is read.
    """
    from diffusers import AutoencoderKLWan, WanTransformer3DModel
    from diffusers.utils import logging as diffusers_logging
    from transformers import (
        AutoTokenizer,
        CLIPImageProcessor,
        CLIPVisionModel,
        UMT5EncoderModel,
        Wav2Vec2FeatureExtractor,
        Wav2Vec2Model,
    )
    from transformers.utils import logging as transformers_logging

    from engine.backends.infinitetalk.adapter import InfiniteTalkAdapter
    from engine.backends.infinitetalk.pipeline import InfiniteTalkPipeline

    options = options or LoadOptions()
    root = Path(folder).expanduser()
    report = report or validate_model_folder(root, adapter_folder=options.adapter_folder,
                                             audio_encoder_folder=options.audio_encoder_folder, adapter=options.adapter)
    report.raise_for_errors()
    device, dtype, vae_dtype = options.resolve()  # refuses CUDA where there is none
    safe = {"use_safetensors": True, "local_files_only": True}
    transformers_logging.disable_progress_bar()
    diffusers_logging.disable_progress_bar()
    audio_dir = audio_folder(root, options.audio_encoder_folder)
    try:
        transformer = WanTransformer3DModel.from_pretrained(root / "transformer", dtype=dtype, **safe)
        vae = AutoencoderKLWan.from_pretrained(root / "vae", dtype=vae_dtype, **safe)
        text_encoder = UMT5EncoderModel.from_pretrained(root / "text_encoder", dtype=dtype, **safe)
        image_encoder = CLIPVisionModel.from_pretrained(root / "image_encoder", dtype=dtype, **safe)
        image_processor = CLIPImageProcessor.from_pretrained(root / "image_processor", local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(root / "tokenizer", local_files_only=True)
        audio_encoder = Wav2Vec2Model.from_pretrained(audio_dir, dtype=torch.float32, **safe)
        feature_extractor = Wav2Vec2FeatureExtractor.from_pretrained(audio_dir, local_files_only=True)
        adapter = InfiniteTalkAdapter.from_published(
            adapter_path(root, options.adapter, options.adapter_folder),
            num_heads=int(transformer.config.num_attention_heads),
            audio_layers=int(audio_encoder.config.num_hidden_layers), audio_dim=int(audio_encoder.config.hidden_size),
            torch_dtype=dtype,
        )
        scheduler = _scheduler(root)
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise ModelFolderError(f"InfiniteTalk model folder {root} failed to load: {exc}",
                               hint="validate the folder and replace the damaged component") from exc
    for model in (transformer, vae, text_encoder, image_encoder, audio_encoder, adapter):
        model.eval().requires_grad_(False)
    pipe = InfiniteTalkPipeline(
        tokenizer=tokenizer, text_encoder=text_encoder, image_encoder=image_encoder,
        image_processor=image_processor, vae=vae, scheduler=scheduler, transformer=transformer,
        audio_adapter=adapter, audio_encoder=audio_encoder, feature_extractor=feature_extractor,
    )
    place_pipeline(pipe, options, device)
    pipe.set_progress_bar_config(disable=True)
    pipe.model_report = report
    pipe.adapter_variant = options.adapter
    return pipe


def _scheduler(folder: Path) -> Any:
    import diffusers

    config = json.loads((folder / "scheduler" / "scheduler_config.json").read_text())
    return getattr(diffusers, config["_class_name"]).from_config(config)
