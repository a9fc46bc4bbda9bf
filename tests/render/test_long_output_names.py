"""``soul-studio shot --out NAME`` with a name near the file system's 255-byte limit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from engine.atomic import NAME_MAX, temp_beside
from engine.takes import discard_partials
from soul_studio.resources import demo_dir
from tests.render.tiny import ROOT


def _shot(tmp_path: Path, out: Path) -> subprocess.CompletedProcess[str]:
    media = demo_dir() / "media"
    voice = sorted((media / "temp_voices").glob("*.wav"))[0]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path), "SOUL_STUDIO_LOG_DIR": str(tmp_path / "log")}
    return subprocess.run([sys.executable, "-m", "soul_studio.cli", "shot", str(media / "ada.png"), str(voice),
                           "--out", str(out), "--size", "96x96", "--quiet"], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_a_long_legal_output_name_renders_with_its_sidecar(tmp_path):
    out = tmp_path / "out" / ("é" * ((NAME_MAX - len(".json")) // 2) + ".mp4")
    out.parent.mkdir()
    done = _shot(tmp_path, out)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert sorted(os.listdir(out.parent)) == sorted([out.name, out.with_suffix(".json").name])


def test_an_output_whose_sidecar_cannot_be_named_is_refused_before_rendering(tmp_path):
    out = tmp_path / "out" / ("e" * (NAME_MAX - len(".mp4")) + ".mp4")
    out.parent.mkdir()
    done = _shot(tmp_path, out)
    assert done.returncode == 2 and "Traceback" not in done.stderr and "pass a shorter --out" in done.stderr
    assert os.listdir(out.parent) == []


def test_partials_of_a_long_take_name_are_found_and_removed(tmp_path):
    take = tmp_path / ("t" * (NAME_MAX - len(".mp4")) + ".mp4")
    partial = temp_beside(take)
    assert partial.exists() and len(partial.name.encode()) <= NAME_MAX
    assert discard_partials(take) == [partial] and not partial.exists()
