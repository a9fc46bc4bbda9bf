"""Audio features for the soul model: Wav2Vec2 hidden states, one window per video frame.

Wav2Vec2 runs at 16 kHz and emits a feature every 320 samples (50 Hz). The hidden
states of all its transformer layers are stacked (lower layers carry phonetics, upper
ones prosody), resampled linearly to the video frame rate, and each video frame gets
the features of itself plus ``context`` frames on each side (edges repeat). Long clips
are encoded in overlapping segments so memory stays flat however long the line is.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

MODEL_RATE = 16_000


def fit_samples(samples: np.ndarray, num_frames: int, fps: float, rate: int = MODEL_RATE) -> np.ndarray:
    """Pad with silence or trim mono ``samples`` to exactly ``num_frames`` video frames."""
    n = int(round(num_frames / float(fps) * rate))
    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    if samples.shape[0] >= n:
        return samples[:n]
    return np.pad(samples, (0, n - samples.shape[0]))


def frame_windows(features: torch.Tensor, context: int) -> torch.Tensor:
    """(F, ...) per-frame features → (F, 2·context+1, ...) windows with repeated edges."""
    frames = features.shape[0]
    offsets = torch.arange(-context, context + 1, device=features.device)
    index = (torch.arange(frames, device=features.device)[:, None] + offsets[None, :]).clamp(0, frames - 1)
    return features[index]


class SoulAudioEncoder:
    """Wraps a ``Wav2Vec2Model`` and its feature extractor; see the module docstring."""

    def __init__(self, model: torch.nn.Module, feature_extractor: object, context_frames: int = 2,
                 segment_seconds: float = 20.0, margin_seconds: float = 1.0) -> None:
        self.model = model
        self.feature_extractor = feature_extractor
        self.context_frames = int(context_frames)
        self.segment_seconds = float(segment_seconds)
        self.margin_seconds = float(margin_seconds)
        self.hop = int(math.prod(model.config.conv_stride))

    @property
    def num_layers(self) -> int:
        return int(self.model.config.num_hidden_layers)

    @property
    def width(self) -> int:
        return int(self.model.config.hidden_size)

    def _hidden(self, samples: np.ndarray) -> torch.Tensor:
        """Stacked hidden states (T, layers, width) of one segment."""
        param = next(self.model.parameters())
        inputs = self.feature_extractor(samples, sampling_rate=MODEL_RATE, return_tensors="pt")
        values = inputs["input_values"].to(device=param.device, dtype=param.dtype)
        out = self.model(values, output_hidden_states=True)
        return torch.stack(out.hidden_states[1:], dim=2)[0].float()

    @torch.no_grad()
    def hidden_states(self, samples: np.ndarray) -> torch.Tensor:
        """(T, layers, width) at the encoder's own rate, segment by segment for long clips."""
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        minimum = 2 * self.hop
        if samples.shape[0] < minimum:
            samples = np.pad(samples, (0, minimum - samples.shape[0]))
        seg = int(self.segment_seconds * MODEL_RATE) // self.hop * self.hop
        if samples.shape[0] <= seg + 2 * self.hop:
            return self._hidden(samples)
        margin = int(self.margin_seconds * MODEL_RATE) // self.hop * self.hop
        pieces = []
        for start in range(0, samples.shape[0], seg):
            a = max(0, start - margin)
            b = min(samples.shape[0], start + seg + margin)
            hidden = self._hidden(samples[a:b])
            skip = (start - a) // self.hop
            keep = min(seg, samples.shape[0] - start) // self.hop
            pieces.append(hidden[skip : skip + max(1, keep)])
        return torch.cat(pieces, dim=0)

    @torch.no_grad()
    def encode(self, samples: np.ndarray, fps: float, num_frames: int) -> torch.Tensor:
        """16 kHz mono ``samples`` → (num_frames, window, layers, width) float32 features.

        The audio is first fitted to exactly ``num_frames / fps`` seconds, so frame ``i``
        always sees the sound heard while it is on screen.
        """
        samples = fit_samples(samples, num_frames, fps)
        hidden = self.hidden_states(samples)  # (T, L, D)
        t, layers, width = hidden.shape
        flat = hidden.reshape(t, layers * width).T.unsqueeze(0)  # (1, L·D, T)
        per_frame = F.interpolate(flat, size=num_frames, mode="linear", align_corners=False)
        per_frame = per_frame[0].T.reshape(num_frames, layers, width)
        return frame_windows(per_frame, self.context_frames)
