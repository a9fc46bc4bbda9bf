"""SyncNet scoring (Chung & Zisserman, "Out of time", 2016) from the standard weights, when supplied.

The network is the published SyncNet v2 layout: a 2-D CNN over 13 MFCCs × 20 steps
(0.2 s of 16 kHz audio) and a 3-D CNN over five 224×224 face crops, each ending in a
1024-d embedding. For every 5-frame window the lip embedding is compared with the audio
embeddings of windows shifted by -15..15 frames; the shift with the smallest mean
distance is the offset and ``median - min`` distance the confidence (the LSE-C / LSE-D
numbers talking-head papers quote).

Weights are read from a user file. ``.safetensors`` is preferred. The weights published
by the authors (``syncnet_v2.model``) are a pickled PyTorch state dict; those are read
with ``torch.load(weights_only=True)``, which refuses any pickle that holds more than
tensors and plain containers, so a tampered file cannot run code. Torch is imported only
here, and only when weights are given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from soul_studio.bench.errors import BenchError

SYNCNET_RATE = 16_000
SYNCNET_FPS = 25.0
WINDOW = 5  # video frames per lip window
MFCC_PER_FRAME = 4  # 100 MFCC steps a second at 25 fps
VSHIFT = 15
CROP = 224

_HINT = "pass the SyncNet v2 weights (syncnet_v2.model or a .safetensors conversion) with --syncnet"


def build_network(embedding: int = 1024) -> Any:
    """The SyncNet v2 module (audio and lip towers); parameter names match the published weights."""
    import torch
    from torch import nn

    def conv2(cin: int, cout: int, k: tuple[int, int], pad: tuple[int, int] = (1, 1), relu_inplace: bool = True) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, k, padding=pad), nn.BatchNorm2d(cout), nn.ReLU(inplace=relu_inplace)]

    def conv3(cin: int, cout: int, k: tuple[int, int, int], stride: tuple[int, int, int] = (1, 1, 1),
              pad: tuple[int, int, int] = (0, 1, 1)) -> list[nn.Module]:
        return [nn.Conv3d(cin, cout, k, stride=stride, padding=pad), nn.BatchNorm3d(cout), nn.ReLU(inplace=True)]

    def head() -> nn.Sequential:
        return nn.Sequential(nn.Linear(512, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, embedding))

    class SyncNetV2(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.netcnnaud = nn.Sequential(
                *conv2(1, 64, (3, 3)), nn.MaxPool2d((1, 1), (1, 1)),
                *conv2(64, 192, (3, 3)), nn.MaxPool2d((3, 3), (1, 2)),
                *conv2(192, 384, (3, 3)),
                *conv2(384, 256, (3, 3)),
                *conv2(256, 256, (3, 3)), nn.MaxPool2d((3, 3), (2, 2)),
                *conv2(256, 512, (5, 4), pad=(0, 0), relu_inplace=False),
            )
            self.netfcaud = head()
            self.netfclip = head()
            self.netcnnlip = nn.Sequential(
                *conv3(3, 96, (5, 7, 7), (1, 2, 2), (0, 0, 0)), nn.MaxPool3d((1, 3, 3), (1, 2, 2)),
                *conv3(96, 256, (1, 5, 5), (1, 2, 2), (0, 1, 1)), nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)),
                *conv3(256, 256, (1, 3, 3)),
                *conv3(256, 256, (1, 3, 3)),
                *conv3(256, 256, (1, 3, 3)), nn.MaxPool3d((1, 3, 3), (1, 2, 2)),
                *conv3(256, 512, (1, 6, 6), pad=(0, 0, 0)),
            )

        def forward_aud(self, x: torch.Tensor) -> torch.Tensor:
            return self.netfcaud(self.netcnnaud(x).flatten(1))

        def forward_lip(self, x: torch.Tensor) -> torch.Tensor:
            return self.netfclip(self.netcnnlip(x).flatten(1))

    return SyncNetV2()


def load_syncnet(path: str | Path) -> SyncNetScorer:
    """Read SyncNet v2 weights from ``path``; raises :class:`BenchError` with a clear message."""
    from soul_studio.bench.weights import load_into, read_state_dict

    p = Path(path)
    if not p.is_file():
        raise BenchError(f"SyncNet weights not found at {p}", _HINT)
    state = read_state_dict(p, _HINT)
    net = build_network()
    load_into(net, state, p.name, "SyncNet v2", _HINT)
    return SyncNetScorer(net, p)


def mfcc(samples: np.ndarray, rate: int = SYNCNET_RATE, n_ceps: int = 13, n_filters: int = 26,
         nfft: int = 512, win_s: float = 0.025, hop_s: float = 0.01) -> np.ndarray:
    """MFCCs (steps × n_ceps), with the log frame energy as coefficient 0, as SyncNet was trained."""
    x = np.asarray(samples, np.float64).reshape(-1)
    x = np.append(x[:1], x[1:] - 0.97 * x[:-1])
    win, hop = int(round(win_s * rate)), int(round(hop_s * rate))
    n = 1 + max(0, int(np.ceil((x.size - win) / hop)))
    x = np.pad(x, (0, max(0, (n - 1) * hop + win - x.size)))
    idx = np.arange(win)[None, :] + hop * np.arange(n)[:, None]
    power = np.abs(np.fft.rfft(x[idx], nfft)) ** 2 / nfft
    energy = np.maximum(power.sum(axis=1), 1e-12)
    mel = lambda f: 2595 * np.log10(1 + f / 700.0)  # noqa: E731
    imel = lambda m: 700 * (10 ** (m / 2595.0) - 1)  # noqa: E731
    points = imel(np.linspace(mel(0), mel(rate / 2), n_filters + 2))
    bins = np.floor((nfft + 1) * points / rate).astype(int)
    bank = np.zeros((n_filters, nfft // 2 + 1))
    for j in range(n_filters):
        a, b, c = bins[j], bins[j + 1], bins[j + 2]
        bank[j, a:b] = (np.arange(a, b) - a) / max(1, b - a)
        bank[j, b:c] = (c - np.arange(b, c)) / max(1, c - b)
    feats = np.log(np.maximum(power @ bank.T, 1e-12))
    k = np.arange(n_filters)
    dct = np.cos(np.pi / n_filters * (k[None, :] + 0.5) * np.arange(n_ceps)[:, None]) * np.sqrt(2.0 / n_filters)
    dct[0] /= np.sqrt(2.0)
    ceps = feats @ dct.T
    ceps *= 1 + 11.0 * np.sin(np.pi * np.arange(n_ceps) / 22.0)  # lifter 22
    ceps[:, 0] = np.log(energy)
    return ceps.astype(np.float32)


def face_window_crop(rgb: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """The 224×224 BGR face crop SyncNet sees (OpenCV channel order, as in training)."""
    from soul_studio.bench.features import face_crop

    crop = face_crop(rgb, box, margin=0.2, side=CROP)
    return cv2.cvtColor(crop, cv2.COLOR_RGB2BGR)


class SyncNetScorer:
    """A loaded SyncNet; :meth:`score` measures offset and confidence of one take."""

    def __init__(self, net: Any, path: Path) -> None:
        self.net = net
        self.path = path

    def score(self, crops: list[np.ndarray], audio_16k: np.ndarray, fps: float, batch: int = 16) -> dict[str, Any]:
        """Offset (frames, positive = picture late), min distance and confidence over ±15 frames."""
        import torch

        n = len(crops) - WINDOW + 1
        if n < 1:
            return {"note": "not computed: the take is shorter than SyncNet's 5-frame window"}
        steps_per_frame = 100.0 / float(fps)
        ceps = mfcc(audio_16k)
        need = int(round((n - 1) * steps_per_frame)) + 20
        if ceps.shape[0] < need:
            ceps = np.pad(ceps, ((0, need - ceps.shape[0]), (0, 0)))
        video = np.stack(crops).astype(np.float32)  # T, H, W, 3
        lip, aud = [], []
        with torch.inference_mode():
            for s in range(0, n, batch):
                idx = range(s, min(n, s + batch))
                clips = np.stack([video[i:i + WINDOW] for i in idx])  # B, 5, H, W, 3
                x = torch.from_numpy(clips).permute(0, 4, 1, 2, 3).contiguous()
                lip.append(self.net.forward_lip(x))
                mf = np.stack([ceps[int(round(i * steps_per_frame)):int(round(i * steps_per_frame)) + 20].T for i in idx])
                aud.append(self.net.forward_aud(torch.from_numpy(mf[:, None])))
        lip_f = torch.cat(lip).numpy()
        aud_f = torch.cat(aud).numpy()
        shifts = np.arange(-VSHIFT, VSHIFT + 1)
        dists = np.full(shifts.size, np.nan)
        for j, s in enumerate(shifts):
            # Picture late by s frames: lip window i + s shows the sound of audio window i.
            i = np.arange(max(0, -s), min(n, n - s))
            if i.size:
                dists[j] = float(np.linalg.norm(lip_f[i + s] - aud_f[i], axis=1).mean())
        best = int(np.nanargmin(dists))
        return {
            "method": "SyncNet v2",
            "weights": self.path.name,
            "offset_frames": int(shifts[best]),
            "min_distance": round(float(dists[best]), 4),
            "confidence": round(float(np.nanmedian(dists) - dists[best]), 4),
            "shifts": [int(v) for v in shifts],
            "distances": [round(float(v), 4) for v in dists],
        }


__all__ = ["SyncNetScorer", "build_network", "face_window_crop", "load_syncnet", "mfcc"]
