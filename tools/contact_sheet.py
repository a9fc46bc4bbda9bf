"""Contact sheet of a sketch render: a grid of frames with their numbers, for eyeballing.

Renders the demo portraits (resources/demo/media/*.png, painted on the fly when absent)
speaking procedural dialogue through the sketch backend, or reads an existing video,
and writes benchmarks/results/sketch_contact_sheet.png.

    python tools/contact_sheet.py                    # both demo portraits
    python tools/contact_sheet.py --video take.mp4   # any video
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.backends.base import RenderContext  # noqa: E402
from engine.backends.sketch.backend import SketchBackend  # noqa: E402
from engine.jobs import JobSpec  # noqa: E402
from engine.media import VideoWriter, iter_frames, probe_video, save_image, write_audio  # noqa: E402
from engine.media.synthetic import draw_portrait, speech_like_audio  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "sketch_contact_sheet.png"


def render_demo(portrait: Path, workdir: Path, seed: int, size: int, duration: float, fps: float) -> Path:
    """Render ``portrait`` speaking procedural dialogue; returns the video path."""
    audio = workdir / f"{portrait.stem}.wav"
    clip = speech_like_audio(duration, 48_000, [(0.4, duration * 0.55), (duration * 0.62, duration - 0.3)], seed=seed)
    write_audio(audio, clip)
    out = workdir / f"{portrait.stem}.mp4"
    job = JobSpec(
        shot_id=portrait.stem, portrait_path=str(portrait), audio_path=str(audio), duration=duration, fps=fps,
        width=size, height=size, output_path=str(out), seed=seed, quality="final",
    )
    with VideoWriter(out, fps, size, size, audio=clip) as sink:
        SketchBackend().render(job, sink, RenderContext())
    return out


def label(frame: np.ndarray, text: str) -> np.ndarray:
    out = frame.copy()
    scale = max(0.4, frame.shape[1] / 500)
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.rectangle(out, (0, 0), (tw + 8, th + 10), (0, 0, 0), -1)
    cv2.putText(out, text, (4, th + 5), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def sheet_rows(video: Path, columns: int, rows: int, tile: int, zoom_box: tuple[float, float, float, float] | None) -> list[np.ndarray]:
    """Evenly spaced frames of ``video`` as labelled tiles, ``columns`` per row."""
    total = probe_video(video).frame_count
    picks = np.linspace(0, total - 1, columns * rows).round().astype(int)
    wanted = set(picks.tolist())
    tiles = []
    for i, frame in enumerate(iter_frames(video)):
        if i not in wanted:
            continue
        if zoom_box is not None:  # a close-up of the face region
            h, w = frame.shape[:2]
            x, y, bw, bh = zoom_box
            frame = frame[int(y * h) : int((y + bh) * h), int(x * w) : int((x + bw) * w)]
        tile_img = cv2.resize(frame, (tile, tile), interpolation=cv2.INTER_AREA)
        tiles.append(label(tile_img, f"#{i}"))
    while len(tiles) % columns:
        tiles.append(np.zeros_like(tiles[0]))
    return [np.hstack(tiles[r : r + columns]) for r in range(0, len(tiles), columns)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, help="make the sheet of this video instead of rendering")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--duration", type=float, default=4.0)
    parser.add_argument("--fps", type=float, default=25.0)
    parser.add_argument("--columns", type=int, default=8)
    parser.add_argument("--rows", type=int, default=2)
    parser.add_argument("--tile", type=int, default=192)
    args = parser.parse_args(argv)

    rows: list[np.ndarray] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.video:
            videos = [args.video]
        else:
            media = ROOT / "resources" / "demo" / "media"
            portraits = sorted(media.glob("*.png"))
            if not portraits:
                for seed, name in ((7, "ada"), (4, "ben")):
                    path = work / f"{name}.png"
                    save_image(path, draw_portrait(seed, (640, 640)))
                    portraits.append(path)
            videos = [render_demo(p, work, 11 + k, args.size, args.duration, args.fps) for k, p in enumerate(portraits)]
        for video in videos:
            rows += sheet_rows(video, args.columns, args.rows, args.tile, None)
            rows += sheet_rows(video, args.columns, args.rows, args.tile, (0.3, 0.45, 0.4, 0.4))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        save_image(args.out, np.vstack(rows))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
