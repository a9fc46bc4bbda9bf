"""Delivery safety: no silent overwrite, cancel leaves nothing, warnings for weak material."""

from __future__ import annotations

import av
import pytest

from engine.backends.base import CancelToken
from soul_studio.export import ExportCancelled, ExportError, ExportOptions, export_project
from tests.export.builders import not_stale


def opts(**kw) -> ExportOptions:
    return ExportOptions(stale_check=not_stale, **kw)


@pytest.mark.parametrize(("fmt", "name"), [("mp4", "a.mp4"), ("png", "seq"), ("edl", "a.edl")])
def test_existing_output_is_refused_and_only_our_own_export_is_replaced(project, out_dir, fmt, name):
    target = out_dir / name
    if fmt == "png":
        target.mkdir()
        (target / "keep.txt").write_text("mine")
    else:
        target.write_bytes(b"precious")
    for overwrite in (False, True):  # a file Soul Studio did not write is never replaced
        with pytest.raises(ExportError, match="already exists"):
            export_project(project, fmt, target, opts(overwrite=overwrite))
    if fmt == "png":
        assert (target / "keep.txt").read_text() == "mine"
    else:
        assert target.read_bytes() == b"precious"
    assert sorted(p.name for p in out_dir.iterdir()) == [name]  # no partial files, no media folder
    mine = out_dir / f"new-{name}"
    first = export_project(project, fmt, mine, opts())
    with pytest.raises(ExportError, match="already exists"):
        export_project(project, fmt, mine, opts())
    before = sorted(p.name for p in mine.iterdir()) if fmt == "png" else mine.read_bytes()
    result = export_project(project, fmt, mine, opts(overwrite=True))
    assert result.path == first.path == mine
    trash = sorted(p for p in (out_dir / ".soul-trash").iterdir() if p.name.startswith(mine.name + "."))
    assert len(trash) == 1  # the earlier export was moved aside, not deleted
    old = trash[0] / mine.name
    if fmt == "png":
        assert len(list(mine.glob("*.png"))) == 60 and sorted(p.name for p in old.iterdir()) == before
    else:
        assert old.read_bytes() == before and mine.stat().st_size > 0


def test_existing_media_folder_is_refused(project, out_dir):
    (out_dir / "cut_media").mkdir()
    with pytest.raises(ExportError, match="cut_media already exists"):
        export_project(project, "otio", out_dir / "cut.otio", opts())
    assert not (out_dir / "cut.otio").exists()


@pytest.mark.parametrize(("fmt", "name"), [("mp4", "c.mp4"), ("prores422hq", "c.mov"), ("png", "seq"),
                                           ("fcp7xml", "c.xml")])
def test_cancel_leaves_no_file(project, out_dir, fmt, name):
    token = CancelToken()
    seen: list[float] = []

    def progress(fraction: float, message: str) -> None:
        seen.append(fraction)
        if fraction > 0.3:
            token.cancel()

    # Report on every frame so the cancel lands mid-way.
    from soul_studio.export import output

    old = output.Meter._report

    def eager(self, force=False):
        return old(self, force=True)

    output.Meter._report = eager
    try:
        with pytest.raises(ExportCancelled):
            export_project(project, fmt, out_dir / name, opts(), progress=progress, cancel=token)
    finally:
        output.Meter._report = old
    assert seen and max(seen) < 1.0
    assert list(out_dir.iterdir()) == []


def test_progress_reaches_one(project, out_dir):
    seen: list[tuple[float, str]] = []
    export_project(project, "mp4", out_dir / "p.mp4", opts(), progress=lambda f, m: seen.append((f, m)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_delivery_warnings(project, out_dir):
    result = export_project(project, "mp4", out_dir / "w.mp4", ExportOptions(stale_check=lambda shot, take: True))
    text = "\n".join(result.warnings)
    assert "'Ana again' uses temp audio" in text
    assert "'Ana again' has no finished take" in text
    assert "'Ben answers' has only a draft take" in text
    assert "'Ana asks': its take is stale" in text
    assert "'Ana asks' has only a draft" not in text
    quiet = export_project(project, "mp4", out_dir / "q.mp4", opts(final_delivery=False, shots=["Ana asks"]))
    assert quiet.warnings == []


def test_per_shot_clips_carry_reel_and_record_timecode(project, out_dir):
    result = export_project(project, "edl", out_dir / "r.edl", opts(media_codec="mp4"))
    clips = sorted((out_dir / "r_media").iterdir())
    # H.264 shot clips are QuickTime, whose timecode track carries the reel name.
    assert [c.name for c in clips] == ["001_Ana_asks.mov", "002_Ben_answers.mov", "003_Ana_again.mov"]
    assert set(result.files) == {result.path, *clips}
    timecodes = []
    for clip in clips:
        with av.open(str(clip)) as c:
            timecodes.append(c.streams.video[0].metadata.get("timecode"))
    assert timecodes == ["01:00:00:00", "01:00:01:06", "01:00:02:00"]
    # QuickTime keeps the reel name on its timecode track.
    export_project(project, "otio", out_dir / "p.otio", opts())
    reels = []
    for clip in sorted((out_dir / "p_media").iterdir()):
        with av.open(str(clip)) as c:
            reels += [s.metadata.get("reel_name") for s in c.streams if s.type == "data"]
    assert reels == ["ANAA0001", "BENA0002", "ANAA0003"]


def test_bad_requests_are_clear_errors(project, out_dir):
    with pytest.raises(ExportError, match="unknown export format"):
        export_project(project, "avi", out_dir / "x.avi")
    with pytest.raises(ExportError, match="no shot named"):
        export_project(project, "mp4", out_dir / "x.mp4", opts(shots=["Nobody"]))
    with pytest.raises(ExportError, match="empty"):
        export_project(project, "mp4", out_dir / "x.mp4", opts(frame_range=(10, 10)))
    with pytest.raises(ExportError, match="does not exist"):
        export_project(project, "mp4", out_dir / "missing" / "x.mp4", opts())
    assert list(out_dir.iterdir()) == []


def test_stale_takes_are_found_by_the_render_planner(tmp_path):
    from soul_studio.render.planner import current_hash
    from tests.export.builders import build_project

    project = build_project(tmp_path / "p")
    first = project.shots[project.timeline.entries[0].shot_id]
    take = first.takes[-1]
    assert take.job_hash == current_hash(project, first, take.quality, take.backend)
    result = export_project(project, "edl", tmp_path / "b.edl", ExportOptions(media="takes"))
    assert not [w for w in result.warnings if w.startswith("'Ana asks'")]
    first.text = "A new line"  # the take no longer shows this shot: stale, and never delivered silently
    result = export_project(project, "edl", tmp_path / "a.edl", ExportOptions(media="takes"))
    assert "'Ana asks': its take is stale (the shot changed since it was rendered)" in result.warnings
    assert "a_final.mp4" not in (tmp_path / "a.edl").read_text()


def test_shot_clips_alone_and_replacing_a_media_folder(project, out_dir):
    from engine.media import probe_video
    from soul_studio.export import export_shot_clips

    result = export_shot_clips(project, out_dir / "clips", "prores422lt", opts(shots=["Ben answers"]))
    assert [p.name for p in result.files] == ["002_Ben_answers.mov"]
    info = probe_video(result.files[0])
    assert (info.profile, info.frame_count, info.timecode) == ("LT", 18, "01:00:01:06")
    with pytest.raises(ExportError, match="already exists"):
        export_shot_clips(project, out_dir / "clips", "mp4", opts())
    # A timeline export with overwrite swaps in a fresh media folder, unless the user put
    # something of their own into it.
    first = export_project(project, "otio", out_dir / "cut.otio", opts(media_codec="mp4"))
    stray = first.files[1].parent / "stray.txt"
    stray.write_text("old")
    with pytest.raises(ExportError, match="stray.txt"):
        export_project(project, "otio", out_dir / "cut.otio", opts(media_codec="mp4", overwrite=True))
    stray.unlink()
    export_project(project, "otio", out_dir / "cut.otio", opts(media_codec="mp4", overwrite=True))
    assert sorted(p.name for p in (out_dir / "cut_media").iterdir()) == [
        "001_Ana_asks.mov", "002_Ben_answers.mov", "003_Ana_again.mov"]
    assert sorted(p.name for p in out_dir.iterdir() if not p.name.startswith(".")) == ["clips", "cut.otio", "cut_media"]


def test_missing_take_and_audio_files_still_export_with_warnings(tmp_path):
    from engine.media import probe_video
    from tests.export.builders import build_project
    from tests.export.conftest import decode_audio, decode_frames
    from tests.export.helpers import classify, rms

    project = build_project(tmp_path / "p")
    (project.folder / "takes" / "a_final.mp4").unlink()
    (project.folder / "media" / "line1.wav").unlink()
    result = export_project(project, "mp4", tmp_path / "m.mp4", opts())
    assert any("take file takes/a_final.mp4 is missing" in w for w in result.warnings)
    assert any("'Ben answers': audio could not be read" in w for w in result.warnings)
    assert probe_video(result.path).frame_count == 60
    frames = decode_frames(result.path)
    assert classify(frames[0])[0] == "portrait" and classify(frames[30]) == ("B", 0)
    audio = decode_audio(result.path)
    assert rms(audio[:, int(1.3 * 48_000) : int(1.95 * 48_000)]) < 1e-3
