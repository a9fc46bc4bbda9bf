"""Dialogue audio → InfiniteTalk's audio features: chinese-wav2vec2-base at 25 fps.

As the reference does: the 16 kHz speech is loudness-normalised to −23 LUFS, the
Wav2Vec2 feature extractor normalises it, and the *convolutional* features (50 Hz) are
linearly interpolated (``align_corners=True``) to one feature per 25 fps video frame
*before* the transformer encoder, which then runs at 25 Hz. The hidden states of all its
layers are stacked: (frames, layers, width). The stock ``transformers.Wav2Vec2Model`` is
used as is; a forward hook on its ``feature_extractor`` does the interpolation.

Clips longer than ``segment_frames`` are encoded in overlapping segments so memory
stays flat (the reference encodes a whole clip at once; up to 40 s the two agree).
:func:`frame_windows` cuts a window's per-frame 5-frame contexts, extending past the end
of the clip with mirrored features as the reference does.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

MODEL_RATE = 16_000
VIDEO_FPS = 25
TARGET_LUFS = -23.0


def loudness_normalise(samples: np.ndarray, rate: int = MODEL_RATE, target: float = TARGET_LUFS) -> np.ndarray:
    """Scale mono speech to ``target`` LUFS (ITU-R BS.1770); silence and very short clips pass unchanged."""
    samples = np.asarray(samples, dtype=np.float64).reshape(-1)
    if samples.shape[0] < int(0.4 * rate) or not np.any(samples):
        return samples.astype(np.float32)
    import pyloudnorm

    loudness = pyloudnorm.Meter(rate).integrated_loudness(samples)
    if not np.isfinite(loudness) or abs(loudness) > 100:
        return samples.astype(np.float32)
    return (samples * 10.0 ** ((target - loudness) / 20.0)).astype(np.float32)


def video_frames(samples: np.ndarray, rate: int = MODEL_RATE, fps: int = VIDEO_FPS) -> int:
    """Video frames the reference makes for a clip: ``int(seconds × 25)``."""
    return int(len(np.asarray(samples).reshape(-1)) / rate * fps)


def extend_mirror(features: torch.Tensor, length: int) -> torch.Tensor:
    """``features`` (F, ...) grown to ``length`` frames by mirroring its end back and forth."""
    out = features
    while out.shape[0] < length:
        out = torch.cat([out, torch.flip(out, dims=[0])[: length - out.shape[0]]], dim=0)
    return out[:length] if out.shape[0] > length else out


def frame_windows(features: torch.Tensor, start: int, count: int, width: int = 5) -> torch.Tensor:
    """Windows (count, width, ...) of frames ``start .. start+count`` with ±width//2 context.

    Indices are clamped at 0; past the end the features are mirrored (the reference's
    padding for the last streaming window).
    """
    half = width // 2
    needed = start + count + half
    feats = extend_mirror(features, needed) if needed > features.shape[0] else features
    centres = torch.arange(start, start + count)[:, None] + torch.arange(-half, half + 1)[None, :]
    return feats[centres.clamp(0, feats.shape[0] - 1)]


class InfiniteTalkAudioEncoder:
    """A ``Wav2Vec2Model`` + feature extractor run the way InfiniteTalk was trained."""

    def __init__(self, model: torch.nn.Module, feature_extractor: object, fps: int = VIDEO_FPS,
                 segment_frames: int = 1000, margin_frames: int = 50, normalise_loudness: bool = True) -> None:
        self.model = model
        self.feature_extractor = feature_extractor
        self.fps = int(fps)
        self.segment_frames = int(segment_frames)
        self.margin_frames = int(margin_frames)
        self.normalise_loudness = normalise_loudness

    @property
    def num_layers(self) -> int:
        return int(self.model.config.num_hidden_layers)

    @property
    def width(self) -> int:
        return int(self.model.config.hidden_size)

    def _conv_features(self, samples: np.ndarray, num_frames: int) -> torch.Tensor:
        """Convolutional features (1, C, num_frames), interpolated to the video rate."""
        param = next(self.model.parameters())
        values = self.feature_extractor(samples, sampling_rate=MODEL_RATE, return_tensors="pt")["input_values"]
        conv = self.model.feature_extractor(values.to(param.device, param.dtype))
        return F.interpolate(conv.float(), size=num_frames, mode="linear", align_corners=True).to(param.dtype)

    def _encode_conv(self, conv: torch.Tensor) -> torch.Tensor:
        """Run projection + encoder on given conv features (1, C, T) → (T, layers, width)."""
        handle = self.model.feature_extractor.register_forward_hook(lambda m, a, out: conv)
        try:
            dummy = torch.zeros(1, 400, device=conv.device, dtype=conv.dtype)
            out = self.model(dummy, output_hidden_states=True)
        finally:
            handle.remove()
        return torch.stack(out.hidden_states[1:], dim=2)[0].float()

    @torch.no_grad()
    def encode(self, samples: np.ndarray, num_frames: int | None = None) -> torch.Tensor:
        """16 kHz mono speech → (num_frames, layers, width) float32 features at 25 fps.

        ``num_frames`` defaults to :func:`video_frames` of the clip.
        """
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        if num_frames is None:
            num_frames = video_frames(samples, fps=self.fps)
        num_frames = max(1, int(num_frames))
        if self.normalise_loudness:
            samples = loudness_normalise(samples)
        if samples.shape[0] < 800:  # the conv stack needs a few hops of input
            samples = np.pad(samples, (0, 800 - samples.shape[0]))
        conv = self._conv_features(samples, num_frames)
        if num_frames <= self.segment_frames:
            return self._encode_conv(conv)
        pieces = []
        for start in range(0, num_frames, self.segment_frames):
            a = max(0, start - self.margin_frames)
            b = min(num_frames, start + self.segment_frames + self.margin_frames)
            hidden = self._encode_conv(conv[:, :, a:b])
            keep = min(self.segment_frames, num_frames - start)
            pieces.append(hidden[start - a : start - a + keep])
        return torch.cat(pieces, dim=0)
