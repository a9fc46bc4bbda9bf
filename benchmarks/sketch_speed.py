"""Sketch backend speed: seconds of video rendered per second of wall time, encoding included.

Renders a painted portrait speaking procedural dialogue through the sketch backend into
an H.264 VideoWriter (audio muxed too) at 720p and 1080p, final quality, and reports the
real-time factor (video seconds / wall seconds; 2.0 means twice as fast as playback).
Both the take (final quality, default H.264 preset) and the interactive draft (draft
quality, ultrafast H.264 preset) are measured. A 4 s clip by default; ``--full`` 20 s.

Writes benchmarks/results/sketch_speed.json with metrics realtime_factor_720p and
realtime_factor_1080p (the take), the same with a ``_draft`` suffix, milliseconds per
frame (and how many of them the encoder took; drawing runs ahead on a second thread)
and the real-time factor of drawing alone, without encoding.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.backends.base import RenderContext  # noqa: E402
from engine.backends.sketch.backend import SketchBackend  # noqa: E402
from engine.jobs import JobSpec  # noqa: E402
from engine.media import VideoWriter, save_image, write_audio  # noqa: E402
from engine.media.synthetic import draw_portrait, speech_like_audio  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "sketch_speed.json"


class NullSink:
    """Throws frames away: measures drawing alone."""

    def write(self, frame) -> None:
        pass


class TimedSink:
    """Forwards frames to the writer and adds up the time spent encoding."""

    def __init__(self, writer: VideoWriter) -> None:
        self.writer = writer
        self.seconds = 0.0

    def write(self, frame) -> None:
        t = time.perf_counter()
        self.writer.write(frame)
        self.seconds += time.perf_counter() - t


def run_case(work: Path, width: int, height: int, duration: float, fps: float, quality: str, codec: str | None) -> dict:
    portrait = work / "portrait.png"
    if not portrait.exists():
        save_image(portrait, draw_portrait(3, (1024, 1024)))
    audio = work / "line.wav"
    clip = speech_like_audio(duration, 48_000, [(0.3, duration * 0.5), (duration * 0.55, duration - 0.2)], seed=5)
    write_audio(audio, clip)
    out = work / f"take_{width}x{height}_{quality}.mp4"
    out.unlink(missing_ok=True)
    job = JobSpec(
        shot_id="bench", portrait_path=str(portrait), audio_path=str(audio), duration=duration, fps=fps,
        width=width, height=height, output_path=str(out), quality=quality, framing="portrait", seed=1,
    )
    start = time.perf_counter()
    if codec is None:
        sink = TimedSink(NullSink())
        meta = SketchBackend().render(job, sink, RenderContext())
    else:
        with VideoWriter(out, fps, width, height, codec=codec, audio=clip) as writer:
            sink = TimedSink(writer)
            meta = SketchBackend().render(job, sink, RenderContext())
    wall = time.perf_counter() - start
    frames = meta["frames"]
    return {
        "realtime_factor": duration / wall,
        "wall_s": wall,
        "frames": frames,
        "ms_per_frame": 1000 * wall / frames,
        "encode_ms_per_frame": 1000 * sink.seconds / frames,
        "setup_s": meta["setup_s"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="longer clips (20 s) for steadier numbers")
    parser.add_argument("--duration", type=float, default=None)
    args = parser.parse_args(argv)
    duration = args.duration or (20.0 if args.full else 4.0)
    fps = 25.0
    sizes = {"720p": (1280, 720), "1080p": (1920, 1080)}
    # The take (final quality, the default H.264 preset) and the interactive draft
    # (draft quality, the ultrafast H.264 preset); the named metrics are the take's.
    modes = {"": ("final", "h264_take"), "_draft": ("draft", "h264_draft")}
    metrics: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for suffix, (quality, codec) in modes.items():
            for name, (w, h) in sizes.items():
                r = run_case(Path(tmp), w, h, duration, fps, quality, codec)
                alone = run_case(Path(tmp), w, h, duration, fps, quality, None)
                metrics[f"realtime_factor_{name}{suffix}"] = round(r["realtime_factor"], 3)
                metrics[f"ms_per_frame_{name}{suffix}"] = round(r["ms_per_frame"], 2)
                metrics[f"encoder_ms_per_frame_{name}{suffix}"] = round(r["encode_ms_per_frame"], 2)
                metrics[f"render_only_realtime_factor_{name}{suffix}"] = round(alone["realtime_factor"], 3)
                print(f"{name} {quality}/{codec}: {r['frames']} frames in {r['wall_s']:.2f} s -> "
                      f"{r['realtime_factor']:.2f}x real time ({r['ms_per_frame']:.1f} ms/frame, "
                      f"{r['encode_ms_per_frame']:.1f} of them in the encoder; drawing alone "
                      f"{alone['ms_per_frame']:.1f} ms/frame = {alone['realtime_factor']:.2f}x)")
    result = {
        "benchmark": "sketch_speed",
        "device": f"cpu: {platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "params": {"duration_s": duration, "fps": fps, "framing": "portrait", "portrait": "1024x1024 painted",
                   "modes": {k or "take": list(v) for k, v in modes.items()}, "audio": "aac 48 kHz muxed"},
        "metrics": metrics,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
