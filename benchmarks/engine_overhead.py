"""Engine round-trip overhead: what the process boundary costs per job and per event.

Starts the real engine process through the studio's client with the ``test`` backend and
measures

- ``job_roundtrip_ms``: median wall time from ``submit`` to the ``done`` event for a
  one-frame 16×16 job, one job at a time (queueing, take and sidecar writing, events);
- ``engine_side_ms``: median time the engine itself spent in ``write_take`` for it;
- ``events_per_s``: progress events delivered to a client listener per second, for a
  job that reports every one of many zero-delay steps;
- ``start_ms``: spawning the engine and completing the handshake.

Default: 20 jobs and 5,000 steps; ``--full`` (or a CUDA GPU): 200 jobs and 50,000 steps.
Writes benchmarks/results/engine_overhead.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.jobs import JobSpec  # noqa: E402
from engine.media import save_image  # noqa: E402
from engine.memory import vram_mb  # noqa: E402
from soul_studio.engine_client import EngineClient  # noqa: E402


def _job(folder: Path, portrait: Path, name: str, **options: object) -> JobSpec:
    return JobSpec(
        shot_id=name, portrait_path=str(portrait), duration=0.04, fps=25.0, width=16, height=16,
        output_path=str(folder / f"{name}.mp4"), quality="draft", backend="test", options=dict(options),
    )


async def measure(jobs: int, steps: int, folder: Path) -> dict[str, float]:
    portrait = folder / "portrait.png"
    save_image(portrait, np.full((64, 64, 3), 128, np.uint8))
    t0 = time.perf_counter()
    client = EngineClient(journal_dir=folder / "journal", backends=["test"])
    await client.start()
    start_ms = (time.perf_counter() - t0) * 1000
    try:
        for i in range(3):  # warm: backend loaded, encoder paths touched
            await client.run(_job(folder, portrait, f"warm{i}", steps=1), timeout=120)
        roundtrips, engine_side = [], []
        for i in range(jobs):
            job = _job(folder, portrait, f"job{i}", steps=1)
            t = time.perf_counter()
            event = await client.run(job, timeout=120)
            roundtrips.append((time.perf_counter() - t) * 1000)
            if event.kind != "done":
                raise RuntimeError(f"benchmark job ended with {event.kind}: {event.data}")
            engine_side.append(float(event.get("elapsed_s")) * 1000)

        counted = {"n": 0, "first": 0.0, "last": 0.0}
        burst = _job(folder, portrait, "burst", steps=steps, progress_interval_s=0)

        def on_event(event: object) -> None:
            if getattr(event, "kind", "") == "progress" and getattr(event, "job_id", "") == burst.job_id:
                now = time.perf_counter()
                if counted["n"] == 0:
                    counted["first"] = now
                counted["n"] += 1
                counted["last"] = now

        remove = client.add_listener(on_event)
        await client.run(burst, timeout=600)
        remove()
    finally:
        await client.shutdown()
    span = max(1e-9, counted["last"] - counted["first"])
    return {
        "job_roundtrip_ms": round(statistics.median(roundtrips), 2),
        "job_roundtrip_p90_ms": round(float(np.percentile(roundtrips, 90)), 2),
        "engine_side_ms": round(statistics.median(engine_side), 2),
        "events_per_s": round((counted["n"] - 1) / span, 1),
        "events_counted": counted["n"],
        "start_ms": round(start_ms, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="more jobs and events")
    args = parser.parse_args()
    full = args.full or vram_mb()[0] is not None
    jobs, steps = (200, 50_000) if full else (20, 5_000)
    with tempfile.TemporaryDirectory(prefix="engine-bench-") as tmp:
        metrics = asyncio.run(measure(jobs, steps, Path(tmp)))
    result = {
        "benchmark": "engine_overhead",
        "device": f"cpu ({platform.machine()}, engine process over stdio pipes)",
        "params": {"size": "full" if full else "small", "jobs": jobs, "event_steps": steps,
                   "job": "test backend, 1 frame 16x16, draft h264", "python": platform.python_version()},
        "metrics": metrics,
    }
    out = ROOT / "benchmarks" / "results" / "engine_overhead.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(
        f"engine_overhead: job round trip {metrics['job_roundtrip_ms']} ms median "
        f"(engine side {metrics['engine_side_ms']} ms), {metrics['events_per_s']:.0f} events/s, "
        f"start {metrics['start_ms']} ms -> {out.relative_to(ROOT)}"
    )


if __name__ == "__main__":
    main()
