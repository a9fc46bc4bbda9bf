"""Export speed: seconds of timeline conformed per second of wall time at 1080p: MP4, ProRes 422
HQ and LT, DNxHR HQX and LB (QuickTime).

All formats are timed in one run, one after another, so their ratios hold even when the
machine is shared; the 1-minute load average is recorded beside them.

Builds a project of 1080p final takes that look like the studio's animatics (a face
on a still background, mouth and head moving), then times the conformed-movie export.

    python benchmarks/export_speed.py          # 3 shots × 2 s (a quick check)
    python benchmarks/export_speed.py --full   # 10 shots × 6 s
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

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.media import AudioClip, VideoWriter, write_audio  # noqa: E402
from soul_studio.export import ExportOptions, export_project  # noqa: E402
from soul_studio.project import Character, Project, Shot, Take, TimelineEntry, save_project  # noqa: E402

WIDTH, HEIGHT, FPS = 1920, 1080, 24.0
# (metric key, export format, output name)
FORMATS = [("mp4", "mp4", "out.mp4"), ("prores", "prores422hq", "out_hq.mov"), ("prores_lt", "prores422lt", "out_lt.mov"),
           ("dnxhr_hqx", "dnxhr_hqx", "out_hqx.mov"), ("dnxhr_lb", "dnxhr_lb", "out_lb.mov")]


def animatic_frames(count: int, seed: int) -> list[np.ndarray]:
    """Talking-head-like frames: textured backdrop, a face that sways, a mouth that moves."""
    import cv2

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    backdrop = np.dstack([(40 + 30 * yy / HEIGHT), (50 + 20 * xx / WIDTH), np.full_like(xx, 70.0)])
    backdrop = (backdrop + rng.normal(0, 6, backdrop.shape)).clip(0, 255).astype(np.uint8)
    frames = []
    for i in range(count):
        img = backdrop.copy()
        cx = WIDTH // 2 + int(12 * np.sin(i / 9))
        cy = HEIGHT // 2 + int(6 * np.sin(i / 13))
        cv2.ellipse(img, (cx, cy), (260, 340), 0, 0, 360, (214, 170, 140), -1, cv2.LINE_AA)
        for ex in (-95, 95):
            cv2.circle(img, (cx + ex, cy - 70), 22 if i % 60 > 3 else 4, (40, 30, 30), -1, cv2.LINE_AA)
        opening = int(8 + 30 * abs(np.sin(i / 2.7)))
        cv2.ellipse(img, (cx, cy + 150), (70, opening), 0, 0, 360, (90, 30, 40), -1, cv2.LINE_AA)
        frames.append(img)
    return frames


def build(folder: Path, shots: int, seconds: float) -> Project:
    (folder / "takes").mkdir(parents=True)
    (folder / "media").mkdir()
    project = Project(name="Bench", fps=FPS, width=WIDTH, height=HEIGHT)
    actor = Character("Actor")
    project.characters.append(actor)
    n = int(round(seconds * FPS))
    frames = animatic_frames(min(n, 48), 1)
    t = np.arange(int(seconds * 48_000)) / 48_000
    for k in range(shots):
        write_audio(folder / "media" / f"line{k}.wav", AudioClip((0.3 * np.sin(2 * np.pi * (200 + 40 * k) * t))
                                                                 .astype(np.float32), 48_000))
        shot = Shot(actor.id, text=f"Line {k}", audio=f"media/line{k}.wav", audio_in=0.0, audio_out=seconds,
                    audio_length=seconds, name=f"Shot {k + 1}")
        with VideoWriter(folder / "takes" / f"take{k}.mp4", FPS, WIDTH, HEIGHT, "h264") as w:
            for i in range(n):
                w.write(frames[(i + 7 * k) % len(frames)])
        shot.takes.append(Take(f"takes/take{k}.mp4", job_hash="bench", backend="sketch", quality="final"))
        project.shots[shot.id] = shot
        project.timeline.entries.append(TimelineEntry(shot.id))
    save_project(project, folder / "bench.soulproj", keep_backups=0)
    return project


def time_export(project: Project, fmt: str, out: Path) -> tuple[float, float]:
    """Wall seconds and CPU seconds (all threads) of one export."""
    options = ExportOptions(stale_check=lambda shot, take: False)
    start, cpu = time.perf_counter(), time.process_time()
    export_project(project, fmt, out, options)
    return time.perf_counter() - start, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true", help="10 shots × 6 s instead of 3 × 2 s")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "export_speed.json")
    args = parser.parse_args()
    shots, seconds = (10, 6.0) if args.full else (3, 2.0)
    with tempfile.TemporaryDirectory(prefix="soul-export-bench-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        project = build(folder / "project", shots, seconds)
        setup = time.perf_counter() - t0
        timeline_s = project.duration_seconds()
        timed = {}
        for key, fmt, name in FORMATS:
            wall, cpu = time_export(project, fmt, folder / name)
            timed[key] = (wall, cpu, (folder / name).stat().st_size / 1e6)
    metrics: dict[str, float] = {}
    for key, (wall, cpu, mb) in timed.items():
        metrics[f"realtime_factor_{key}_1080p"] = round(timeline_s / wall, 3)
        metrics[f"seconds_{key}"] = round(wall, 3)
        # CPU seconds per timeline second: what the wall figure would be on one idle core.
        metrics[f"cpu_per_second_{key}"] = round(cpu / timeline_s, 3)
        metrics[f"{key}_mb"] = round(mb, 2)
    metrics["load_average_1min"] = round(os.getloadavg()[0], 2)
    report = {
        "benchmark": "export_speed",
        "device": f"cpu: {platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "params": {"width": WIDTH, "height": HEIGHT, "fps": FPS, "shots": shots, "shot_seconds": seconds,
                   "timeline_seconds": timeline_s, "setup_seconds": round(setup, 1), "full": args.full},
        "metrics": metrics,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    summary = ", ".join(f"{key} {metrics[f'realtime_factor_{key}_1080p']:.2f}×" for key, _, _ in FORMATS)
    print(f"export {timeline_s:.1f} s of 1080p timeline (load {metrics['load_average_1min']}): {summary} real time")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
