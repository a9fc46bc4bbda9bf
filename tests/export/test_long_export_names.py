"""Exports named right up to the 255-byte limit of a file name, exported again over themselves.

The marker, the staging folder, the trash slot and the name an earlier export steps aside
to all add bytes to the export's own name; each is shortened (with a hash) instead of
failing with "File name too long".
"""

from __future__ import annotations

import os

import pytest

from engine.atomic import NAME_MAX
from soul_studio.export.command import main as export_main
from soul_studio.export.safety import marker_path, staging_prefix, sweep_staging
from tests.export.builders import build_project


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    return build_project(tmp_path_factory.mktemp("long") / "scene")


@pytest.mark.parametrize("fmt", ["edl", "otio", "mp4"])
def test_an_export_named_up_to_the_limit_is_written_and_replaced(scene, tmp_path, fmt, capsys):
    out = tmp_path / ("é" * ((NAME_MAX - len(f".{fmt}")) // 2) + f".{fmt}")
    args = ["export", str(scene.path), "-f", fmt, "-o", str(out), "-q"]
    assert export_main(args) == 0, capsys.readouterr().err
    assert marker_path(out, out.is_dir()).exists()
    assert export_main([*args, "--overwrite"]) == 0, capsys.readouterr().err
    assert out.exists() and len(list((tmp_path / ".soul-trash").iterdir())) >= 1  # (and its media folder)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".partial") or ".old-" in p]


def test_a_dead_exports_staging_folder_of_a_long_name_is_swept(tmp_path):
    out = tmp_path / ("x" * (NAME_MAX - 4) + ".mp4")
    dead = tmp_path / f"{staging_prefix(out.name)}999999999-abcdefgh.partial"
    dead.mkdir()
    assert len(dead.name.encode()) <= NAME_MAX
    sweep_staging(out)
    assert not dead.exists()



def test_a_png_folder_named_up_to_the_limit_names_its_frames(scene, tmp_path, capsys):
    out = tmp_path / ("é" * ((NAME_MAX - len(".png")) // 2) + ".png")  # frames were NAME.png.0086400.png
    assert export_main(["export", str(scene.path), "-f", "png", "-o", str(out), "-q"]) == 0, capsys.readouterr().err
    frames = sorted(p for p in out.iterdir() if p.suffix == ".png")
    assert frames and all(len(p.name.encode()) <= NAME_MAX for p in frames)
    assert [p.suffix for p in out.iterdir()].count(".wav") == 1


@pytest.mark.parametrize("fmt", ["edl", "mp4", "png"])
def test_a_name_longer_than_a_file_name_may_be_is_refused_clearly(scene, tmp_path, capsys, fmt):
    out = tmp_path / ("a" * 300 + f".{fmt}")
    assert export_main(["export", str(scene.path), "-f", fmt, "-o", str(out), "-q"]) == 1
    err = capsys.readouterr().err
    assert "choose a shorter name" in err and "Traceback" not in err and os.listdir(tmp_path) == []
