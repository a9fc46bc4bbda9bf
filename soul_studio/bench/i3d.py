"""Inception-v1 inflated to 3D (I3D, Carreira & Zisserman 2017), the network standard FVD reads features from.

Published FVD figures use I3D clip features, whose branching Inception ("mixed") blocks a plain
chain of convolutions cannot describe. This module builds that layout with the tensor names of
the widely used PyTorch port (``Conv3d_1a_7x7.conv3d.weight``, ``Mixed_3b.b1b.bn.running_mean``,
…), so its checkpoints load unchanged once converted to safetensors::

    python -c "import torch; from safetensors.torch import save_file; \\
save_file(torch.load('rgb_imagenet.pt', weights_only=True), 'model.safetensors')"

Put that file next to a ``config.json`` holding ``{"architecture": "i3d"}`` and pass the folder
to ``--i3d``. The classifier tensors (``logits.*``) are ignored: the feature is the 1024-d
average of ``Mixed_5c``. Padding follows TensorFlow's "same" rule, as in the original network.
``width_multiplier`` scales every channel count (1.0, the real network, unless set); smaller
widths only serve to build quick random-weight networks.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812 - the usual alias
from torch import nn

# Mixed block widths from the paper: 1x1, 3x3 reduce, 3x3, 3x3 reduce (second), 3x3 (second), pool projection.
MIXED: dict[str, tuple[int, int, int, int, int, int]] = {
    "Mixed_3b": (64, 96, 128, 16, 32, 32),
    "Mixed_3c": (128, 128, 192, 32, 96, 64),
    "Mixed_4b": (192, 96, 208, 16, 48, 64),
    "Mixed_4c": (160, 112, 224, 24, 64, 64),
    "Mixed_4d": (128, 128, 256, 24, 64, 64),
    "Mixed_4e": (112, 144, 288, 32, 64, 64),
    "Mixed_4f": (256, 160, 320, 32, 128, 128),
    "Mixed_5b": (256, 160, 320, 32, 128, 128),
    "Mixed_5c": (384, 192, 384, 48, 128, 128),
}

Triple = tuple[int, int, int]


def _same_pad(x: torch.Tensor, kernel: Triple, stride: Triple) -> torch.Tensor:
    """Pad ``x`` (N, C, T, H, W) as TensorFlow's "same" does: extra padding goes after, not before."""
    pads: list[int] = []
    for size, k, s in zip(x.shape[2:], kernel, stride, strict=True):
        total = max(k - s, 0) if size % s == 0 else max(k - size % s, 0)
        pads.append(total // 2)
        pads.append(total - total // 2)
    t0, t1, h0, h1, w0, w1 = pads
    if not any(pads):
        return x
    return F.pad(x, (w0, w1, h0, h1, t0, t1))


class Unit3D(nn.Module):
    """Conv3d without bias → BatchNorm3d (eps 1e-3) → ReLU, the unit every I3D layer is made of."""

    def __init__(self, cin: int, cout: int, kernel: Triple = (1, 1, 1), stride: Triple = (1, 1, 1)) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride
        self.conv3d = nn.Conv3d(cin, cout, kernel, stride, padding=0, bias=False)
        self.bn = nn.BatchNorm3d(cout, eps=1e-3, momentum=0.01)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv3d(_same_pad(x, self.kernel, self.stride))))


class SamePool(nn.Module):
    """3D max pooling with "same" padding (zeros are safe: the inputs come out of a ReLU)."""

    def __init__(self, kernel: Triple, stride: Triple) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool3d(_same_pad(x, self.kernel, self.stride), self.kernel, self.stride)


class Mixed(nn.Module):
    """An Inception block: four parallel branches concatenated along channels."""

    def __init__(self, cin: int, widths: tuple[int, ...]) -> None:
        super().__init__()
        o0, o1, o2, o3, o4, o5 = widths
        self.b0 = Unit3D(cin, o0)
        self.b1a = Unit3D(cin, o1)
        self.b1b = Unit3D(o1, o2, (3, 3, 3))
        self.b2a = Unit3D(cin, o3)
        self.b2b = Unit3D(o3, o4, (3, 3, 3))
        self.b3a = SamePool((3, 3, 3), (1, 1, 1))
        self.b3b = Unit3D(cin, o5)
        self.out_channels = o0 + o2 + o4 + o5

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)), self.b3b(self.b3a(x))], dim=1)


class InceptionI3D(nn.Module):
    """I3D up to ``Mixed_5c``; ``forward`` maps clips (N, 3, T, H, W) in [-1, 1] to (N, features)."""

    def __init__(self, width_multiplier: float = 1.0) -> None:
        super().__init__()
        if width_multiplier <= 0:
            raise ValueError(f"width_multiplier must be positive, got {width_multiplier}")

        def w(c: int) -> int:
            return max(1, round(c * width_multiplier))

        self.Conv3d_1a_7x7 = Unit3D(3, w(64), (7, 7, 7), (2, 2, 2))
        self.MaxPool3d_2a_3x3 = SamePool((1, 3, 3), (1, 2, 2))
        self.Conv3d_2b_1x1 = Unit3D(w(64), w(64))
        self.Conv3d_2c_3x3 = Unit3D(w(64), w(192), (3, 3, 3))
        self.MaxPool3d_3a_3x3 = SamePool((1, 3, 3), (1, 2, 2))
        cin = w(192)
        pools = {"Mixed_4b": ("MaxPool3d_4a_3x3", (3, 3, 3), (2, 2, 2)),
                 "Mixed_5b": ("MaxPool3d_5a_2x2", (2, 2, 2), (2, 2, 2))}
        self.order: list[str] = ["Conv3d_1a_7x7", "MaxPool3d_2a_3x3", "Conv3d_2b_1x1", "Conv3d_2c_3x3",
                                 "MaxPool3d_3a_3x3"]
        for name, widths in MIXED.items():
            if name in pools:
                pool_name, kernel, stride = pools[name]
                setattr(self, pool_name, SamePool(kernel, stride))
                self.order.append(pool_name)
            block = Mixed(cin, tuple(w(c) for c in widths))
            setattr(self, name, block)
            self.order.append(name)
            cin = block.out_channels
        self.features_dim = cin

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for name in self.order:
            x = getattr(self, name)(x)
        return x.mean(dim=(2, 3, 4))


__all__ = ["MIXED", "InceptionI3D"]
