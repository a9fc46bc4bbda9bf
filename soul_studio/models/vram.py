"""GPU memory estimates for the soul presets, so the editor knows before rendering whether a card fits.

The estimate adds the resident weights (from the registered folders' safetensors headers,
or the published sizes of Wan2.2-TI2V-5B when no folder is known) to the working memory
of the largest step: the transformer's activations over one chunk's tokens and the VAE
decode of that chunk. With CPU offload only the largest model sits on the GPU at a time.
It is an estimate for choosing a preset and a card, not a guarantee; the figures it uses
are listed in the breakdown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.backends.soul.memory import REFERENCE_PARAMETERS as SOUL_PARAMETERS

GIB = 1024**3
# Parameters of the full-size parts (Wan2.2-TI2V-5B, UMT5-XXL encoder, Wan2.2 VAE, whisper-large-v3's encoder,
# and the Soul adapter at its real size: counted from its default config, not guessed).
REFERENCE_PARAMETERS: dict[str, int] = {
    "transformer": 5_000_000_000,
    "text_encoder": 5_680_000_000,
    "vae": 705_000_000,
    "audio_encoder": SOUL_PARAMETERS["audio_encoder"],
    "audio_adapter": SOUL_PARAMETERS["audio_adapter"],
    "light_vae": 40_000_000,
}
REFERENCE_WIDTH = 3072  # transformer hidden size (24 heads × 128)
BYTES = {"bfloat16": 2, "float16": 2, "float32": 4}
# Working memory per latent token per hidden unit of one transformer block (attention + FFN buffers, bf16).
ACTIVATION_BYTES_PER_UNIT = 28
# VAE decode working memory per output pixel-frame (full Wan VAE, tiled in time); the light VAE needs far less.
VAE_BYTES_PER_PIXEL = {"full": 36, "light": 6}
OVERHEAD_GIB = 1.0  # CUDA context, allocator slack
CARD_SIZES_GB = (24, 48, 80)


@dataclass
class PresetShape:
    """The numbers of a preset that drive memory."""

    name: str
    width: int
    height: int
    chunk_frames: int
    vae: str  # "full" or "light"
    passes_per_step: int


PRESETS: dict[str, PresetShape] = {
    "draft": PresetShape("draft", 832, 480, 121, "light", 1),
    "final": PresetShape("final", 1280, 704, 121, "full", 3),
}


@dataclass
class VramEstimate:
    """Peak GPU memory of one preset, with and without CPU offload."""

    preset: str
    offload: bool
    total_gib: float
    breakdown: dict[str, float] = field(default_factory=dict)

    def fits(self, card_gib: float) -> bool:
        return self.total_gib <= card_gib

    def to_dict(self) -> dict[str, Any]:
        return {"preset": self.preset, "offload": self.offload, "total_gib": round(self.total_gib, 2),
                "breakdown": {k: round(v, 2) for k, v in self.breakdown.items()}}


@dataclass
class ModelSizes:
    """Parameters and dtype of each part; missing parts take the reference sizes."""

    parameters: dict[str, int] = field(default_factory=dict)
    dtypes: dict[str, str] = field(default_factory=dict)
    width: int | None = None
    source: str = "reference sizes of Wan2.2-TI2V-5B"

    def params(self, part: str) -> int:
        return int(self.parameters.get(part, REFERENCE_PARAMETERS[part]))

    def gib(self, part: str, dtype: str = "bfloat16") -> float:
        return self.params(part) * BYTES.get(self.dtypes.get(part, dtype), 2) / GIB

    @classmethod
    def from_checks(cls, checks: list[Any]) -> ModelSizes:
        """Sizes read from :class:`~soul_studio.models.check.ModelCheck` results of registered folders."""
        sizes = cls(source="registered model folders")
        for check in checks:
            names = dict(check.parameters)
            if check.kind == "light-vae" and "light_vae" in names:
                names = {"light_vae": names["light_vae"]}
            if check.kind == "student":
                continue  # the student replaces the transformer with one of the same size
            for part, count in names.items():
                if part in REFERENCE_PARAMETERS:
                    sizes.parameters[part] = int(count)
                    sizes.dtypes[part] = check.dtypes.get(part, "bfloat16")
            cfg = check.configs.get("transformer") or {}
            if cfg.get("num_attention_heads") and cfg.get("attention_head_dim"):
                sizes.width = int(cfg["num_attention_heads"]) * int(cfg["attention_head_dim"])
        if not sizes.parameters:
            sizes.source = ModelSizes().source
        return sizes


def latent_tokens(shape: PresetShape) -> int:
    """Transformer tokens of one chunk: VAE 16× space, 4× time; patch 2×2."""
    t = (shape.chunk_frames - 1) // 4 + 1
    return t * (shape.height // 32) * (shape.width // 32)


def estimate(preset: str, offload: bool, sizes: ModelSizes | None = None) -> VramEstimate:
    """Peak GPU memory of rendering ``preset`` (``draft``/``final``) with or without CPU offload."""
    shape = PRESETS[preset]
    sizes = sizes or ModelSizes()
    width = sizes.width or REFERENCE_WIDTH
    weights = {
        "transformer": sizes.gib("transformer"),
        "audio_adapter": sizes.gib("audio_adapter"),
        "text_encoder": sizes.gib("text_encoder"),
        "audio_encoder": sizes.gib("audio_encoder"),
        "vae": sizes.gib("light_vae") if shape.vae == "light" else sizes.gib("vae"),
    }
    tokens = latent_tokens(shape)
    # Guidance passes are run one after another (batch_cfg off), so only one pass's activations live at once.
    activations = tokens * width * ACTIVATION_BYTES_PER_UNIT / GIB
    latents = shape.passes_per_step * tokens * width * 2 * 4 / GIB  # a few copies of the hidden states
    decode = shape.chunk_frames * shape.width * shape.height * VAE_BYTES_PER_PIXEL[shape.vae] / GIB
    breakdown: dict[str, float] = {}
    if offload:
        denoise = weights["transformer"] + weights["audio_adapter"] + activations + latents
        encode = max(weights["text_encoder"], weights["audio_encoder"])
        decode_peak = weights["vae"] + decode
        breakdown = {"largest model on GPU": max(weights["transformer"] + weights["audio_adapter"], encode,
                                                  weights["vae"]),
                     "denoise step": denoise, "text/audio encode": encode, "vae decode": decode_peak}
        total = max(denoise, encode, decode_peak) + OVERHEAD_GIB
    else:
        resident = sum(weights.values())
        breakdown = {f"{k} weights": v for k, v in weights.items()}
        breakdown.update({"activations": activations + latents, "vae decode": decode})
        total = resident + max(activations + latents, decode) + OVERHEAD_GIB
    breakdown["overhead"] = OVERHEAD_GIB
    return VramEstimate(preset=preset, offload=offload, total_gib=total, breakdown=breakdown)


def estimate_all(sizes: ModelSizes | None = None) -> list[VramEstimate]:
    """Every preset, without and with offload."""
    return [estimate(p, off, sizes) for p in PRESETS for off in (False, True)]


@dataclass
class GpuInfo:
    index: int
    name: str
    total_gib: float
    free_gib: float | None = None


def detect_gpus() -> list[GpuInfo]:
    """CUDA GPUs seen by torch (empty without torch or without CUDA)."""
    try:
        import torch
    except ImportError:
        return []
    try:
        if not torch.cuda.is_available():
            return []
        found = []
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            free = None
            try:
                free = torch.cuda.mem_get_info(i)[0] / GIB
            except Exception:  # noqa: BLE001 - free memory is a nicety
                pass
            found.append(GpuInfo(i, props.name, props.total_memory / GIB, free))
        return found
    except Exception:  # noqa: BLE001 - a broken driver means no usable GPU
        return []
