"""Training clips for the soul audio adapter, read from an annotated JSONL manifest.

Manifest contract (one JSON object per line, blank lines ignored; the engine reads it as
plain JSON and never imports the studio's annotation code):

``clip`` (or ``path``)
    the movie with its dialogue audio (MP4/MOV), relative to the manifest's folder or
    absolute. The whole file is one example; ``start``/``end`` and the sync metrics the
    annotator writes describe where it was cut from and how well it is in sync, and
    are only carried along in ``extra``.
``kept``
    optional, default true; lines with ``"kept": false`` are skipped.
``caption`` (or ``text``, or ``prompt``)
    optional prompt for the clip, default empty.

Each example is a window of ``frames`` (4k+1) consecutive video frames and the 16 kHz
mono audio heard during exactly those frames, scaled and centre-cropped to the training
size as :func:`engine.media.fit_image` does for the portrait at render time. The window
start is drawn from ``(seed, epoch, index)``, so an example is the same on every run,
in every worker, and after a resume; ``dataset[(index, epoch)]`` asks for a given epoch.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

AUDIO_RATE = 16_000


@dataclass(frozen=True)
class ManifestClip:
    """One kept manifest line: where the movie is, its prompt and what else the line said."""

    path: Path
    caption: str
    line: int
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


def read_manifest(path: str | os.PathLike[str]) -> list[ManifestClip]:
    """The kept clips of a JSONL manifest, paths resolved against its folder."""
    manifest = Path(path)
    root = manifest.parent
    clips: list[ManifestClip] = []
    for number, raw in enumerate(manifest.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            entry = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{manifest}:{number}: not JSON ({exc.msg})") from exc
        if not isinstance(entry, dict):
            raise ValueError(f"{manifest}:{number}: expected a JSON object")
        if entry.get("kept", True) is False:
            continue
        name = entry.get("clip") or entry.get("path")
        if not name:
            raise ValueError(f"{manifest}:{number}: no 'clip' (or 'path') field")
        clip = Path(name)
        caption = entry.get("caption") or entry.get("text") or entry.get("prompt") or ""
        extra = {k: v for k, v in entry.items() if k not in ("clip", "path", "caption", "text", "prompt", "kept")}
        clips.append(ManifestClip(clip if clip.is_absolute() else root / clip, str(caption), number, extra))
    return clips


@dataclass(frozen=True)
class ClipInfo:
    """What the dataset needs to know about a movie before decoding it."""

    frame_count: int
    fps: Fraction


def _probe(path: Path) -> ClipInfo:
    from engine.media import probe_video

    info = probe_video(path, count_frames=False)
    if not info.frame_count:
        info = probe_video(path, count_frames=True)
    if info.audio_codec is None:
        raise ValueError(f"{path} has no audio stream")
    return ClipInfo(int(info.frame_count), Fraction(info.fps))


class ClipDataset(Dataset):
    """Windows of ``frames`` frames plus matching audio from the clips of a manifest.

    An item is a dict: ``frames`` uint8 (F, H, W, 3), or float (3, F, H, W) in [-1, 1]
    with ``normalize``; ``audio`` float32 (F / fps · 16000,); ``fps``; ``caption``;
    ``index``, ``epoch`` and ``start`` (first frame of the window in its clip);
    ``reference`` uint8 (H, W, 3), a frame of the same clip drawn from anywhere in it (the
    *pivot* reference long-form chunks are conditioned on, like the portrait at render time).
    Clips shorter than the window, or without audio, are left out and listed in
    ``skipped`` with the reason.
    """

    def __init__(self, manifest: str | os.PathLike[str], width: int, height: int, frames: int = 81,
                 seed: int = 0, normalize: bool = False, temporal_stride: int = 4) -> None:
        if frames < 1 or (frames - 1) % temporal_stride:
            raise ValueError(f"{frames} frames: windows hold {temporal_stride}k+1 frames")
        self.width, self.height, self.frames = int(width), int(height), int(frames)
        self.seed = int(seed)
        self.normalize = normalize
        self.epoch = 0
        self.clips: list[ManifestClip] = []
        self.infos: list[ClipInfo] = []
        self.skipped: list[tuple[ManifestClip, str]] = []
        from engine.media import MediaError

        for clip in read_manifest(manifest):
            try:
                info = _probe(clip.path)
            except (MediaError, ValueError) as exc:
                self.skipped.append((clip, str(exc)))
                continue
            if info.frame_count < self.frames:
                self.skipped.append((clip, f"{info.frame_count} frames, the window needs {self.frames}"))
                continue
            self.clips.append(clip)
            self.infos.append(info)
        if not self.clips:
            reasons = "; ".join(f"line {c.line}: {why}" for c, why in self.skipped[:5])
            raise ValueError(f"{manifest} holds no usable clip" + (f" ({reasons})" if reasons else ""))

    def __len__(self) -> int:
        return len(self.clips)

    def set_epoch(self, epoch: int) -> None:
        """Windows drawn by ``dataset[i]`` from now on are those of ``epoch``."""
        self.epoch = int(epoch)

    def window_start(self, index: int, epoch: int) -> int:
        """First frame of the window of clip ``index`` in ``epoch``: a pure function of the seed."""
        room = self.infos[index].frame_count - self.frames
        rng = np.random.default_rng([self.seed, int(epoch), int(index)])
        return int(rng.integers(0, room + 1))

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Any]:
        index, epoch = (int(key[0]), int(key[1])) if isinstance(key, tuple) else (int(key), self.epoch)
        clip, info = self.clips[index], self.infos[index]
        start = self.window_start(index, epoch)
        frames = self._frames(clip.path, start)
        audio = self._audio(clip.path, start, info.fps)
        reference = self._reference(clip.path, index, epoch, info.frame_count, frames)
        if self.normalize:
            video = torch.from_numpy(frames).permute(3, 0, 1, 2).float().div(127.5).sub(1.0)
        else:
            video = torch.from_numpy(frames)
        return {"frames": video, "audio": torch.from_numpy(audio), "fps": float(info.fps), "caption": clip.caption,
                "index": index, "epoch": epoch, "start": start, "reference": torch.from_numpy(reference)}

    def reference_index(self, index: int, epoch: int, frame_count: int) -> int:
        """The clip frame used as the pivot reference: a pure function of the seed."""
        rng = np.random.default_rng([self.seed, int(epoch), int(index), 1])
        return int(rng.integers(0, max(1, frame_count)))

    def _reference(self, path: Path, index: int, epoch: int, frame_count: int, window: np.ndarray) -> np.ndarray:
        from engine.media import fit_image, read_frame_at

        frame = read_frame_at(path, self.reference_index(index, epoch, frame_count))
        return fit_image(frame, self.width, self.height, mode="cover") if frame is not None else window[0].copy()

    def _frames(self, path: Path, start: int) -> np.ndarray:
        from engine.media import fit_image, iter_frames

        out = np.empty((self.frames, self.height, self.width, 3), np.uint8)
        n = 0
        for frame in iter_frames(path, start, self.frames):
            out[n] = fit_image(frame, self.width, self.height, mode="cover")
            n += 1
        if n < self.frames:
            # the container promised more frames than it decodes: hold the last one
            if n == 0:
                raise ValueError(f"{path}: no frame decodes from {start}")
            out[n:] = out[n - 1]
        return out

    def _audio(self, path: Path, start: int, fps: Fraction) -> np.ndarray:
        from engine.backends.soul.audio import fit_samples
        from engine.media import load_audio

        t0 = float(start / fps)
        t1 = float((start + self.frames) / fps)
        clip = load_audio(path, AUDIO_RATE, 1, start=t0, end=t1)
        return fit_samples(clip.mono(), self.frames, float(fps), AUDIO_RATE)


def collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack frames; audio stays a list because clips at other frame rates differ in length."""
    return {
        "frames": torch.stack([it["frames"] for it in items]),
        "audio": [it["audio"] for it in items],
        "fps": [it["fps"] for it in items],
        "caption": [it["caption"] for it in items],
        "index": [it["index"] for it in items],
        "epoch": [it["epoch"] for it in items],
        "start": [it["start"] for it in items],
        "reference": torch.stack([it["reference"] for it in items]),
    }
