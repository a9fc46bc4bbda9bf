"""Sketch backend speed: seconds of video rendered per second of wall time, encoding included.

Renders a real photograph (scikit-image's astronaut at 1024 px, meshed once and cached)
speaking procedural dialogue through the sketch backend into an H.264 VideoWriter (audio
muxed too) at 720p and 1080p, final quality, and reports the real-time factor (video
seconds / wall seconds; 2.0 means twice as fast as playback).
Both the take (final quality, default H.264 preset) and the interactive draft (draft
quality, ultrafast H.264 preset) are measured. A 4 s clip by default; ``--full`` 20 s.

Writes benchmarks/results/sketch_speed.json with metrics realtime_factor_720p and
realtime_factor_1080p (the take), the same with a ``_draft`` suffix, milliseconds per
frame (and how many of them the encoder took; drawing runs ahead on a second thread)
and the real-time factor of drawing alone, without encoding. At 720p the take is also
rendered three times each, alternating, with the full pipeline (``_three_stage``), with
it reduced to two stages (drawing ahead, conversion and encoding on one thread:
``_two_stage``) and to one (``_serial``); medians, so the gain of drawing, converting and
encoding side by side reads as ratios within one run on a shared CPU. A warm-up render
first keeps imports and the portrait's meshing out of the timings.
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

import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import engine.media.samples as samples  # noqa: E402
from engine.backends.base import RenderContext  # noqa: E402
from engine.backends.sketch.backend import SketchBackend  # noqa: E402
from engine.jobs import JobSpec  # noqa: E402
from engine.media import VideoWriter, save_image, write_audio  # noqa: E402
from engine.media.synthetic import speech_like_audio  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "sketch_speed.json"


class NullSink:
    """Throws frames away: measures drawing alone."""

    def write(self, frame) -> None:
        pass


class TimedSink:
    """Forwards frames to the writer and adds up the time spent encoding."""

    def __init__(self, writer: VideoWriter, convert_ahead: bool = True) -> None:
        self.writer = writer
        self.seconds = 0.0
        if convert_ahead and hasattr(writer, "prepare"):
            self.prepare = writer.prepare

    def write(self, frame) -> None:
        t = time.perf_counter()
        self.writer.write(frame)
        self.seconds += time.perf_counter() - t


def run_case(work: Path, width: int, height: int, duration: float, fps: float, quality: str, codec: str | None,
             stages: int = 3) -> dict:
    portrait = work / "portrait.png"
    if not portrait.exists():
        save_image(portrait, cv2.resize(samples.astronaut(), (1024, 1024), interpolation=cv2.INTER_CUBIC))
    audio = work / "line.wav"
    clip = speech_like_audio(duration, 48_000, [(0.3, duration * 0.5), (duration * 0.55, duration - 0.2)], seed=5)
    write_audio(audio, clip)
    out = work / f"take_{width}x{height}_{quality}.mp4"
    out.unlink(missing_ok=True)
    job = JobSpec(
        shot_id="bench", portrait_path=str(portrait), audio_path=str(audio), duration=duration, fps=fps,
        width=width, height=height, output_path=str(out), quality=quality, framing="portrait", seed=1,
        options={"lipsync": "spectral", "pipeline": stages > 1},
    )
    start = time.perf_counter()
    if codec is None:
        sink = TimedSink(NullSink())
        meta = SketchBackend().render(job, sink, RenderContext())
    else:
        with VideoWriter(out, fps, width, height, codec=codec, audio=clip) as writer:
            sink = TimedSink(writer, convert_ahead=stages > 2)
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
        # Warm up: imports, the portrait's mesh (cached afterwards) and the encoder's first open.
        run_case(Path(tmp), 640, 360, 1.0, fps, "final", "h264_take")
        # The pipeline comparison: alternating repetitions, medians (the CPU is shared).
        reps: dict[int, list[float]] = {3: [], 2: [], 1: []}
        for _ in range(3):
            for stages in reps:
                reps[stages].append(run_case(Path(tmp), 1280, 720, duration, fps, "final", "h264_take",
                                             stages=stages)["realtime_factor"])
        for stages, label in ((3, "_three_stage"), (2, "_two_stage"), (1, "_serial")):
            metrics[f"realtime_factor_720p{label}"] = round(float(sorted(reps[stages])[1]), 3)
            print(f"720p take, {stages}-stage pipeline: median {sorted(reps[stages])[1]:.2f}x real time "
                  f"({', '.join(f'{v:.2f}' for v in reps[stages])})")
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
        "device": f"cpu: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                  f"load average {os.getloadavg()[0]:.1f} (shared machine)",
        "params": {"duration_s": duration, "fps": fps, "framing": "portrait", "portrait": "astronaut photo, 1024x1024",
                   "pipeline": "draw / convert / encode on three threads (two-stage and serial at 720p for comparison)",
                   "modes": {k or "take": list(v) for k, v in modes.items()}, "audio": "aac 48 kHz muxed"},
        "metrics": metrics,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
