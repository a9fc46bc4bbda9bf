"""Quality presets of the soul backend, and the sizes, frame counts and prompts it is made for.

``draft``  the distilled student (4 steps, guidance folded in, one pass a step), the light
           VAE, 832×480: seconds per shot, for blocking and timing.
``final``  the full model (40 steps, text and audio guidance), the full VAE, 1280×704.
``custom`` starts from ``draft`` or ``final`` (``options["base"]``) and takes any of the
           keys of :data:`PRESETS` from the job's options.

:func:`resolve_preset` turns (quality, options, what is installed) into one plain dict
that the backend follows and records in the take's sidecar, so a take always says how
it was made, including any fallback (no student installed → the full model with fewer
steps; no light VAE → the full VAE). Importing this module needs no torch.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# (width, height); multiples of 32 (VAE 16 × patch 2). 720p for finals, 480p for drafts.
RESOLUTIONS: dict[str, tuple[int, int]] = {
    "720p": (1280, 704),
    "720p_portrait": (704, 1280),
    "draft": (832, 480),
    "draft_portrait": (480, 832),
}

# Wan2.1/2.2's official negative prompt (``sample_neg_prompt`` of the Wan configs), which the
# backbone saw as its unconditional text during training; Soul keeps it.
DEFAULT_NEGATIVE = (
    "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低质量，"
    "JPEG压缩残留，丑陋的，残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，形态畸形的肢体，"
    "手指融合，静止不动的画面，杂乱的背景，三条腿，背景人很多，倒着走"
)


def valid_frame_count(frames: int, stride: int = 4) -> int:
    """Smallest ``stride·k + 1`` that holds ``frames`` frames (the VAE packs 4 frames per latent)."""
    frames = max(1, int(frames))
    return ((frames - 1 + stride - 1) // stride) * stride + 1


# --------------------------------------------------------------------- presets

PRESET_VERSION = 1
SIZE_MULTIPLE = 32  # Wan2.2: VAE 16× spatial times transformer patch 2

_COMMON: dict[str, Any] = {
    "chunk_frames": 121,
    "motion_latents": 2,
    "reference_frame": True,
    "codebook_size": 256,
    "codebook_threshold": 0.2,
    "codebook_rule": "replace",  # or "clamp" (soft); the offline codebook in MODEL/codebook/ when built
    "blend": "cosine",
    "batch_cfg": False,
}
PRESETS: dict[str, dict[str, Any]] = {
    "draft": {
        "transformer": "student",
        "steps": 4,
        "guidance_text": 1.0,
        "guidance_audio": 1.0,
        "vae": "light",
        "width": RESOLUTIONS["draft"][0],
        "height": RESOLUTIONS["draft"][1],
        **_COMMON,
    },
    "final": {
        "transformer": "teacher",
        "steps": 40,
        "guidance_text": 5.0,
        "guidance_audio": 4.0,
        "vae": "full",
        "width": RESOLUTIONS["720p"][0],
        "height": RESOLUTIONS["720p"][1],
        **_COMMON,
    },
}
# What a draft becomes when its parts are missing: the full model, fewer steps, no text CFG.
DRAFT_FALLBACK = {"steps": 12, "guidance_text": 1.0, "guidance_audio": 3.0}
QUALITIES = ("draft", "final", "custom")
_TYPES: dict[str, type] = {
    "transformer": str, "steps": int, "guidance_text": float, "guidance_audio": float, "vae": str, "width": int,
    "height": int, "chunk_frames": int, "motion_latents": int, "reference_frame": bool, "codebook_size": int,
    "codebook_threshold": float, "codebook_rule": str, "blend": str, "batch_cfg": bool,
}


class PresetError(ValueError):
    """A preset or option that cannot be rendered; the message names the key."""


def find_draft_parts(model_folder: str | os.PathLike[str] | None, options: dict[str, Any] | None = None) -> dict[str, str | None]:
    """Where the distilled student and the light VAE are: options first, then ``student/`` and
    ``light_vae/`` inside the model folder; None for what is not installed."""
    options = options or {}
    found: dict[str, str | None] = {"student": None, "light_vae": None}
    for key, option, marker in (("student", "student_folder", "distill.json"),
                                ("light_vae", "light_vae_folder", "config.json")):
        candidates = [options.get(option)]
        if model_folder:
            candidates.append(str(Path(model_folder) / key))
        for cand in candidates:
            if cand and (Path(cand) / marker).is_file():
                found[key] = str(cand)
                break
    return found


def resolve_preset(
    quality: str,
    options: dict[str, Any] | None = None,
    available: dict[str, Any] | None = None,
    portrait: bool = False,
) -> dict[str, Any]:
    """The complete render settings for ``quality`` (``draft``/``final``/``custom``).

    ``options["preset"]`` may name ``custom`` while the job's quality stays draft/final.
    ``available`` says which draft parts are installed (``{"student": path|None,
    "light_vae": path|None}``, see :func:`find_draft_parts`); missing parts fall back and
    the fallback is listed under ``"fallbacks"``. ``portrait`` swaps width and height.
    The result is JSON-serialisable and goes into the take sidecar as is.
    """
    options = dict(options or {})
    name = str(options.get("preset") or quality)
    if name not in QUALITIES:
        raise PresetError(f"unknown quality preset {name!r}; choose one of {', '.join(QUALITIES)}")
    base = name
    overrides: dict[str, Any] = {}
    if name == "custom":
        base = str(options.get("base", "final"))
        if base not in PRESETS:
            raise PresetError(f"custom preset base must be draft or final, got {base!r}")
        for key, kind in _TYPES.items():
            if key in options:
                try:
                    overrides[key] = kind(options[key]) if kind is not bool else bool(options[key])
                except (TypeError, ValueError) as exc:
                    raise PresetError(f"option {key}={options[key]!r} is not a {kind.__name__}") from exc
    preset = {**PRESETS[base], **overrides}
    if portrait and preset["width"] > preset["height"] and not {"width", "height"} & set(overrides):
        preset["width"], preset["height"] = preset["height"], preset["width"]
    available = available if available is not None else {"student": None, "light_vae": None}
    fallbacks = []
    if preset["transformer"] == "student" and not available.get("student"):
        fallbacks.append("no distilled student installed: full model with fewer steps")
        preset["transformer"] = "teacher"
        for key, value in DRAFT_FALLBACK.items():
            preset[key] = overrides.get(key, value)
    if preset["vae"] == "light" and not available.get("light_vae"):
        fallbacks.append("no light VAE installed: full VAE")
        preset["vae"] = "full"
    _check(preset)
    passes = 1 + int(preset["guidance_text"] != 1.0) + int(preset["guidance_audio"] != 1.0)
    return {
        "preset": name,
        "base": base,
        "version": PRESET_VERSION,
        **preset,
        "student_folder": available.get("student") if preset["transformer"] == "student" else None,
        "light_vae_folder": available.get("light_vae") if preset["vae"] == "light" else None,
        "passes_per_step": passes,
        "overrides": sorted(overrides),
        "fallbacks": fallbacks,
    }


def _check(p: dict[str, Any]) -> None:
    if p["transformer"] not in ("student", "teacher"):
        raise PresetError(f"transformer must be student or teacher, got {p['transformer']!r}")
    if p["vae"] not in ("light", "full"):
        raise PresetError(f"vae must be light or full, got {p['vae']!r}")
    if p["width"] % SIZE_MULTIPLE or p["height"] % SIZE_MULTIPLE or min(p["width"], p["height"]) < SIZE_MULTIPLE:
        raise PresetError(f"render size {p['width']}x{p['height']} must be a multiple of {SIZE_MULTIPLE}")
    if p["steps"] < 1:
        raise PresetError("steps must be at least 1")
    if p["guidance_text"] < 0 or p["guidance_audio"] < 0:
        raise PresetError("guidance scales cannot be negative")
    if p["chunk_frames"] < 9 or (p["chunk_frames"] - 1) % 4:
        raise PresetError(f"chunk_frames {p['chunk_frames']} must be 4k+1 and at least 9")
    if p["motion_latents"] < 1:
        raise PresetError("motion_latents must be at least 1")
    if p["blend"] not in ("linear", "cosine"):
        raise PresetError(f"blend must be linear or cosine, got {p['blend']!r}")
    if not 0.0 <= p["codebook_threshold"] <= 2.0 or p["codebook_size"] < 1:
        raise PresetError("codebook_threshold must lie in [0, 2] and codebook_size be positive")
    if p["codebook_rule"] not in ("replace", "clamp"):
        raise PresetError(f"codebook_rule must be replace or clamp, got {p['codebook_rule']!r}")


# -------------------------------------------------------------------- applying


@contextmanager
def use_student(pipe: Any, folder: str | os.PathLike[str] | None) -> Iterator[dict[str, Any]]:
    """Run ``pipe`` with the distilled student inside the block, then put the teacher back.

    A LoRA student runs unmerged, through forward hooks beside the teacher's layers, so
    the teacher's weights are never written; a full student's weights are swapped in and
    the teacher's restored from an exact CPU copy. Either way a final rendered after a
    draft uses bit-identical weights.
    Either way the transformer object (and the audio hooks on it) stays the same. The
    student's scheduler replaces the pipeline's for the block. Yields the student's
    ``distill.json``; with ``folder=None`` it changes nothing and yields ``{}``.
    """
    if folder is None:
        yield {}
        return
    import json

    root = Path(folder)
    meta = json.loads((root / "distill.json").read_text())
    transformer = pipe.transformer
    scheduler = pipe.scheduler
    backup = hooks = None
    if meta.get("kind") == "lora":
        from engine.backends.soul.train.lora import LoraHooks

        hooks = LoraHooks(root)
        hooks.attach(transformer)
    else:
        from diffusers.models.model_loading_utils import load_state_dict

        from engine.backends.soul.folder import find_pickles

        if find_pickles(root):
            raise PresetError(f"the student folder {root} holds pickled weights; use safetensors")
        backup = {k: v.detach().to("cpu", copy=True) for k, v in transformer.state_dict().items()}
        state = {}
        for path in sorted((root / "transformer").glob("*.safetensors")):
            state.update(load_state_dict(str(path)))
        transformer.load_state_dict(state, strict=True)
    try:
        from diffusers import FlowMatchEulerDiscreteScheduler

        pipe.scheduler = FlowMatchEulerDiscreteScheduler.from_pretrained(root / "scheduler")
        yield meta
    finally:
        pipe.scheduler = scheduler
        if backup is not None:
            transformer.load_state_dict(backup, strict=True)
        if hooks is not None:
            hooks.detach()


def light_decoder(pipe: Any, folder: str | os.PathLike[str]) -> Any:
    """A ``latents → uint8 frame pieces`` decoder from a light VAE folder, checked against ``pipe.vae``."""
    from engine.backends.soul.light_vae import check_compatible, load_light_vae

    device = next(pipe.vae.parameters()).device
    light = load_light_vae(folder, device=device)
    check_compatible(light, pipe.vae.config)
    return light.decode_frames
