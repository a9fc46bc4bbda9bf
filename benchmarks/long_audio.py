"""Memory and speed of a long shot: a draft render and an MP4 export of one long dialogue line.

Builds a one-shot project from the demo's recorded temp voice, repeated to the wanted
length (a real speech recording, not a tone), renders it with ``soul-studio render
--quality draft`` (sketch backend) and exports it with ``soul-studio export -f mp4``,
each as its own process tree. Reported per case:

- ``render_peak_rss_mb`` / ``export_peak_rss_mb``: the largest summed resident memory of
  the command and its engine, sampled every 0.1 s from /proc;
- ``render_rtf`` / ``export_rtf``: wall time divided by the shot's duration (below 1 is
  faster than real time).

The default runs 2-minute and 10-minute shots and extrapolates the 1-hour figures
linearly from them (``*_1h_extrapolated``; memory that grows with the shot's length shows
up as a slope, ``*_rss_mb_per_min``). ``--full`` also renders and exports the real 1-hour
shot (``*_1h``; about 15 minutes on two cores). The goal is a 1-hour peak below 600 MB.
The render's peak is split into the CLI's own (``render_cli_peak_rss_mb``) and its engine's
(``render_engine_peak_rss_mb``), and ``render_torch_loaded`` is 1 when any process of the
tree ever mapped torch's core library (a sketch render needs none: 0 expected on a machine
without a GPU driver). Writes benchmarks/results/long_audio.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.media import AudioClip, load_audio, write_audio  # noqa: E402
from soul_studio.demo import working_copy  # noqa: E402
from soul_studio.project import load_project, save_project  # noqa: E402

GOAL_MB = 600.0


def _tree_rss_kb(pid: int) -> dict[int, int]:
    """Resident memory (kB) of ``pid`` and of every descendant, by pid."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            status = (entry / "status").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss[int(entry.name)] = int(line.split()[1])
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, ppid in parents.items():
            if ppid == parent and child not in tree:
                tree.add(child)
                frontier.append(child)
    return {p: rss.get(p, 0) for p in tree}


def _maps_torch(pids: list[int]) -> bool:
    """Whether any of ``pids`` has torch's core library (libc10) mapped."""
    for p in pids:
        try:
            if "libc10" in Path(f"/proc/{p}/maps").read_text():
                return True
        except OSError:
            continue
    return False


def run_measured(cmd: list[str], env: dict[str, str]) -> dict[str, float]:
    """Wall seconds, peak tree RSS MB (and the command's own and its children's peaks) of ``cmd``,
    and whether torch was ever loaded in the tree (``torch_loaded`` 1/0)."""
    peak = {"tree": 0.0, "cli": 0.0, "engine": 0.0, "torch": 0.0}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = threading.Event()

    def sample() -> None:
        tick = 0
        while not done.is_set():
            rss = _tree_rss_kb(proc.pid)
            peak["tree"] = max(peak["tree"], sum(rss.values()) / 1024.0)
            peak["cli"] = max(peak["cli"], rss.get(proc.pid, 0) / 1024.0)
            peak["engine"] = max(peak["engine"], sum(v for p, v in rss.items() if p != proc.pid) / 1024.0)
            if tick % 10 == 0 and not peak["torch"] and _maps_torch(list(rss)):
                peak["torch"] = 1.0
            tick += 1
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - t0
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[2:5])} failed ({proc.returncode}): {err[-2000:]}")
    return {"wall": wall, "peak": peak["tree"], "cli": peak["cli"], "engine": peak["engine"], "torch": peak["torch"]}


def build(folder: Path, minutes: float) -> Path:
    """The demo scene cut to its first shot, whose line is a recording repeated to ``minutes``."""
    path = working_copy(folder)
    project = load_project(path)
    shot = project.timeline_shots()[0]
    voice = load_audio(project.resolve(shot.audio), 48_000, 1)
    gap = np.zeros((1, 48_000 // 2), np.float32)
    unit = np.concatenate([voice.samples, gap], axis=1)
    reps = int(np.ceil(minutes * 60 * 48_000 / unit.shape[1]))
    long_wav = path.parent / "media" / "long_line.wav"
    write_audio(long_wav, AudioClip(np.tile(unit, (1, reps))[:, : int(minutes * 60 * 48_000)], 48_000))
    shot.audio, shot.audio_in, shot.audio_out = "media/long_line.wav", 0.0, minutes * 60.0
    project.timeline.entries = project.timeline.entries[:1]
    project.width, project.height = 640, 360  # draft renders at half: 320x180
    save_project(project, keep_backups=0)
    return path


def measure(minutes: float, work: Path) -> dict[str, float]:
    path = build(work / f"case-{minutes:g}min", minutes)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SOUL_MAX_SHOT_SECONDS": str(max(7200.0, minutes * 60 + 60))}
    seconds = minutes * 60.0
    render = run_measured([sys.executable, "-m", "soul_studio.cli", "render", str(path), "--quality", "draft",
                           "--quiet"], env)
    out = work / f"cut-{minutes:g}min.mp4"
    export = run_measured([sys.executable, "-m", "soul_studio.cli", "export", str(path), "-f", "mp4", "-o",
                           str(out), "-q"], env)
    return {"minutes": minutes, "render_peak_rss_mb": round(render["peak"], 1),
            "render_rtf": round(render["wall"] / seconds, 4), "render_s": round(render["wall"], 1),
            "render_cli_peak_rss_mb": round(render["cli"], 1), "render_engine_peak_rss_mb": round(render["engine"], 1),
            "render_torch_loaded": render["torch"], "export_peak_rss_mb": round(export["peak"], 1),
            "export_rtf": round(export["wall"] / seconds, 4), "export_s": round(export["wall"], 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also render and export a real 1-hour shot")
    parser.add_argument("--minutes", type=float, nargs="+", help="shot lengths to measure (default 2 and 10)")
    args = parser.parse_args(argv)
    cases = args.minutes or ([2.0, 10.0, 60.0] if args.full else [2.0, 10.0])
    with tempfile.TemporaryDirectory(prefix="long-audio-") as tmp:
        results = [measure(m, Path(tmp)) for m in cases]
    metrics: dict[str, float] = {}
    for r in results:
        tag = f"{r['minutes']:g}min"
        for key in ("render_peak_rss_mb", "render_rtf", "render_cli_peak_rss_mb", "render_engine_peak_rss_mb",
                    "render_torch_loaded", "export_peak_rss_mb", "export_rtf"):
            metrics[f"{key}_{tag}"] = r[key]
    short = [r for r in results if r["minutes"] < 60.0]  # the 1-hour figure extrapolated from shorter shots
    if len(short) >= 2:
        a, b = short[0], short[-1]
        span = b["minutes"] - a["minutes"]
        for kind in ("render", "export"):
            slope = (b[f"{kind}_peak_rss_mb"] - a[f"{kind}_peak_rss_mb"]) / span
            metrics[f"{kind}_rss_mb_per_min"] = round(slope, 2)
            metrics[f"{kind}_peak_rss_mb_1h_extrapolated"] = round(b[f"{kind}_peak_rss_mb"] + slope * (60 - b["minutes"]), 1)
            metrics[f"{kind}_rtf_1h_extrapolated"] = b[f"{kind}_rtf"]  # per-frame work: the rate holds
    one_hour = [r for r in results if r["minutes"] == 60.0]
    if one_hour:
        metrics["render_peak_rss_mb_1h"] = one_hour[0]["render_peak_rss_mb"]
        metrics["export_peak_rss_mb_1h"] = one_hour[0]["export_peak_rss_mb"]
        metrics["render_rtf_1h"], metrics["export_rtf_1h"] = one_hour[0]["render_rtf"], one_hour[0]["export_rtf"]
    result = {"benchmark": "long_audio", "device": f"cpu ({platform.processor() or platform.machine()}, "
              f"{os.cpu_count()} cores)", "params": {"minutes": cases, "quality": "draft", "backend": "sketch",
                                                     "draft_size": "320x180", "goal_peak_rss_mb": GOAL_MB},
              "metrics": metrics}
    out = ROOT / "benchmarks" / "results" / "long_audio.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    for r in results:
        print(f"{r['minutes']:g} min shot: render {r['render_s']} s (RTF {r['render_rtf']}), peak {r['render_peak_rss_mb']} MB "
              f"(CLI {r['render_cli_peak_rss_mb']}, engine {r['render_engine_peak_rss_mb']}, "
              f"torch {'loaded' if r['render_torch_loaded'] else 'not loaded'}); "
              f"export {r['export_s']} s (RTF {r['export_rtf']}), peak {r['export_peak_rss_mb']} MB")
    for key in ("render_peak_rss_mb_1h_extrapolated", "export_peak_rss_mb_1h_extrapolated", "render_peak_rss_mb_1h",
                "export_peak_rss_mb_1h"):
        if key in metrics:
            verdict = "meets" if metrics[key] < GOAL_MB else "misses"
            print(f"{key}: {metrics[key]} MB ({verdict} the {GOAL_MB:.0f} MB goal)")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
