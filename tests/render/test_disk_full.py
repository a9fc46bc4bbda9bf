"""A drive that fills up while a take is made: a clear error naming where, nothing left behind.

The file-size limit (``RLIMIT_FSIZE``, EFBIG) stands in for a full disk (ENOSPC): both
stop a write half way. A long line fills it while its dialogue is spooled beside the
take; a short one while the movie is encoded.
"""

from __future__ import annotations

import hashlib
import os
import resource
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from soul_studio.project import load_project, save_project
from tests.render.tiny import ROOT, leftovers, tiny_demo


def _long_line(scene: Path, seconds: float) -> None:
    """Point every shot at a real recorded line repeated to ``seconds`` (so it is spooled, not padded)."""
    project = load_project(scene)
    source = project.resolve(next(iter(project.shots.values())).audio)
    with wave.open(str(source)) as w:
        params, frames = w.getparams(), w.readframes(w.getnframes())
    with wave.open(str(scene.parent / "media" / "long.wav"), "wb") as w:
        w.setparams(params)
        w.writeframes(frames * (int(seconds * params.framerate / params.nframes) + 1))
    for shot in project.shots.values():
        shot.audio, shot.audio_in, shot.audio_out, shot.audio_length = "media/long.wav", 0.0, seconds, None
    save_project(project, keep_backups=0)


@pytest.mark.parametrize(("seconds", "limit"), [(70.0, 2_000_000), (20.0, 200_000), (8.0, 60_000)],
                         ids=["spooling", "encoding", "finishing"])
def test_a_full_drive_fails_the_shot_clearly_and_leaves_nothing(tmp_path, seconds, limit):
    scene = tiny_demo(tmp_path / "scene", shots=1)
    _long_line(scene, seconds)
    before = hashlib.sha256(scene.read_bytes()).hexdigest()
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmpdir), "SOUL_STUDIO_LOG_DIR": str(tmp_path / "log")}

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run([sys.executable, "-m", "soul_studio.cli", "render", str(scene), "--quality", "draft",
                           "--quiet"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          preexec_fn=small_files)
    assert done.returncode == 1, done.stderr
    err = done.stderr
    assert "failed" in err and "Traceback" not in err and "Errno" not in err, err
    assert "no space left" in err or "cannot finish writing" in err, err
    assert str(scene.parent / "takes") in err and "free disk space" in err, err
    assert "in the studio, the engine's traceback" not in err
    assert hashlib.sha256(scene.read_bytes()).hexdigest() == before  # nothing landed, so nothing changed
    assert os.listdir(scene.parent / "takes") == [] and leftovers(scene, tmpdir) == []


@pytest.mark.parametrize("seconds", [70.0, 2.0], ids=["spooled", "held"])
def test_a_read_only_takes_folder_fails_the_shot_clearly_and_leaves_the_project(tmp_path, read_only, seconds):
    scene = tiny_demo(tmp_path / "scene", shots=1)
    _long_line(scene, seconds)
    (scene.parent / "takes").mkdir(exist_ok=True)
    before = hashlib.sha256(scene.read_bytes()).hexdigest()
    read_only(scene.parent / "takes")
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmpdir), "SOUL_STUDIO_LOG_DIR": str(tmp_path / "log")}
    done = subprocess.run([sys.executable, "-m", "soul_studio.cli", "render", str(scene), "--quality", "draft",
                           "--quiet"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    err = done.stderr
    assert done.returncode == 1 and "Errno" not in err and "Traceback" not in err, err
    assert f"the takes folder {scene.parent / 'takes'} cannot be written" in err and "make that folder writable" in err
    assert hashlib.sha256(scene.read_bytes()).hexdigest() == before
    assert os.listdir(scene.parent / "takes") == [] and leftovers(scene, tmpdir) == []
