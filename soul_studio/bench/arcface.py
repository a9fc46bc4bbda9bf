"""ArcFace identity embeddings from an IResNet backbone in a user's weight file.

The InsightFace ``arcface_torch`` backbones (IResNet-18/34/50/100) share one layout:
a 3×3 stem, four stages of pre-activation basic blocks (BN, conv, BN, PReLU, conv, BN)
that halve 112×112 down to 7×7, then BN, a fully connected layer and a final BN give a
512-d embedding. The stage depths are read from the weight names, so any of the
published depths loads. Input: a 112×112 RGB face crop scaled to [-1, 1].
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from soul_studio.bench.errors import BenchError

_HINT = "pass ArcFace IResNet weights (.safetensors, or backbone.pth) or an ArcFace .onnx model with --arcface"
SIDE = 112


def build_iresnet(layers: tuple[int, int, int, int], embedding: int = 512) -> Any:
    """An IResNet with ``layers`` blocks per stage; parameter names match arcface_torch's."""
    from torch import nn

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            self.bn1 = nn.BatchNorm2d(cin, eps=1e-5)
            self.conv1 = nn.Conv2d(cin, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout, eps=1e-5)
            self.prelu = nn.PReLU(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, stride, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(cout, eps=1e-5)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout, eps=1e-5))

        def forward(self, x: Any) -> Any:
            out = self.bn3(self.conv2(self.prelu(self.bn2(self.conv1(self.bn1(x))))))
            return out + (self.downsample(x) if self.downsample is not None else x)

    class IResNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(64, eps=1e-5)
            self.prelu = nn.PReLU(64)
            widths = (64, 128, 256, 512)
            cin = 64
            for i, (width, count) in enumerate(zip(widths, layers)):
                blocks = [Block(cin, width, 2)] + [Block(width, width, 1) for _ in range(count - 1)]
                setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
                cin = width
            self.bn2 = nn.BatchNorm2d(512, eps=1e-5)
            self.fc = nn.Linear(512 * 7 * 7, embedding)
            self.features = nn.BatchNorm1d(embedding, eps=1e-5)

        def forward(self, x: Any) -> Any:
            x = self.prelu(self.bn1(self.conv1(x)))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.features(self.fc(self.bn2(x).flatten(1)))

    return IResNet()


def stage_depths(state: dict[str, Any]) -> tuple[int, int, int, int]:
    """Blocks per stage, from names such as ``layer3.13.conv1.weight``."""
    depth = [0, 0, 0, 0]
    for key in state:
        m = re.match(r"layer([1-4])\.(\d+)\.", key)
        if m:
            stage, index = int(m.group(1)) - 1, int(m.group(2))
            depth[stage] = max(depth[stage], index + 1)
    if min(depth) == 0:
        raise BenchError("the weights hold no IResNet stages (layer1..layer4)", _HINT)
    return tuple(depth)  # type: ignore[return-value]


class TorchFaceEmbedder:
    """ArcFace embeddings through PyTorch; same interface as the ONNX embedder."""

    side = SIDE

    def __init__(self, path: str | Path) -> None:
        from soul_studio.bench.weights import load_into, read_state_dict

        self.path = Path(path)
        if not self.path.is_file():
            raise BenchError(f"ArcFace weights not found at {self.path}", _HINT)
        state = read_state_dict(self.path, _HINT)
        embedding = int(state["fc.weight"].shape[0]) if "fc.weight" in state else 512
        self.net = build_iresnet(stage_depths(state), embedding)
        load_into(self.net, state, self.path.name, "ArcFace IResNet", _HINT)

    def embed(self, rgb: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
        import torch

        from soul_studio.bench.features import face_crop

        crop = face_crop(rgb, box, margin=0.05, side=self.side).astype(np.float32)
        x = torch.from_numpy(((crop - 127.5) / 127.5).transpose(2, 0, 1).copy())[None]
        with torch.inference_mode():
            out = self.net(x)[0].numpy().astype(np.float64)
        return out / (np.linalg.norm(out) + 1e-9)


__all__ = ["TorchFaceEmbedder", "build_iresnet", "stage_depths"]
