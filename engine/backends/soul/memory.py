"""GPU memory of a soul render, as a :class:`~engine.backends.placement.MemoryPlan`.

Weights are the parameter counts a validated model folder reports (safetensors headers),
so the audio adapter counts at its real size (about 1.36 B parameters with Whisper
large-v3 features and one audio attention per block, far more than a rule of thumb);
parts the folder lacks take the published sizes of Wan2.2-TI2V-5B, UMT5-XXL and
whisper-large-v3. Working memory follows the token count of one chunk: the Wan2.2 VAE
maps 16×16 pixels and 4 frames to one latent, the DiT patchifies 2×2, so 121 frames at
1280×704 are 31×22×40 = 27,280 tokens.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.backends.placement import (
    ACTIVATION_BYTES_PER_UNIT,
    ENCODE_WORKING,
    TEXT_EMBEDDING_PARAMETERS,
    Component,
    MemoryPlan,
    vae_decode_bytes,
)

REFERENCE_PARAMETERS: dict[str, int] = {
    "transformer": 4_999_820_000,
    "audio_adapter": 1_356_474_368,  # SoulAudioAdapter() defaults, counted on the meta device
    "text_encoder": 5_680_000_000,
    "audio_encoder": 636_968_960,  # whisper-large-v3's encoder
    "vae": 705_000_000,
}
RUNTIME_BYTES: dict[str, int] = {"vae": 4}  # the VAE decodes in fp32 by default
REFERENCE_BLOCKS = 30
REFERENCE_WIDTH = 3072


def latent_tokens(width: int, height: int, frames: int) -> int:
    return ((frames - 1) // 4 + 1) * (height // 32) * (width // 32)


def folder_parameters(report: Any) -> dict[str, int]:
    """Parameter counts per component from a :class:`~engine.backends.soul.folder.ValidationReport`."""
    if report is None:
        return {}
    return {name: int(c.parameters) for name, c in report.components.items() if getattr(c, "parameters", 0)}


def memory_plan(width: int, height: int, frames: int, parameters: Mapping[str, int] | None = None,
                dtype_bytes: int = 2, batch_cfg_passes: int = 1, blocks: int = REFERENCE_BLOCKS,
                model_width: int = REFERENCE_WIDTH) -> MemoryPlan:
    """The plan of one chunk of ``width``×``height``×``frames``; ``parameters`` override the reference counts."""
    params = {**REFERENCE_PARAMETERS, **dict(parameters or {})}

    def size(part: str) -> int:
        return int(params[part]) * RUNTIME_BYTES.get(part, dtype_bytes)

    tokens = latent_tokens(width, height, frames)
    activations = tokens * model_width * ACTIVATION_BYTES_PER_UNIT * max(1, batch_cfg_passes)
    latents = 6 * tokens * 4 * 48 * 4  # a few fp32 copies of the 48-channel latents and velocities
    decode_full, decode_tiled = vae_decode_bytes(frames, width, height)
    return MemoryPlan(
        components=(
            Component("transformer", size("transformer"), "denoise", blocks=blocks),
            Component("audio_adapter", size("audio_adapter"), "denoise", blocks=blocks, companion=True),
            Component("text_encoder", size("text_encoder"), "encode",
                      leaf_bytes=min(size("text_encoder"), TEXT_EMBEDDING_PARAMETERS * dtype_bytes)),
            Component("audio_encoder", size("audio_encoder"), "encode", blocks=32),
            Component("vae", size("vae"), "decode", leaf_bytes=64 * 1024**2),
        ),
        working={"encode": ENCODE_WORKING, "denoise": activations + latents, "decode": decode_full},
        decode_tiled=decode_tiled,
        label=f"soul {width}x{height}, {frames} frames",
    )
