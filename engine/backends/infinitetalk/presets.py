"""Quality presets, render sizes and defaults of the infinitetalk backend (no torch needed).

``final``  the reference's recommended sampling: 40 steps, text CFG 5, audio CFG 4
           (3 transformer passes a step), flow shift 7 at 480p / 11 at 720p, 720p.
``draft``  the lightx2v 4-step distillation LoRA with its guidance (text 1, audio 2,
           shift 2; 2 passes a step) at 480p. Without the LoRA installed it falls back to
           a plain few-step preset with the same guidance, and the sidecar says so.

Render sizes are the reference's aspect buckets (height, width keyed by h/w ratio); the
bucket nearest the take's aspect ratio is used and frames are scaled to the take's size.
"""

from __future__ import annotations

from typing import Any

DEFAULT_NEGATIVE = (
    "bright tones, overexposed, static, blurred details, subtitles, style, works, paintings, images, static, "
    "overall gray, worst quality, low quality, JPEG compression residue, ugly, incomplete, extra fingers, poorly "
    "drawn hands, poorly drawn faces, deformed, disfigured, misshapen limbs, fused fingers, still picture, messy "
    "background, three legs, many people in the background, walking backwards"
)

# h/w ratio → (height, width): the reference's ASPECT_RATIO_627 (480p) and ASPECT_RATIO_960 (720p).
BUCKETS: dict[str, dict[float, tuple[int, int]]] = {
    "480p": {
        0.26: (320, 1216), 0.38: (384, 1024), 0.50: (448, 896), 0.67: (512, 768), 0.82: (576, 704),
        1.00: (640, 640), 1.22: (704, 576), 1.50: (768, 512), 1.86: (832, 448), 2.00: (896, 448),
        2.50: (960, 384), 2.83: (1088, 384), 3.60: (1152, 320), 3.80: (1216, 320), 4.00: (1280, 320),
    },
    "720p": {
        0.22: (448, 2048), 0.29: (512, 1792), 0.36: (576, 1600), 0.45: (640, 1408), 0.55: (704, 1280),
        0.63: (768, 1216), 0.76: (832, 1088), 0.88: (896, 1024), 1.00: (960, 960), 1.14: (1024, 896),
        1.31: (1088, 832), 1.50: (1152, 768), 1.58: (1216, 768), 1.82: (1280, 704), 1.91: (1344, 704),
        2.20: (1408, 640), 2.30: (1472, 640), 2.67: (1536, 576), 2.89: (1664, 576), 3.62: (1856, 512),
        3.75: (1920, 512),
    },
}
SHIFTS = {"480p": 7.0, "720p": 11.0}
WINDOW_FRAMES = 81  # one model window at 25 fps
MOTION_FRAMES = 9  # tail frames carried into the next window (3 latent frames)
MODEL_FPS = 25.0

PRESETS: dict[str, dict[str, Any]] = {
    "final": {"steps": 40, "guidance_text": 5.0, "guidance_audio": 4.0, "resolution": "720p", "lora": False},
    "draft": {"steps": 4, "guidance_text": 1.0, "guidance_audio": 2.0, "resolution": "480p", "lora": True,
              "shift": 2.0},
}
# A draft without the distillation LoRA: the base model, few steps, the LoRA's guidance.
DRAFT_FALLBACK = {"steps": 8, "guidance_text": 1.0, "guidance_audio": 2.0, "shift": 2.0}
_TYPES: dict[str, type] = {"steps": int, "guidance_text": float, "guidance_audio": float, "shift": float}


class PresetError(ValueError):
    """A preset or option that cannot be rendered; the message names the key."""


def bucket_size(resolution: str, width: int, height: int) -> tuple[int, int]:
    """(width, height) of the ``resolution`` bucket nearest the aspect ratio ``height / width``."""
    if resolution not in BUCKETS:
        raise PresetError(f"unknown resolution {resolution!r}; choose one of {', '.join(BUCKETS)}")
    ratio = height / width
    key = min(BUCKETS[resolution], key=lambda r: abs(r - ratio))
    h, w = BUCKETS[resolution][key]
    return w, h


def resolve_preset(quality: str, options: dict[str, Any] | None = None, lora_path: str | None = None) -> dict[str, Any]:
    """The sampling settings for ``quality`` after options and what is installed.

    ``lora_path`` is the draft LoRA when installed (None: the draft falls back). Options
    ``steps``, ``guidance_text``, ``guidance_audio``, ``shift``, ``resolution`` override.
    The result is JSON-serialisable and goes into the take's sidecar.
    """
    options = dict(options or {})
    if quality not in PRESETS:
        raise PresetError(f"unknown quality {quality!r}; choose draft or final")
    preset = dict(PRESETS[quality])
    fallbacks = []
    if preset.pop("lora"):
        if lora_path:
            preset["lora"] = lora_path
        else:
            fallbacks.append("no draft LoRA installed: base model with fewer steps")
            preset.update(DRAFT_FALLBACK)
            preset["lora"] = None
    else:
        preset["lora"] = None
    preset["resolution"] = str(options.get("resolution", preset["resolution"]))
    if preset["resolution"] not in BUCKETS:
        raise PresetError(f"unknown resolution {preset['resolution']!r}; choose one of {', '.join(BUCKETS)}")
    preset.setdefault("shift", SHIFTS[preset["resolution"]])
    for key, kind in _TYPES.items():
        if key in options:
            try:
                preset[key] = kind(options[key])
            except (TypeError, ValueError) as exc:
                raise PresetError(f"option {key}={options[key]!r} is not a {kind.__name__}") from exc
    if preset["steps"] < 1:
        raise PresetError("steps must be at least 1")
    if preset["guidance_text"] < 0 or preset["guidance_audio"] < 0:
        raise PresetError("guidance scales cannot be negative")
    if preset["shift"] <= 0:
        raise PresetError("shift must be positive")
    preset["quality"] = quality
    preset["fallbacks"] = fallbacks
    return preset
