"""GPU memory of an InfiniteTalk render, as a :class:`~engine.backends.placement.MemoryPlan`.

The weights are those of the published checkpoints (Wan2.1-I2V-14B-480P in diffusers
layout, the InfiniteTalk audio adapter, chinese-wav2vec2-base, the optional lightx2v
LoRA) at bf16, or the parameter counts read from a local folder's safetensors headers.
Working memory follows the token count of one streaming window: the Wan2.1 VAE maps
8×8 pixels and 4 frames to one latent, the DiT patchifies 2×2, so 81 frames at 832×480
are 21×30×52 = 32,760 tokens. The per-token figure is the one the soul estimates use;
the GPU benchmark measures the real peaks to check it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from engine.backends.placement import (
    ACTIVATION_BYTES_PER_UNIT,
    ENCODE_WORKING,
    TEXT_EMBEDDING_PARAMETERS,
    Component,
    MemoryPlan,
    vae_decode_bytes,
)

# Parameters of the published parts (Wan2.1-I2V-14B: 40 blocks of width 5120).
REFERENCE_PARAMETERS: dict[str, int] = {
    "transformer": 16_400_000_000,
    "audio_adapter": 2_480_000_000,
    "text_encoder": 5_680_000_000,
    "image_encoder": 632_000_000,
    "vae": 127_000_000,
    "audio_encoder": 95_000_000,
    "draft_lora": 369_000_000,
}
# Bytes per parameter at the dtype each part runs in (the VAE and wav2vec2 stay fp32).
RUNTIME_BYTES: dict[str, int] = {"vae": 4, "audio_encoder": 4}
REFERENCE_BLOCKS = 40
REFERENCE_WIDTH = 5120
REFERENCE_HEADS = 40


@dataclass(frozen=True)
class RenderShape:
    """The numbers of one streaming window that drive memory."""

    width: int = 832
    height: int = 480
    frames: int = 81
    speakers: int = 1

    @property
    def latent_frames(self) -> int:
        return (self.frames - 1) // 4 + 1

    @property
    def frame_tokens(self) -> int:
        return (self.height // 16) * (self.width // 16)

    @property
    def tokens(self) -> int:
        return self.latent_frames * self.frame_tokens


PRESET_SHAPES: dict[str, RenderShape] = {
    "480p": RenderShape(832, 480, 81),
    "720p": RenderShape(1280, 720, 81),
}


def _bytes(part: str, parameters: Mapping[str, int]) -> int:
    return int(parameters.get(part, REFERENCE_PARAMETERS[part])) * RUNTIME_BYTES.get(part, 2)


def memory_plan(shape: RenderShape, parameters: Mapping[str, int] | None = None, draft_lora: bool = False,
                width: int = REFERENCE_WIDTH, blocks: int = REFERENCE_BLOCKS,
                heads: int = REFERENCE_HEADS) -> MemoryPlan:
    """The plan of one window of ``shape``; ``parameters`` override the reference counts per part."""
    params = dict(parameters or {})
    denoise = [
        Component("transformer", _bytes("transformer", params), "denoise", blocks=blocks),
        # The adapter's layers are called from inside the transformer's blocks: it stays on the GPU.
        Component("audio_adapter", _bytes("audio_adapter", params), "denoise", resident_always=True),
    ]
    if draft_lora:
        # The LoRA factors are applied by hooks on the GPU, whatever the placement.
        denoise.append(Component("draft_lora", _bytes("draft_lora", params), "denoise", resident_always=True))
    encoders = [
        Component("text_encoder", _bytes("text_encoder", params), "encode",
                  leaf_bytes=min(_bytes("text_encoder", params), TEXT_EMBEDDING_PARAMETERS * 2)),
        Component("image_encoder", _bytes("image_encoder", params), "encode", blocks=32),
        Component("audio_encoder", _bytes("audio_encoder", params), "encode", blocks=12),
        Component("vae", _bytes("vae", params), "decode", leaf_bytes=64 * 1024**2),
    ]
    activations = shape.tokens * width * ACTIVATION_BYTES_PER_UNIT
    latents = 4 * shape.tokens * 64 * 4  # a few fp32 copies of the 16-channel latent (2×2 patches)
    routing = 0
    if shape.speakers > 1:
        # Face routing scores every token against the first frame's tokens, half the heads at a time.
        routing = shape.tokens * shape.frame_tokens * max(1, heads // 2) * 2 * 2
    decode_full, decode_tiled = vae_decode_bytes(shape.frames, shape.width, shape.height)
    return MemoryPlan(
        components=tuple(denoise + encoders),
        working={"encode": ENCODE_WORKING, "denoise": activations + latents + routing, "decode": decode_full},
        decode_tiled=decode_tiled,
        label=f"{shape.width}x{shape.height}, {shape.frames} frames, {shape.speakers} speaker(s)",
    )


def preset_plan(preset: str, quality: str = "final", speakers: int = 1,
                parameters: Mapping[str, int] | None = None) -> MemoryPlan:
    """The plan of a named resolution preset (``480p``/``720p``); drafts carry the LoRA."""
    base = PRESET_SHAPES[preset]
    shape = RenderShape(base.width, base.height, base.frames, speakers)
    return memory_plan(shape, parameters, draft_lora=quality == "draft")
