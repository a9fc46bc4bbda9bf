"""The one table between the published InfiniteTalk adapter file and our modules.

The released ``single/infinitetalk.safetensors`` and ``multi/infinitetalk.safetensors``
hold 330 tensors (for the 40-block Wan2.1-I2V-14B) and no config: one audio projection
and, in every DiT block, an audio cross-attention plus the LayerNorm before it::

    audio_proj.proj1.{weight,bias}        (inter, window·layers·width)       first latent frame
    audio_proj.proj1_vf.{weight,bias}     (inter, (window+stride-1)·layers·width)   later latent frames
    audio_proj.proj2.{weight,bias}        (inter, inter)
    audio_proj.proj3.{weight,bias}        (tokens·cross, inter)
    audio_proj.norm.{weight,bias}         (cross,)
    blocks.N.norm_x.{weight,bias}                     (dim,)
    blocks.N.audio_cross_attn.q_linear.{weight,bias}  (dim, dim)
    blocks.N.audio_cross_attn.kv_linear.{weight,bias} (2·dim, cross)
    blocks.N.audio_cross_attn.proj.{weight,bias}      (dim, dim)

:data:`PUBLISHED_TO_OURS` renames them once; everything else in the backend sees only our
names. The file is loaded strictly: a missing, unexpected or mis-shaped tensor is refused
with a message naming it.
"""

from __future__ import annotations

import re
from typing import Any

from engine.backends.base import BackendError

# (published name pattern, our name template), applied with re.fullmatch.
PUBLISHED_TO_OURS: tuple[tuple[str, str], ...] = (
    (r"audio_proj\.proj1\.(weight|bias)", r"audio_proj.proj_first.\1"),
    (r"audio_proj\.proj1_vf\.(weight|bias)", r"audio_proj.proj_latter.\1"),
    (r"audio_proj\.proj2\.(weight|bias)", r"audio_proj.proj_mid.\1"),
    (r"audio_proj\.proj3\.(weight|bias)", r"audio_proj.proj_tokens.\1"),
    (r"audio_proj\.norm\.(weight|bias)", r"audio_proj.norm.\1"),
    (r"blocks\.(\d+)\.norm_x\.(weight|bias)", r"layers.\1.norm.\2"),
    (r"blocks\.(\d+)\.audio_cross_attn\.q_linear\.(weight|bias)", r"layers.\1.to_q.\2"),
    (r"blocks\.(\d+)\.audio_cross_attn\.kv_linear\.(weight|bias)", r"layers.\1.to_kv.\2"),
    (r"blocks\.(\d+)\.audio_cross_attn\.proj\.(weight|bias)", r"layers.\1.to_out.\2"),
)
_COMPILED = tuple((re.compile(p), t) for p, t in PUBLISHED_TO_OURS)


class AdapterFileError(BackendError):
    """The adapter file is not the published InfiniteTalk layout; ``problems`` lists why."""

    def __init__(self, message: str, hint: str = "", problems: list[str] | None = None) -> None:
        super().__init__(message, hint)
        self.problems = list(problems or [])


def to_ours(name: str) -> str | None:
    """Our name for a published tensor name, or None when the name is not in the layout."""
    for pattern, template in _COMPILED:
        match = pattern.fullmatch(name)
        if match:
            return match.expand(template)
    return None


def published_shapes(config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """Every published tensor name and its shape for an adapter config (the shape rules)."""
    dim, cross, inter = int(config["model_dim"]), int(config["cross_dim"]), int(config["intermediate_dim"])
    per_frame = int(config["audio_layers"]) * int(config["audio_dim"])
    window, stride, tokens = int(config["audio_window"]), int(config["temporal_stride"]), int(config["context_tokens"])
    shapes: dict[str, tuple[int, ...]] = {
        "audio_proj.proj1.weight": (inter, window * per_frame),
        "audio_proj.proj1.bias": (inter,),
        "audio_proj.proj1_vf.weight": (inter, (window + stride - 1) * per_frame),
        "audio_proj.proj1_vf.bias": (inter,),
        "audio_proj.proj2.weight": (inter, inter),
        "audio_proj.proj2.bias": (inter,),
        "audio_proj.proj3.weight": (tokens * cross, inter),
        "audio_proj.proj3.bias": (tokens * cross,),
    }
    if config.get("norm_output_audio", True):
        shapes["audio_proj.norm.weight"] = (cross,)
        shapes["audio_proj.norm.bias"] = (cross,)
    for i in range(int(config["num_blocks"])):
        p = f"blocks.{i}."
        shapes[p + "norm_x.weight"] = (dim,)
        shapes[p + "norm_x.bias"] = (dim,)
        for name, shape in (("q_linear", (dim, dim)), ("kv_linear", (2 * dim, cross)), ("proj", (dim, dim))):
            shapes[f"{p}audio_cross_attn.{name}.weight"] = shape
            shapes[f"{p}audio_cross_attn.{name}.bias"] = (shape[0],)
    return shapes


def config_from_shapes(
    shapes: dict[str, tuple[int, ...]], num_heads: int, audio_layers: int, audio_dim: int
) -> dict[str, Any]:
    """Recover the adapter config from a published file's tensor shapes.

    The file has no config; widths follow from its shapes once the audio encoder's depth
    and width (``audio_layers``, ``audio_dim``) and the DiT's head count are known.
    """
    def shape(name: str) -> tuple[int, ...]:
        if name not in shapes:
            raise AdapterFileError(f"the adapter file has no tensor {name}",
                                   hint="use single/ or multi/infinitetalk.safetensors from MeiGen-AI/InfiniteTalk")
        return tuple(int(s) for s in shapes[name])

    inter, first_in = shape("audio_proj.proj1.weight")
    latter_in = shape("audio_proj.proj1_vf.weight")[1]
    per_frame = audio_layers * audio_dim
    if first_in % per_frame or latter_in % per_frame:
        raise AdapterFileError(
            f"adapter audio input widths {first_in}/{latter_in} are not multiples of {audio_layers} layers × "
            f"{audio_dim} (the audio encoder's depth and width)",
            hint="the adapter and the audio encoder do not belong together: InfiniteTalk uses chinese-wav2vec2-base",
        )
    window = first_in // per_frame
    stride = latter_in // per_frame - window + 1
    dim = shape("blocks.0.audio_cross_attn.q_linear.weight")[0]
    cross = shape("blocks.0.audio_cross_attn.kv_linear.weight")[1]
    token_width = shape("audio_proj.proj3.weight")[0]
    blocks = 1 + max((int(m.group(1)) for n in shapes if (m := re.fullmatch(r"blocks\.(\d+)\..*", n))), default=-1)
    return {
        "audio_dim": audio_dim,
        "audio_layers": audio_layers,
        "audio_window": window,
        "temporal_stride": stride,
        "intermediate_dim": inter,
        "cross_dim": cross,
        "context_tokens": token_width // cross,
        "model_dim": dim,
        "num_heads": num_heads,
        "num_blocks": blocks,
        "norm_output_audio": "audio_proj.norm.weight" in shapes,
    }


def check_published(shapes: dict[str, tuple[int, ...]], config: dict[str, Any]) -> list[str]:
    """Problems of a published file's tensors against ``config``: missing, unexpected, mis-shaped."""
    expected = published_shapes(config)
    problems = [f"missing tensor {n} (shape {list(s)})" for n, s in expected.items() if n not in shapes]
    for name, shape in shapes.items():
        if name not in expected:
            problems.append(f"unexpected tensor {name}" + ("" if to_ours(name) else " (not an InfiniteTalk name)"))
        elif tuple(shape) != expected[name]:
            problems.append(f"tensor {name} has shape {list(shape)}, expected {list(expected[name])}")
    return problems


def convert_published(state: dict[str, Any], config: dict[str, Any], source: str = "adapter file") -> dict[str, Any]:
    """Rename a published state dict to ours after a strict check; raises :class:`AdapterFileError`."""
    problems = check_published({k: tuple(v.shape) for k, v in state.items()}, config)
    if problems:
        shown = "\n".join(f"- {p}" for p in problems[:20])
        more = f"\n- … and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise AdapterFileError(
            f"{source} is not a complete InfiniteTalk adapter for this transformer:\n{shown}{more}",
            hint="download single/ or multi/infinitetalk.safetensors from MeiGen-AI/InfiniteTalk unchanged",
            problems=problems,
        )
    return {to_ours(k): v for k, v in state.items()}
