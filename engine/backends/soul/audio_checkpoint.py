"""Audio-encoder checkpoints as people have them: Whisper (the Soul default) or Wav2Vec2.

Soul conditions on the hidden states of an audio *encoder*. Published checkpoints wrap
that encoder in more than it needs, under different tensor names; this module maps every
layout it accepts onto the bare encoder's names, so validation (headers only) and loading
(safetensors only) agree on what a folder holds:

* Whisper: ``WhisperForConditionalGeneration`` (``model.encoder.*``, as openai/whisper-*
  on the Hub), ``WhisperModel`` (``encoder.*``) or a bare ``WhisperEncoder``; the decoder
  and ``proj_out`` are dropped.
* Wav2Vec2: ``Wav2Vec2Model``, ``Wav2Vec2ForCTC`` / ``ForPreTraining`` (``wav2vec2.*``;
  ``lm_head``, quantizer and projection heads dropped), and the legacy weight-norm names
  ``pos_conv_embed.conv.weight_g`` / ``weight_v`` of checkpoints saved before PyTorch's
  parametrisations.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

ENCODER_TYPES = ("whisper", "wav2vec2")
RECOMMENDED = {
    "whisper": "openai/whisper-large-v3 (its config.json, model.safetensors and preprocessor_config.json; "
               "the decoder is ignored)",
    "wav2vec2": "facebook/wav2vec2-base-960h",
}
# Tensors a checkpoint may lack: only used for masked pre-training, never at inference.
OPTIONAL = {"wav2vec2": ("masked_spec_embed",), "whisper": ()}
_DROPPED_PREFIXES = {
    "whisper": ("decoder.", "proj_out."),
    "wav2vec2": ("lm_head.", "quantizer.", "project_q.", "project_hid.", "dropout_features", "classifier.",
                 "projector."),
}
_LEGACY = {"weight_g": "parametrizations.weight.original0", "weight_v": "parametrizations.weight.original1"}


def encoder_type(config: dict[str, Any]) -> str | None:
    """``"whisper"``/``"wav2vec2"`` from a transformers config.json, None for anything else."""
    kind = config.get("model_type")
    return kind if kind in ENCODER_TYPES else None


def canonical_key(kind: str, name: str) -> str | None:
    """The bare encoder's name for checkpoint tensor ``name``; None when it is not part of the encoder."""
    if kind == "whisper":
        for prefix in ("model.encoder.", "encoder."):
            if name.startswith(prefix):
                return name[len(prefix):]
        if name.startswith(("model.decoder.", *_DROPPED_PREFIXES["whisper"])):
            return None
        return name
    if name.startswith("wav2vec2."):
        name = name[len("wav2vec2."):]
    elif name.startswith(_DROPPED_PREFIXES["wav2vec2"]):
        return None
    head, _, leaf = name.rpartition(".")
    if leaf in _LEGACY and head.endswith("pos_conv_embed.conv"):
        return f"{head}.{_LEGACY[leaf]}"
    return name


def encoder_layers(kind: str, config: dict[str, Any]) -> int:
    return int(config["encoder_layers"] if kind == "whisper" else config["num_hidden_layers"])


def encoder_width(kind: str, config: dict[str, Any]) -> int:
    return int(config["d_model"] if kind == "whisper" else config["hidden_size"])


def build_encoder(kind: str, folder: str | os.PathLike[str]) -> Any:
    """The bare encoder module from ``folder``'s config.json (call under ``torch.device("meta")`` to size it)."""
    from transformers import Wav2Vec2Config, Wav2Vec2Model, WhisperConfig
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    if kind == "whisper":
        return WhisperEncoder(WhisperConfig.from_pretrained(str(folder)))
    return Wav2Vec2Model(Wav2Vec2Config.from_pretrained(str(folder)))


def weight_files(folder: Path) -> list[Path]:
    """``model.safetensors`` or the shards its index lists."""
    single = folder / "model.safetensors"
    if single.is_file():
        return [single]
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        return sorted({folder / f for f in json.loads(index.read_text())["weight_map"].values()})
    return []


def load_audio_encoder(folder: str | os.PathLike[str], dtype: Any = None) -> tuple[Any, Any, str]:
    """(encoder, feature extractor, kind) from a local folder, reading safetensors only.

    Only the encoder's tensors are read from disk, so a full Whisper checkpoint costs the
    encoder's memory alone. Raises ``ValueError`` naming missing tensors.
    """
    import torch
    from safetensors import safe_open
    from transformers import Wav2Vec2FeatureExtractor, WhisperFeatureExtractor

    root = Path(folder)
    config = json.loads((root / "config.json").read_text())
    kind = encoder_type(config)
    if kind is None:
        raise ValueError(f"{root}/config.json has model_type {config.get('model_type')!r}; "
                         f"soul reads {' or '.join(ENCODER_TYPES)} encoders")
    with torch.device("meta"):
        model = build_encoder(kind, root)
    expected = model.state_dict()
    state: dict[str, torch.Tensor] = {}
    for path in weight_files(root):
        with safe_open(str(path), framework="pt") as handle:
            for name in handle.keys():  # noqa: SIM118 - safe_open has no __iter__
                key = canonical_key(kind, name)
                if key is not None and key in expected:
                    state[key] = handle.get_tensor(name)
    missing = [k for k in expected if k not in state and k not in OPTIONAL[kind]]
    if missing:
        raise ValueError(f"{root} lacks encoder tensor(s) {', '.join(missing[:5])}"
                         + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""))
    for key in expected:
        if key not in state:  # optional, pre-training only
            state[key] = torch.zeros(expected[key].shape, dtype=torch.float32)
    model.load_state_dict(state, assign=True, strict=True)
    for name, buf in list(model.named_buffers()):
        if buf.is_meta:
            raise ValueError(f"{root}: encoder buffer {name} was not restored")
    model = model.to(dtype=dtype) if dtype is not None else model.float()
    extractor_cls = WhisperFeatureExtractor if kind == "whisper" else Wav2Vec2FeatureExtractor
    extractor = extractor_cls.from_pretrained(str(root), local_files_only=True)
    return model.eval().requires_grad_(False), extractor, kind


def samples_per_feature(kind: str, model: Any, extractor: Any) -> int:
    """Audio samples behind one encoder output frame (320 at 16 kHz for both families: 50 Hz)."""
    if kind == "whisper":
        return int(extractor.hop_length) * int(model.conv1.stride[0]) * int(model.conv2.stride[0])
    return int(math.prod(model.config.conv_stride))
