"""Timeline speed with a 1,000-shot scene: time to open, and frames per second while scrolling and zooming.

    python benchmarks/ui_timeline.py [--full] [--shots N]

Builds a scene of N shots (1,000 by default) with portraits and dialogue audio (four characters,
so four dialogue rows, every fourth line on V2 over the one before), opens it in
the timeline panel (1920 px wide, offscreen Qt) and measures:

- ``open_1000_s``: building the document, the panel and the first complete paint;
- ``scroll_fps``: synchronous repaints per second while scrolling by 60 px steps and
  zooming in and out around the pointer (thumbnails and waveforms already cached).

Writes benchmarks/results/ui_timeline.json.
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

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402


def build_project(folder: Path, shots: int):
    from engine.media import AudioClip, save_image, write_audio
    from engine.media.synthetic import draw_portrait
    from soul_studio.project import Character, Project, Shot, TimelineEntry, save_project

    project = Project(name="Benchmark", fps=24.0)
    save_project(project, folder / "bench.soulproj")
    for i in range(4):
        path = folder / f"p{i}.png"
        save_image(path, draw_portrait(i, (256, 256)))
        project.characters.append(Character(f"Actor {i + 1}", portrait=path.name, colour=project.next_character_colour()))
    rng = np.random.default_rng(0)
    audio = folder / "line.wav"
    t = np.arange(48_000 * 6) / 48_000
    samples = (0.4 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 1.7 * t) > 0)).astype(np.float32)
    write_audio(audio, AudioClip(samples[None, :], 48_000))
    v1_end = v1_last_start = v2_end = 0
    for i in range(shots):
        start = float(rng.uniform(0, 2.0))
        shot = Shot(character_id=project.characters[i % 4].id, text=f"Line {i + 1}: the storm is coming in fast.",
                    audio=audio.name, audio_in=round(start, 3), audio_out=round(start + rng.uniform(1.0, 3.5), 3),
                    audio_length=6.0, name=f"{i // 10 + 1}-{i % 10 + 1:02d}")
        project.shots[shot.id] = shot
        length = shot.frames(project.fps)
        if i % 4 == 3:  # every fourth line answers over the one before it, on V2
            gap = max(0, v1_last_start + 12 - v2_end)
            project.timeline.entries.append(TimelineEntry(shot.id, gap, "V2"))
            v2_end += gap + length
        else:
            project.timeline.entries.append(TimelineEntry(shot.id))
            v1_last_start, v1_end = v1_end, v1_end + length
    return project


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true", help="(same size: the 1,000-shot case is the default)")
    parser.add_argument("--shots", type=int, default=1000)
    parser.add_argument("--frames", type=int, default=240, help="repaints to time")
    args = parser.parse_args(argv)

    from PySide6.QtWidgets import QApplication

    from soul_studio.ui.document import Document
    from soul_studio.ui.media_cache import MediaCache
    from soul_studio.ui.state import EditorState
    from soul_studio.ui.theme import apply_theme
    from soul_studio.ui.timeline import TimelinePanel

    app = QApplication.instance() or QApplication([])
    apply_theme(app)
    folder = Path(tempfile.mkdtemp(prefix="soul-bench-"))
    project = build_project(folder, args.shots)
    cache = MediaCache()

    t0 = time.perf_counter()
    document = Document(project)
    panel = TimelinePanel(document, EditorState(), cache)
    panel.resize(1920, 560)  # every row on screen: V2, V1, four dialogue rows, music
    panel.show()
    panel.view.set_ppf(6.0)
    panel.view.viewport().repaint()
    app.processEvents()
    open_s = time.perf_counter() - t0

    # let the workers decode thumbnails and the waveform once, as they would while the editor works
    end = time.monotonic() + 30
    while time.monotonic() < end:
        app.processEvents()
        panel.view.viewport().repaint()
        if cache.pending() == 0 and panel.view.clip_thumbnail(project.timeline_shots()[0]) is not None:
            break
        time.sleep(0.02)

    view = panel.view
    bar = view.horizontalScrollBar()
    times: list[float] = []
    clips: list[int] = []
    for i in range(args.frames):
        t = time.perf_counter()
        if i % 40 < 30:
            bar.setValue(bar.value() + 60)
        else:
            view.zoom(1.25 if (i // 40) % 2 == 0 else 0.8, 900)
        # a full synchronous repaint of the visible timeline and ruler: the worst case of one frame
        view.viewport().repaint()
        panel.ruler.repaint()
        times.append(time.perf_counter() - t)
        app.processEvents()  # drop the scroll's own pending update outside the timed frame
        clips.append(view.canvas.painted_clips)
    frame_s = float(np.mean(times))
    result = {
        "benchmark": "ui_timeline",
        "device": f"cpu ({platform.processor() or platform.machine()}), Qt offscreen",
        "params": {"shots": args.shots, "frames": args.frames, "width_px": 1920,
                   "tracks": [r.tag for r in panel.view.layout.rows],
                   "timeline_frames": project.duration_frames()},
        "metrics": {
            "open_1000_s": round(open_s, 4),
            "scroll_fps": round(1.0 / frame_s, 1),
            "frame_ms_mean": round(frame_s * 1000, 2),
            "frame_ms_p95": round(float(np.percentile(times, 95)) * 1000, 2),
            "clips_painted_mean": round(float(np.mean(clips)), 1),
        },
    }
    out = Path(__file__).resolve().parent / "results" / "ui_timeline.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    m = result["metrics"]
    print(f"ui_timeline: {args.shots} shots — open {m['open_1000_s']:.3f} s, scroll/zoom {m['scroll_fps']:.0f} fps "
          f"(mean {m['frame_ms_mean']} ms, p95 {m['frame_ms_p95']} ms, {m['clips_painted_mean']} clips painted)")
    cache.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
