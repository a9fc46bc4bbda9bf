"""A reaction after the line (a tail handle) is silence in the interchange files as in the movie:
the dialogue clip ends at the shot's out point, never plays on into the rest of the recording."""

from __future__ import annotations

import opentimelineio as otio
import pytest

from soul_studio.export import ExportOptions, export_project
from soul_studio.render.planner import current_hash
from tests.export.builders import build_project, write_take

FPS = 24.0


@pytest.fixture
def reacting(tmp_path):
    """Ana's line [0.25 s, 1.25 s) of a 1.5 s recording, with a 1 s reaction after it, rendered."""
    project = build_project(tmp_path / "scene")
    shot = project.timeline_shots()[0]
    shot.handle_tail = 1.0
    write_take(project.folder / "takes" / "a_now.mp4", 0, shot.frames(FPS), project.width, project.height, FPS)
    shot.takes[0].file, shot.takes[0].job_hash = "takes/a_now.mp4", current_hash(project, shot, "final", "sketch")
    return project


def _items(track) -> list[tuple[str, float, float]]:
    return [(type(i).__name__, i.source_range.start_time.value, i.source_range.duration.value) for i in track]


def _inside_media(track) -> None:
    for item in track:
        if isinstance(item, otio.schema.Clip) and item.media_reference.available_range is not None:
            have, used = item.media_reference.available_range, item.source_range
            assert have.start_time.value <= used.start_time.value
            assert used.end_time_exclusive().value <= have.end_time_exclusive().value, item.name


def test_the_dialogue_clip_ends_at_the_out_point_and_the_reaction_is_a_gap(reacting, tmp_path):
    result = export_project(reacting, "otio", tmp_path / "cut.otio", ExportOptions(media="takes"))
    timeline = otio.adapters.read_from_file(str(result.path))
    audio = timeline.audio_tracks()[0]
    assert _items(audio)[:2] == [("Clip", 6, 24), ("Gap", 0, 24)]  # the line, then 24 frames of reaction
    assert audio.duration() == timeline.video_tracks()[0].duration()
    _inside_media(audio)
    video = timeline.video_tracks()[0]
    assert _items(video)[0] == ("Clip", 86400, 48)  # the picture plays through the reaction


def test_a_range_that_starts_inside_the_reaction_has_no_dialogue_clip_there(reacting, tmp_path):
    result = export_project(reacting, "otio", tmp_path / "r.otio", ExportOptions(media="takes", frame_range=(30, 50)))
    audio = otio.adapters.read_from_file(str(result.path)).audio_tracks()[0]
    assert _items(audio)[0] == ("Gap", 0, 18)  # frames 30..47 are all reaction
    _inside_media(audio)


@pytest.mark.parametrize("fmt", ["fcp7xml", "fcpxml", "aaf", "edl"])
def test_editor_formats_read_back_with_the_reaction_silent(reacting, tmp_path, fmt):
    from lxml import etree

    from tests.export.test_conform import DTD, SUFFIX, read_back

    suffix = SUFFIX.get(fmt, f".{fmt}")
    result = export_project(reacting, fmt, tmp_path / f"cut{suffix}", ExportOptions(media="takes"))
    if fmt == "fcpxml":
        doc, dtd = etree.parse(str(result.path)), etree.DTD(str(DTD))
        assert dtd.validate(doc), dtd.error_log.filter_from_errors()
        line = doc.getroot().find(".//asset-clip[@srcEnable='audio']")  # the line, connected under the picture
        assert line.get("name") == "Ana asks" and line.get("duration") == "1s"
    if fmt == "fcp7xml":
        audio = [t for t in read_back(result.path, FPS).audio_tracks() if len(t)]
        clips = [i for i in audio[0] if isinstance(i, otio.schema.Clip)]
        assert clips[0].source_range.duration.to_frames() == 24  # the line only, not the reaction
    assert result.path.stat().st_size > 0


@pytest.mark.parametrize("fps", [23.976, 29.97, 30.0])
def test_pauses_and_reactions_off_the_frame_grid_keep_the_tracks_in_step(tmp_path, fps):
    project = build_project(tmp_path / "scene", fps=fps)
    for shot, (head, tail) in zip(project.timeline_shots(), [(0.23, 0.37), (0.0, 0.41), (0.13, 0.0)]):
        shot.handle_head, shot.handle_tail = head, tail
    result = export_project(project, "otio", tmp_path / "cut.otio",
                            ExportOptions(media="takes", stale_check=lambda s, t: False))
    timeline = otio.adapters.read_from_file(str(result.path))
    video, audio = timeline.video_tracks()[0], timeline.audio_tracks()[0]
    assert audio.duration() == video.duration() == otio.opentime.RationalTime(project.duration_frames(),
                                                                                video.duration().rate)
    _inside_media(audio)  # (the stale takes are shorter than their shots now: only the sound is checked)
