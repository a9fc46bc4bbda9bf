"""Build the offline, position-aware identity codebook from a folder of training clips.

The Soul paper's codebook is a set of K-means centroids (40K) of latent tokens pooled from
training videos. This tool streams the clips of ``CLIPS_DIR`` window by window through the
model folder's own VAE (the latents long-form sampling produces live in the same space),
finds the face of each window with the sketch backend's face analysis, tags every latent
token face or background, and feeds each region to its own streaming mini-batch spherical
k-means (:class:`~engine.backends.soul.kmeans.StreamingKMeans`). Nothing is held but the
centroids and one window of frames. The result is saved as ``MODEL/codebook/``
(``codebook.safetensors`` + ``codebook.json``), where long-form rendering finds it::

    python -m engine.backends.soul.train.codebook CLIPS_DIR --model MODEL --size 40000 \\
        --resolution 832x480 --frames 17 --windows-per-clip 8
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v")
FaceFinder = Callable[[np.ndarray], "tuple[float, float, float, float] | None"]


def find_clips(folder: str | os.PathLike[str]) -> list[Path]:
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder of clips")
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())


def detect_face(frame: np.ndarray) -> tuple[float, float, float, float] | None:
    """Normalised (x0, y0, x1, y1) of the surest face in ``frame`` (see :mod:`..face_region`)."""
    from engine.backends.soul.face_region import find_face_box

    return find_face_box(frame)


def clip_windows(path: Path, frames: int, width: int, height: int, per_clip: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Up to ``per_clip`` evenly spaced windows: (frames at the render size, first frame as recorded)."""
    from engine.media import fit_image, iter_frames, probe_video

    total = probe_video(path).frame_count or 0
    if total < frames:
        return
    starts = np.linspace(0, total - frames, num=min(per_clip, total - frames + 1)).round().astype(int)
    for start in sorted(set(starts.tolist())):
        raw = list(iter_frames(path, int(start), frames))
        if len(raw) < frames:
            continue
        yield np.stack([fit_image(f, width, height, mode="cover") for f in raw]), fit_image(raw[0], width, height)


def build_codebook(pipe: Any, clips: list[Path], size: int = 40_000, face_share: float = 0.5, frames: int = 17,
                   width: int = 832, height: int = 480, per_clip: int = 8, threshold: float = 0.2,
                   rule: str = "replace", face_finder: FaceFinder | None = detect_face,
                   on_progress: Callable[[int, int], None] | None = None) -> tuple[Any, dict[str, Any]]:
    """Stream ``clips`` through ``pipe.encode_video`` into two streaming k-means; returns (codebook, info)."""
    from engine.backends.soul.codebook import FACE, Codebook, CodebookConfig, region_map, to_tokens
    from engine.backends.soul.kmeans import StreamingKMeans

    channels = int(pipe.vae.config.z_dim)
    face_k = max(1, int(round(size * face_share))) if face_finder is not None else 0
    device = pipe._execution_device
    streams = {FACE: StreamingKMeans(face_k, channels, device) if face_k else None,
               0: StreamingKMeans(max(1, size - face_k), channels, device)}
    windows = faces = 0
    for i, clip in enumerate(clips):
        for video, first in clip_windows(clip, frames, width, height, per_clip):
            latents = pipe.encode_video(video)  # normalised, as sampling sees them
            box = face_finder(first) if face_finder is not None else None
            faces += box is not None
            tokens = to_tokens(latents)
            regions = region_map(latents.shape[2], latents.shape[3], latents.shape[4], box).to(tokens.device)
            for region, stream in streams.items():
                if stream is not None:
                    stream.partial_fit(tokens[regions == region])
            windows += 1
        if on_progress is not None:
            on_progress(i + 1, len(clips))
    if windows == 0:
        raise ValueError(f"no clip of at least {frames} frames among {len(clips)} file(s)")
    parts, tags = [], []
    for region, stream in streams.items():
        if stream is not None and stream.seen:
            centres = stream.result()
            parts.append(centres)
            tags.append(torch.full((len(centres),), region, dtype=torch.long))
    entries = torch.cat(parts)
    config = CodebookConfig(size=len(entries), threshold=threshold, rule=rule)  # type: ignore[arg-type]
    info = {"clips": len(clips), "windows": windows, "windows_with_face": faces,
            "tokens_seen": int(sum(s.seen for s in streams.values() if s is not None)),
            "requested_size": size, "resolution": [width, height], "frames": frames}
    return Codebook(entries, config, torch.cat(tags)), info


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m engine.backends.soul.train.codebook", description=__doc__.splitlines()[0])
    p.add_argument("clips", help="folder of training clips (searched recursively)")
    p.add_argument("--model", required=True, help="the soul model folder (its VAE encodes the clips)")
    p.add_argument("--out", default=None, help="where to write the codebook (default MODEL/codebook)")
    p.add_argument("--size", type=int, default=40_000, help="centroids in all (the paper uses 40K)")
    p.add_argument("--face-share", type=float, default=0.5, help="fraction of the centroids for face tokens")
    p.add_argument("--no-face", action="store_true", help="no face detection: one region for every token")
    p.add_argument("--resolution", default="832x480")
    p.add_argument("--frames", type=int, default=17, help="frames per window (4k+1)")
    p.add_argument("--windows-per-clip", type=int, default=8)
    p.add_argument("--threshold", type=float, default=0.2, help="default cosine-drift threshold stored with it")
    p.add_argument("--rule", choices=("replace", "clamp"), default="replace")
    p.add_argument("--device", default=None)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from engine.backends.soul.loader import LoadOptions, load_soul_pipeline

    args = parse_args(argv)
    width, height = (int(v) for v in args.resolution.lower().split("x"))
    clips = find_clips(args.clips)
    if not clips:
        print(f"no video clips in {args.clips}", file=sys.stderr)
        return 2
    pipe = load_soul_pipeline(args.model, LoadOptions(device=args.device, shape=(width, height, args.frames)))
    started = time.monotonic()
    book, info = build_codebook(
        pipe, clips, args.size, args.face_share, args.frames, width, height, args.windows_per_clip, args.threshold,
        args.rule, None if args.no_face else detect_face,
        on_progress=lambda i, n: print(f"clip {i}/{n}", flush=True),
    )
    info["seconds"] = round(time.monotonic() - started, 2)
    out = Path(args.out) if args.out else Path(args.model) / "codebook"
    book.save(out, info)
    print(json.dumps({"codebook": str(out), **info}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
