"""Without a GPU driver the engine never loads torch: not to probe the GPU backends, not for a sketch.

torch costs an engine about 200 MB of resident memory; a machine without a driver can be
told apart by its device files and linker cache, and a machine with one asks torch in a
short-lived child process, so an engine that only renders sketches stays small either way.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image

from engine.backends import placement
from engine.jobs import JobSpec
from engine.media.samples import astronaut
from soul_studio.engine_client import EngineClient
from soul_studio.resources import demo_dir

from .conftest import WAIT, run

ROOT = Path(__file__).resolve().parents[2]
no_driver = pytest.mark.skipif(placement.gpu_driver_present(), reason="this machine has a GPU driver")


@no_driver
def test_probing_every_backend_and_the_farm_without_a_driver_does_not_import_torch():
    code = textwrap.dedent("""
        import sys
        from engine.backends import BACKENDS, backend_class
        from engine.farm_worker import cuda_device_count
        caps = {name: backend_class(name).capabilities() for name in BACKENDS}
        assert cuda_device_count() == 0
        print("torch" in sys.modules, caps["soul"].reason, "|", caps["infinitetalk"].reason, caps["sketch"].available)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=WAIT, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr[-3000:]
    loaded, rest = out.stdout.split(" ", 1)
    soul, other = rest.split("|")
    assert loaded == "False" and "no CUDA GPU found" in soul and "no CUDA GPU found" in other
    assert other.strip().endswith("True")


def test_a_driver_is_recognised_by_its_files_and_torch_is_then_asked_in_a_child(tmp_path, monkeypatch):
    monkeypatch.setattr(placement, "_DRIVER_FILES", (str(tmp_path / "nvidiactl"),))
    monkeypatch.setattr(placement, "_DRIVER_LIBRARIES", {sys.platform: ()})
    assert not placement.gpu_driver_present()
    assert placement.cuda_device(isolated=True) == (False, "", 0.0)
    (tmp_path / "nvidiactl").write_text("")
    assert placement.gpu_driver_present()
    asked: list[str] = []
    monkeypatch.setattr(placement, "_child_cuda_device", lambda: asked.append("child") or (True, "Fake GPU", 24.0))
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    assert placement.cuda_device(isolated=True) == (True, "Fake GPU", 24.0) and asked == ["child"]


def test_the_child_query_reports_this_machine_and_survives_a_broken_interpreter(monkeypatch):
    import torch

    found = placement._child_cuda_device()
    assert found[0] == torch.cuda.is_available()
    if not found[0]:
        assert found == (False, "", 0.0)
    monkeypatch.setattr(placement.sys, "executable", "/bin/false")
    assert placement._child_cuda_device() == (False, "", 0.0)


@no_driver
@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads the engine's memory map from /proc")
def test_an_engine_rendering_a_sketch_never_maps_torch(tmp_path):
    portrait = tmp_path / "astronaut.png"
    Image.fromarray(astronaut()).save(portrait)
    voice = demo_dir() / "media" / "temp_voices" / "ben-bcbc4e78b5.wav"
    job = JobSpec(shot_id="s1", portrait_path=str(portrait), audio_path=str(voice), duration=2.0, fps=25.0,
                  width=128, height=128, output_path=str(tmp_path / "s1.mp4"), backend="sketch", quality="draft",
                  text="The boat is tied up. The storm is here.")

    async def main() -> tuple[str, list[dict]]:
        client = EngineClient(journal_dir=tmp_path / "journal")  # every backend enabled, as the CLI starts it
        await client.start()
        try:
            await client.submit(job)
            done = await client.wait_for(job.job_id, WAIT)
            assert done.kind == "done", done
            for _ in range(int(WAIT * 10)):  # the capability probe runs on its own thread
                if client.info is not None and not any(b.get("probing") for b in client.info.backends):
                    break
                await asyncio.sleep(0.1)
            maps = Path(f"/proc/{client.pid}/maps").read_text()
            return maps, list(client.info.backends if client.info else [])
        finally:
            await client.shutdown()

    maps, backends = run(main())
    assert Path(job.output_path).exists()
    assert {b["name"] for b in backends} >= {"sketch", "soul", "infinitetalk"}
    assert not any(b.get("probing") for b in backends)
    assert "libc10" not in maps and "libtorch" not in maps


def _interpreter(tmp_path: Path, body: str) -> str:
    """A stand-in for ``sys.executable``: a script that behaves as ``body`` says."""
    script = tmp_path / "python"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(0o755)
    return str(script)


@pytest.mark.parametrize("body", [
    'echo \'[true, "Fake GPU", NaN]\'',            # a total that is not a number
    'echo \'[true, "Fake GPU", -8]\'',
    'echo \'[true, "Fake GPU", Infinity]\'',
    'echo \'{"ok": 1, "name": 2, "total": 3}\'',    # the wrong shape
    'echo \'[true, ["a"], 8]\'',
    'head -c 100000 /dev/urandom',                  # garbage, not text
    'sleep 30',                                     # hangs
    'kill -SEGV $$',                                # dies
])
def test_a_broken_interpreter_means_no_gpu_never_a_crash_or_a_bogus_one(tmp_path, monkeypatch, body):
    monkeypatch.setattr(placement.sys, "executable", _interpreter(tmp_path, body))
    assert placement._child_cuda_device(timeout=3.0) == (False, "", 0.0)


def test_the_app_bundle_answers_the_child_query(tmp_path, monkeypatch):
    """In the bundle ``sys.executable`` is the app itself: ``-c`` must run the query, not the CLI."""
    bundle = _interpreter(tmp_path, f'PYTHONPATH={ROOT} exec {sys.executable} {ROOT}/installer/bundle_main.py "$@"')
    monkeypatch.setattr(placement.sys, "executable", bundle)
    monkeypatch.setattr(placement, "_QUERY", "import json, sys\nprint(json.dumps([True, 'Fake GPU', 8.0]))\n")
    assert placement._child_cuda_device(timeout=60.0) == (True, "Fake GPU", 8.0)
