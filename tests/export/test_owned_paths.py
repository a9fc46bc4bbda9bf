"""Exports never replace, remove or enter what the project owns, even with --overwrite."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from soul_studio.export import ExportError, ExportOptions, export_project
from soul_studio.export.command import main as export_main
from tests.export.builders import build_project, not_stale


def checksums(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def scene(tmp_path: Path):
    project = build_project(tmp_path / "scene")
    (tmp_path / "scene" / ".backups").mkdir(exist_ok=True)
    (tmp_path / "scene" / ".backups" / "scene.20261201T000000000000.soulproj").write_text("{}")
    return project


def test_png_over_the_project_folder_with_overwrite_is_refused_and_nothing_changes(scene, capsys):
    folder = scene.folder
    before = checksums(folder)
    assert len(before) >= 9
    code = export_main(["export", str(scene.path), "-f", "png", "-o", str(folder), "--overwrite", "-q"])
    assert code == 1
    assert "project's folder" in capsys.readouterr().err
    assert checksums(folder) == before
    # The folder above the project holds it: refused too.
    assert export_main(["export", str(scene.path), "-f", "png", "-o", str(folder.parent), "--overwrite", "-q"]) == 1
    assert checksums(folder) == before


@pytest.mark.parametrize(("fmt", "target"), [
    ("mp4", "scene.soulproj"),
    ("mp4", "takes/a_final.mp4"),
    ("prores422hq", "media/line0.wav"),
    ("edl", "media/ana.png"),
    ("png", "takes"),
    ("png", "media"),
    ("png", ".backups"),
    ("mp4", "takes/new.mp4"),  # inside the takes folder, even as a new name
    ("png", "media/frames"),
])
def test_overwrite_aimed_at_owned_files_is_refused(scene, fmt, target):
    folder = scene.folder
    before = checksums(folder)
    with pytest.raises(ExportError) as info:
        export_project(scene, fmt, folder / target, ExportOptions(overwrite=True, stale_check=not_stale))
    assert "project" in str(info.value)
    assert checksums(folder) == before
    assert not list(folder.rglob("*.partial"))


def test_symlink_to_the_project_file_is_refused(scene, tmp_path):
    link = tmp_path / "cut.mp4"
    link.symlink_to(scene.path)
    before = checksums(scene.folder)
    with pytest.raises(ExportError, match="project uses"):
        export_project(scene, "mp4", link, ExportOptions(overwrite=True, stale_check=not_stale))
    assert checksums(scene.folder) == before and link.is_symlink()


def test_export_beside_the_project_is_allowed_and_replaced_only_as_ours(scene):
    out = scene.folder / "cut.mp4"
    export_project(scene, "mp4", out, ExportOptions(stale_check=not_stale))
    # Another kind of export may not replace it.
    with pytest.raises(ExportError, match="not an earlier png export"):
        export_project(scene, "png", out, ExportOptions(overwrite=True, stale_check=not_stale))
    export_project(scene, "mp4", out, ExportOptions(overwrite=True, stale_check=not_stale))
    assert len(list((scene.folder / ".soul-trash").iterdir())) == 1
    # A file the user changed since is theirs now.
    out.write_bytes(b"edited by hand")
    with pytest.raises(ExportError, match="changed after"):
        export_project(scene, "mp4", out, ExportOptions(overwrite=True, stale_check=not_stale))
    assert out.read_bytes() == b"edited by hand"


def test_staging_left_by_a_killed_export_is_swept(scene, tmp_path):
    out = tmp_path / "cut.mp4"
    dead = tmp_path / ".cut.mp4.999999999-abcd.partial"
    dead.mkdir()
    (dead / "cut.mp4").write_bytes(b"half")
    export_project(scene, "mp4", out, ExportOptions(stale_check=not_stale))
    assert not dead.exists() and out.stat().st_size > 0


def test_export_command_is_refused_while_another_process_writes_the_project(scene, tmp_path, capsys):
    from soul_studio.project.lock import ProjectLock

    with ProjectLock(scene.path, "soul-studio render"):
        code = export_main(["export", str(scene.path), "-f", "edl", "-o", str(tmp_path / "cut.edl"), "-q"])
    assert code == 2 and "soul-studio render" in capsys.readouterr().err
    assert not (tmp_path / "cut.edl").exists()
    assert export_main(["export", str(scene.path), "-f", "edl", "-o", str(tmp_path / "cut.edl"), "-q"]) == 0


@pytest.mark.parametrize("fmt", ["mp4", "edl", "png"])
def test_a_copy_saved_elsewhere_cannot_export_into_the_takes_folder_it_uses(scene, tmp_path, capsys, fmt):
    """A recovery copy (or a Save As) in another folder still owns the takes/ folder its takes live in."""
    from soul_studio.project import save_project

    original = scene.folder
    takes = original / "takes"
    before = checksums(original)
    (tmp_path / "elsewhere").mkdir()
    save_project(scene, tmp_path / "elsewhere" / "copy.soulproj")
    code = export_main(["export", str(tmp_path / "elsewhere" / "copy.soulproj"), "-f", fmt,
                        "-o", str(takes / "new"), "--overwrite", "-q"])
    assert code == 1 and "takes/ folder" in capsys.readouterr().err
    assert checksums(original) == before and sorted(p.name for p in takes.iterdir()) == sorted(
        Path(k).name for k in before if k.startswith("takes/"))
