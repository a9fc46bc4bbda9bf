"""Sketch lip-sync memory and speed on a long shot: peak RSS of the analysis, alignment time.

A ten-minute line (an espeak-ng paragraph repeated, with its script) is analysed the way
the sketch backend does before drawing the first frame. Each measurement runs in its own
process so its peak RSS is its own:

* ``single_pass``: the audio features computed over one window matrix for the whole clip
  (how they were computed before; the reference for the memory goal);
* ``spectral``: the same features computed in blocks (what the backend runs now);
* ``lipsync``: the full path, script aligned in pieces with pocketsphinx, shapes timed.

Writes benchmarks/results/sketch_memory.json with metrics ``peak_rss_mb_<mode>``,
``analysis_rss_mb_<mode>`` (peak over the process' baseline after imports),
``seconds_<mode>``, ``align_s_per_audio_s`` (wall; ``align_cpu_s_per_audio_s`` in CPU time,
which a busy machine does not inflate) and the share of the line aligned.
``--minutes`` sets the length (default 10); ``--render`` also renders the whole take
(``peak_rss_mb_render``: the memory goal for a ten-minute shot is under 500 MB).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "benchmarks" / "results" / "sketch_memory.json"
PARAGRAPH = ("Bob bought a map in the morning, and then he walked home in the rain. Who knew the weather "
             "would turn so cold by the evening? We should have stayed inside with a good book and a pot of tea. "
             "Tomorrow we will try again, if the sky is clear, and climb the hill behind the old mill.")
FPS = 24.0


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux


def child(mode: str, audio: str, text: str) -> None:
    """Run one measurement and print its JSON (in a fresh process)."""
    import numpy as np

    from engine.backends.sketch.audio import audio_features, mouth_track
    from engine.backends.sketch.lipsync import plan_lipsync
    from engine.media import MODEL_RATE, load_audio

    clip = load_audio(audio, MODEL_RATE, 1)
    x = clip.mono()
    n = int(round(clip.duration * FPS))
    base = _rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    out: dict[str, object] = {}
    if mode == "render":  # the whole take: analysis, drawing, H.264 and AAC, through the take writer
        from engine.backends.base import RenderContext
        from engine.backends.sketch.backend import SketchBackend
        from engine.jobs import JobSpec
        from engine.takes import write_take

        folder = Path(audio).parent
        job = JobSpec(shot_id="memory", portrait_path=str(folder / "portrait.png"), audio_path=audio,
                      duration=clip.duration, fps=FPS, width=320, height=180, text=text, quality="draft",
                      output_path=str(folder / "take.mp4"))
        del x, clip  # the take writer loads what it needs itself
        result = write_take(SketchBackend(), job, RenderContext())
        meta = result.sidecar.get("metadata", {})
        out.update(frames=result.frame_count, method=(meta.get("mouth") or {}).get("method"))
        out.update(seconds=time.perf_counter() - t0, cpu_seconds=time.process_time() - c0, peak_rss_mb=_rss_mb(),
                   baseline_rss_mb=base, audio_s=job.duration)
        print(json.dumps(out))
        return
    if mode == "single_pass":
        mouth_track(audio_features(x, MODEL_RATE, FPS, n, block=n + 1), FPS)
    elif mode == "spectral":
        mouth_track(audio_features(x, MODEL_RATE, FPS, n), FPS)
    else:
        track = plan_lipsync(x, MODEL_RATE, FPS, n, text)
        info = track.alignment or {}
        out.update(method=track.method, aligned_fraction=info.get("aligned_fraction"),
                   pieces=len(info.get("pieces") or []), words=len(info.get("words") or []),
                   shapes=dict(track.shape_counts()), press_frames=int(np.sum(track.press >= 1.0)))
    out.update(seconds=time.perf_counter() - t0, cpu_seconds=time.process_time() - c0, peak_rss_mb=_rss_mb(), baseline_rss_mb=base,
               audio_s=clip.duration)
    print(json.dumps(out))


def make_line(folder: Path, minutes: float) -> tuple[Path, str]:
    """An espeak-ng paragraph repeated to ``minutes``, and the script that goes with it."""
    import numpy as np

    from engine.media import MODEL_RATE, AudioClip, load_audio, write_audio

    one = folder / "paragraph.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "160", "-w", str(one), PARAGRAPH], check=True,
                   capture_output=True)
    x = load_audio(one, MODEL_RATE, 1).mono()
    gap = np.zeros(int(0.6 * MODEL_RATE), np.float32)
    reps = max(1, int(np.ceil(minutes * 60 / (x.size / MODEL_RATE + 0.6))))
    full = np.concatenate([np.concatenate([x, gap]) for _ in range(reps)])  # whole repeats: at least ``minutes``
    path = folder / "line.wav"
    write_audio(path, AudioClip(full[None, :], MODEL_RATE))
    return path, " ".join([PARAGRAPH] * reps)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--render", action="store_true",
                        help="also render the whole take (320x180 draft, H.264 + AAC) and report its peak RSS")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--audio", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--text-file", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.audio, Path(args.text_file).read_text())
        return 0
    metrics: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="sketch-memory-") as tmp:
        audio, text = make_line(Path(tmp), args.minutes)
        text_file = Path(tmp) / "line.txt"
        text_file.write_text(text)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        if args.render:
            from engine.media import save_image

            try:
                from skimage.data import astronaut

                save_image(Path(tmp) / "portrait.png", astronaut())
            except ImportError:
                from engine.media.synthetic import draw_portrait

                save_image(Path(tmp) / "portrait.png", draw_portrait(1, (512, 512)))
        for mode in ("single_pass", "spectral", "lipsync") + (("render",) if args.render else ()):
            proc = subprocess.run([sys.executable, __file__, "--child", mode, "--audio", str(audio),
                                   "--text-file", str(text_file)], capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
                return 1
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            metrics[f"peak_rss_mb_{mode}"] = round(r["peak_rss_mb"], 1)
            metrics[f"analysis_rss_mb_{mode}"] = round(r["peak_rss_mb"] - r["baseline_rss_mb"], 1)
            metrics[f"seconds_{mode}"] = round(r["seconds"], 2)
            if mode == "render":
                metrics["render_frames"] = r["frames"]
                metrics["render_realtime_factor"] = round(r["audio_s"] / r["seconds"], 2)
            if mode == "lipsync":
                metrics["align_s_per_audio_s"] = round(r["seconds"] / r["audio_s"], 4)
                metrics["align_cpu_s_per_audio_s"] = round(r["cpu_seconds"] / r["audio_s"], 4)
                metrics["audio_s"] = round(r["audio_s"], 1)
                for key in ("method", "aligned_fraction", "pieces", "words", "press_frames", "shapes"):
                    metrics[key] = r[key]
            print(f"{mode:12s} peak {r['peak_rss_mb']:7.1f} MB (analysis {r['peak_rss_mb'] - r['baseline_rss_mb']:6.1f} MB)"
                  f"  {r['seconds']:6.1f} s", flush=True)
    result = {
        "benchmark": "sketch_memory",
        "device": f"cpu: {platform.machine()}, {os.cpu_count()} cores",
        "params": {"minutes": args.minutes, "fps": FPS, "audio": "espeak-ng en-us paragraph repeated, 16 kHz",
                   "script": "the paragraph's text, repeated",
                   "render": "320x180 draft, astronaut photo, H.264 + AAC" if args.render else None},
        "metrics": metrics,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"alignment: {metrics['align_s_per_audio_s']} s per second of audio ({metrics['method']}, "
          f"{metrics['aligned_fraction']} aligned in {metrics['pieces']} pieces); wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
