"""Talking takes made in the test: painted portraits and babble, animated by the sketch backend."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from engine.backends.base import RenderContext
from engine.backends.sketch.backend import SketchBackend
from engine.jobs import JobSpec
from engine.media import AudioClip, VideoWriter, load_audio, read_frames, save_image, write_audio
from engine.media.audio import DELIVERY_RATE
from engine.media.synthetic import draw_portrait, speech_like_audio
from engine.takes import write_take

FPS = 25.0
# Speech with pauses of different lengths: a loudness pattern that matches itself at one lag only.
SEGMENTS = [(0.25, 0.85), (1.15, 1.5), (1.9, 2.75), (3.05, 3.45)]


def render_take(root: Path, name: str, seed: int = 1, size: int = 192, duration: float = 3.6,
                audio_seed: int = 3, segments: list[tuple[float, float]] | None = None) -> Path:
    """A sketch take with its sidecar, at ``root/name.mp4``."""
    root.mkdir(parents=True, exist_ok=True)
    portrait = root / f"{name}_portrait.png"
    save_image(portrait, draw_portrait(seed, (size, size)))
    audio = root / f"{name}_line.wav"
    write_audio(audio, speech_like_audio(duration, 48_000, segments or SEGMENTS, seed=audio_seed, level_dbfs=-14.0))
    job = JobSpec(shot_id=name, portrait_path=str(portrait), audio_path=str(audio), duration=duration, fps=FPS,
                  width=size, height=size, output_path=str(root / f"{name}.mp4"), seed=seed, framing="full_body",
                  text="A line of dialogue.", prompt="a painted portrait of a person talking")
    return Path(write_take(SketchBackend(), job, RenderContext()).take_path)


def take_audio(path: Path) -> AudioClip:
    return load_audio(path, DELIVERY_RATE, 1)


def write_movie(path: Path, frames: list[np.ndarray], audio: AudioClip | None) -> Path:
    h, w = frames[0].shape[:2]
    with VideoWriter(path, FPS, w, h, audio=audio) as writer:
        for frame in frames:
            writer.write(frame)
    return path


def delayed_audio(clip: AudioClip, frames: int) -> AudioClip:
    """The same audio ``frames`` video frames later (silence in front, the end trimmed)."""
    pad = int(round(frames / FPS * clip.sample_rate))
    samples = np.concatenate([np.zeros((clip.channels, pad), np.float32), clip.samples], axis=1)
    return AudioClip(samples[:, : clip.num_samples], clip.sample_rate)


def side_by_side(left: Path, right: Path) -> tuple[list[np.ndarray], AudioClip]:
    a, b = read_frames(left), read_frames(right)
    return [np.hstack([x, y]) for x, y in zip(a, b)], take_audio(left)


def blurred(path: Path, sigma: float = 5.0) -> tuple[list[np.ndarray], AudioClip]:
    return [cv2.GaussianBlur(f, (0, 0), sigma) for f in read_frames(path)], take_audio(path)


def joined(first: Path, second: Path) -> tuple[list[np.ndarray], AudioClip, int]:
    """Two takes back to back (a hard cut); returns the frames, the audio and the cut frame."""
    a, b = read_frames(first), read_frames(second)
    ca, cb = take_audio(first), take_audio(second)
    audio = AudioClip(np.concatenate([ca.samples, cb.samples], axis=1), ca.sample_rate)
    return a + b, audio, len(a)
