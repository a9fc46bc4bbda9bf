"""Audio features for the soul model: encoder hidden states, one window per video frame.

The encoder is Whisper's (the Soul default) or Wav2Vec2 (see :mod:`.audio_checkpoint`).
Both run at 16 kHz and emit a feature every 320 samples (50 Hz). The hidden states of
all encoder layers are stacked (lower layers carry phonetics, upper ones prosody),
resampled linearly to the video frame rate, and each video frame gets the features of
itself plus ``context`` frames on each side (edges repeat). Long clips are encoded in
overlapping segments so memory stays flat however long the line is; Whisper's segments
fit inside its fixed input window (30 s for the published models), whose padding is cut
off again.
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
    """Wraps a ``WhisperEncoder`` or ``Wav2Vec2Model`` and its feature extractor; see the module docstring."""

    def __init__(self, model: torch.nn.Module, feature_extractor: object, context_frames: int = 2,
                 segment_seconds: float = 20.0, margin_seconds: float = 1.0) -> None:
        from engine.backends.soul.audio_checkpoint import samples_per_feature

        self.model = model
        self.feature_extractor = feature_extractor
        self.kind = "whisper" if model.config.model_type == "whisper" else "wav2vec2"
        self.context_frames = int(context_frames)
        self.segment_seconds = float(segment_seconds)
        self.margin_seconds = float(margin_seconds)
        if self.kind == "whisper":  # segment + both margins must fit the fixed input window
            window = float(feature_extractor.n_samples) / MODEL_RATE
            self.margin_seconds = min(self.margin_seconds, window / 8)
            self.segment_seconds = min(self.segment_seconds, window - 2 * self.margin_seconds)
        self.hop = samples_per_feature(self.kind, model, feature_extractor)

    @property
    def num_layers(self) -> int:
        cfg = self.model.config
        return int(cfg.encoder_layers if self.kind == "whisper" else cfg.num_hidden_layers)

    @property
    def width(self) -> int:
        cfg = self.model.config
        return int(cfg.d_model if self.kind == "whisper" else cfg.hidden_size)

    def _hidden(self, samples: np.ndarray) -> torch.Tensor:
        """Stacked hidden states (T, layers, width) of one segment."""
        param = next(self.model.parameters())
        inputs = self.feature_extractor(samples, sampling_rate=MODEL_RATE, return_tensors="pt")
        key = "input_features" if self.kind == "whisper" else "input_values"
        values = inputs[key].to(device=param.device, dtype=param.dtype)
        out = self.model(values, output_hidden_states=True)
        hidden = torch.stack(out.hidden_states[1:], dim=2)[0].float()
        if self.kind == "whisper":  # drop the encoder frames of the window's zero padding
            hidden = hidden[: max(1, math.ceil(len(samples) / self.hop))]
        return hidden

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
