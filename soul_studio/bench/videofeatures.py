"""A 3D-convolution video feature network for FVD, read from a folder the user supplies.

FVD (Fréchet Video Distance) compares the Gaussian fitted to clip features of the evaluated
takes with the one fitted to clip features of reference movies, using the FID formula. The
features come from a video network; Soul Studio ships the network's code only, never weights.

Folder layout (``--i3d FOLDER``)::

    config.json        {"clip_frames": 16, "side": 224,
                        "stages": [{"out": 64, "kernel": [7, 7, 7], "stride": [2, 2, 2]}, ...],
                        "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0]}
    model.safetensors  stages.{i}.conv.weight  (out, in, kt, kh, kw)
                       stages.{i}.conv.bias    (out,)            optional per stage ("bias": true)
                       stages.{i}.norm.{weight,bias,running_mean,running_var}  when "norm": true

Each stage is Conv3d (padding half the kernel) → BatchNorm3d (when ``"norm": true``) →
ReLU, optionally followed by a 3D max pool (``"pool": [kt, kh, kw]``); the feature is the
global average of the last stage. Clips are ``clip_frames`` consecutive frames resized to
``side``×``side`` RGB, scaled to [-1, 1] then ``(x - mean) / std`` per channel. Weights of a
plain chain of 3D convolutions (a C3D-style network, or the stem convolutions of an I3D)
convert by renaming their tensors to these keys, with ``num_batches_tracked`` optional.
The branching Inception ("mixed") blocks of a full I3D are not a plain chain and cannot be
described here, so FVD numbers from this network are comparable with each other, not
with published I3D FVD figures. Pickled weights are refused.

A config with ``"architecture": "i3d"`` selects the full Inception I3D of
:mod:`soul_studio.bench.i3d` instead (no ``stages``; ``side`` 224 and ``clip_frames`` 16
unless given; ``width_multiplier`` 1.0 unless given), whose weights keep the names of the
common PyTorch port, so a published I3D checkpoint gives features of the network standard FVD
uses (its 1024-d pooled features; some FVD codes use the 400 class logits instead).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from soul_studio.bench.errors import BenchError

I3D = "i3d"
I3D_DEFAULTS = {"side": 224, "clip_frames": 16}
HINT = "pass a folder with config.json and model.safetensors (see soul_studio.bench.videofeatures) to --i3d"
MAX_CLIPS = 32


def _triple(value: Any, default: int) -> tuple[int, int, int]:
    if value is None:
        return (default,) * 3
    if isinstance(value, int):
        return (value,) * 3
    t = tuple(int(v) for v in value)
    if len(t) != 3:
        raise ValueError(f"expected three numbers, got {value!r}")
    return t  # type: ignore[return-value]


def is_i3d(config: dict[str, Any]) -> bool:
    """Whether ``config`` names the Inception I3D layout rather than a plain chain of stages."""
    arch = config.get("architecture")
    if arch is not None and str(arch).lower() != I3D:
        raise ValueError(f"unknown architecture {arch!r} (only {I3D!r}, or none for a chain of stages)")
    return arch is not None


def build_network(config: dict[str, Any]) -> Any:
    """The torch module that ``config`` describes (random weights until a state dict is loaded)."""
    import torch
    from torch import nn

    if is_i3d(config):
        from soul_studio.bench.i3d import InceptionI3D

        return InceptionI3D(float(config.get("width_multiplier", 1.0)))

    class Stage(nn.Module):
        def __init__(self, cin: int, spec: dict[str, Any]) -> None:
            super().__init__()
            k = _triple(spec.get("kernel"), 3)
            self.conv = nn.Conv3d(cin, int(spec["out"]), k, _triple(spec.get("stride"), 1),
                                  tuple(v // 2 for v in k), bias=bool(spec.get("bias", True)))
            self.norm = nn.BatchNorm3d(int(spec["out"])) if spec.get("norm") else None
            pool = spec.get("pool")
            self.pool = nn.MaxPool3d(_triple(pool, 1), _triple(pool, 1)) if pool else None

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.conv(x)
            if self.norm is not None:
                x = self.norm(x)
            x = torch.relu(x)
            return self.pool(x) if self.pool is not None else x

    class VideoFeatureNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            cin, stages = 3, []
            for spec in config["stages"]:
                stages.append(Stage(cin, spec))
                cin = int(spec["out"])
            self.stages = nn.ModuleList(stages)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            for stage in self.stages:
                x = stage(x)
            return x.mean(dim=(2, 3, 4))

    return VideoFeatureNet()


class VideoFeatures:
    """Clip features from a user's video network folder; :meth:`clips` cuts frames into clips."""

    def __init__(self, folder: str | Path) -> None:
        from soul_studio.bench.weights import load_into, read_state_dict

        self.path = Path(folder)
        cfg_path = self.path / "config.json"
        if not cfg_path.is_file():
            raise BenchError(f"no video feature model at {self.path} (config.json missing)", HINT)
        weights = self.path / "model.safetensors"
        if not weights.is_file():
            pickled = [p.name for p in self.path.glob("*") if p.suffix in (".bin", ".pt", ".pth", ".pkl")]
            what = f"only pickled weights ({pickled[0]}), which are refused" if pickled else "no model.safetensors"
            raise BenchError(f"{self.path} holds {what}", "convert the weights to model.safetensors; " + HINT)
        try:
            self.config = json.loads(cfg_path.read_text())
            given = {**(I3D_DEFAULTS if is_i3d(self.config) else {}), **self.config}
            self.clip_frames = int(given["clip_frames"])
            self.side = int(given["side"])
            self.mean = np.asarray(self.config.get("mean", [0.0] * 3), np.float32).reshape(3, 1, 1, 1)
            self.std = np.asarray(self.config.get("std", [1.0] * 3), np.float32).reshape(3, 1, 1, 1)
            self.net = build_network(self.config)
        except (ValueError, KeyError, TypeError) as exc:
            raise BenchError(f"{cfg_path} is not a video feature model config ({exc})", HINT) from exc
        if self.clip_frames < 1 or self.side < 8:
            raise BenchError(f"{cfg_path}: clip_frames must be ≥ 1 and side ≥ 8", HINT)
        state = read_state_dict(weights, HINT)
        for key, value in self.net.state_dict().items():
            if key.endswith("num_batches_tracked"):
                state.setdefault(key, value)  # a counter of training steps, absent from most exports
        what = "I3D (Inception, see soul_studio.bench.i3d)" if is_i3d(self.config) else "video feature network"
        load_into(self.net, state, weights.name, what, HINT)

    def prepare(self, rgb: np.ndarray) -> np.ndarray:
        """One frame as the network reads it: side×side, channels first, scaled to [-1, 1]."""
        small = cv2.resize(rgb, (self.side, self.side), interpolation=cv2.INTER_AREA)
        return small.astype(np.float32).transpose(2, 0, 1) / 127.5 - 1.0

    def clips(self, frames: Iterable[np.ndarray], limit: int = MAX_CLIPS) -> np.ndarray:
        """Features of consecutive non-overlapping clips of ``frames`` (prepared or RGB), one row each."""
        rows: list[np.ndarray] = []
        buf: list[np.ndarray] = []
        for frame in frames:
            buf.append(frame if frame.ndim == 3 and frame.shape[0] == 3 and frame.dtype == np.float32
                       else self.prepare(frame))
            if len(buf) == self.clip_frames:
                rows.append(self.features(buf))
                buf = []
                if len(rows) >= limit:
                    break
        return np.stack(rows) if rows else np.zeros((0, 0))

    def features(self, prepared: list[np.ndarray]) -> np.ndarray:
        """The feature vector of one clip of prepared frames."""
        import torch

        x = (np.stack(prepared, axis=1) - self.mean) / self.std  # 3, T, H, W
        with torch.inference_mode():
            out = self.net(torch.from_numpy(np.ascontiguousarray(x[None], np.float32)))
        return out[0].double().numpy()


def save_network(folder: str | Path, config: dict[str, Any], state: dict[str, Any] | None = None) -> Path:
    """Write ``config`` and weights (``state``, or the network's random initial weights) as a model folder."""
    from safetensors.torch import save_file

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(config, indent=2))
    tensors = state if state is not None else build_network(config).state_dict()
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(out / "model.safetensors"))
    return out


__all__ = ["I3D", "MAX_CLIPS", "VideoFeatures", "build_network", "is_i3d", "save_network"]
