"""``soul-studio export``: real runs through argparse, exit codes for scripts."""

from __future__ import annotations

import argparse

import pytest

from engine.media import probe_video
from soul_studio.export.command import main, parse_range, register


def test_registers_an_export_subcommand():
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["export", "p.soulproj", "--format", "edl", "--out", "x.edl", "--shots", "a", "b"])
    assert args.command == "export" and args.shots == ["a", "b"] and callable(args.func)


def test_exports_a_range_and_refuses_to_overwrite(project, out_dir, capsys):
    target = out_dir / "range.mp4"
    argv = ["export", str(project.path), "--format", "mp4", "--out", str(target), "--range", "20-40", "--quiet"]
    assert main(argv) == 0
    info = probe_video(target)
    assert info.frame_count == 20 and info.timecode == "01:00:00:20"
    assert "warning:" in capsys.readouterr().err  # draft take, temp audio
    assert main(argv) == 1
    assert "already exists" in capsys.readouterr().err
    assert main([*argv, "--overwrite", "--burn-in", "--missing", "slate"]) == 0


def test_timecode_range_and_relative_interchange(project, out_dir):
    target = out_dir / "cut.xml"
    code = main(["export", str(project.path), "-f", "fcp7xml", "-o", str(target), "--range",
                 "01:00:01:00-01:00:02:12", "--relative-paths", "--media", "takes", "-q"])
    assert code == 0
    text = target.read_text()
    assert "<pathurl>file:" not in text and "b_draft.mp4" in text and "a_final.mp4" not in text


def test_usage_errors_exit_2(project, out_dir, tmp_path):
    assert main(["export", str(tmp_path / "none.soulproj"), "-f", "mp4", "-o", str(out_dir / "a.mp4")]) == 2
    assert main(["export", str(project.path), "-f", "mp4", "-o", str(out_dir / "a.mp4"), "--range", "x"]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["export", str(project.path), "-f", "gif", "-o", str(out_dir / "a.gif")])
    assert exc.value.code == 2
    assert list(out_dir.iterdir()) == []


def test_parse_range():
    assert parse_range("12-30", 24, 86400) == (12, 30)
    assert parse_range("01:00:01:00-01:00:02:00", 24, 86400) == (24, 48)


@pytest.mark.parametrize(("fmt", "name"), [("mp4", "ro.mp4"), ("png", "ro_frames"), ("otio", "ro.otio")])
def test_read_only_output_folder_is_refused_before_any_work(project, out_dir, capsys, read_only, fmt, name):
    """The folder really refuses writes (chmod, or chattr +i as root)."""
    read_only(out_dir)
    code = main(["export", str(project.path), "-f", fmt, "-o", str(out_dir / name), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert f"{out_dir} cannot be written" in err and "choose another folder" in err
    assert list(out_dir.iterdir()) == []


def test_earlier_export_in_a_folder_turned_read_only_is_left_in_place(project, out_dir, capsys, read_only):
    target = out_dir / "cut.mp4"
    argv = ["export", str(project.path), "-f", "mp4", "-o", str(target), "--quiet", "--range", "0-12"]
    assert main(argv) == 0
    before = sorted((p.name, p.read_bytes()) for p in out_dir.iterdir())
    read_only(out_dir)
    assert main([*argv, "--overwrite"]) == 1
    assert "cannot be written" in capsys.readouterr().err
    assert sorted((p.name, p.read_bytes()) for p in out_dir.iterdir()) == before  # not moved to the trash


def test_export_from_a_read_only_project_folder_goes_ahead(project, out_dir, read_only):
    read_only(project.path.parent)
    target = out_dir / "from_ro.edl"
    assert main(["export", str(project.path), "-f", "edl", "-o", str(target), "--quiet"]) == 0
    assert target.read_text().startswith("TITLE:")
