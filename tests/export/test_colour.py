"""Colour: BT.709 pictures tagged as such, so every NLE shows the colours that were rendered.

Bars go in as RGB, through a take, a conform and per-shot clips; what comes out is
decoded to its Y'CbCr planes and turned back into RGB with the BT.709 equations by hand.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.media import VideoWriter, load_portrait
from soul_studio.export import ExportOptions, export_project, export_shot_clips
from soul_studio.project import Character, Project, Shot, Take, TimelineEntry, save_project
from tests.export.builders import not_stale
from tests.export.helpers_media import (
    BARS,
    BT709_TV,
    bar_centres,
    bars_image,
    bt709_to_rgb,
    colour_tags,
    ffprobe,
    first_frame,
    video_stream,
)

WIDTH, HEIGHT = 256, 144


@pytest.fixture(scope="module")
def bars_project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    folder = tmp_path_factory.mktemp("bars") / "p"
    (folder / "takes").mkdir(parents=True)
    project = Project(name="Bars", fps=24.0, width=WIDTH, height=HEIGHT)
    who = Character("Bars")
    project.characters.append(who)
    shot = Shot(who.id, text="bars", audio_length=0.5, audio_in=0.0, audio_out=0.5, name="Bars")
    with VideoWriter(folder / "takes" / "bars.mp4", 24.0, WIDTH, HEIGHT, "h264_take") as w:
        for _ in range(12):
            w.write(bars_image(WIDTH, HEIGHT))
    shot.takes.append(Take("takes/bars.mp4", job_hash="x", backend="sketch", quality="final"))
    project.shots[shot.id] = shot
    project.timeline.entries.append(TimelineEntry(shot.id))
    save_project(project, folder / "bars.soulproj", keep_backups=0)
    return project


def assert_bars(rgb: np.ndarray, tolerance: float = 2.0) -> None:
    for got, want in zip(bar_centres(rgb), BARS):
        assert np.abs(got - np.array(want)).max() <= tolerance, (got.round(1), want)


def test_take_is_encoded_with_the_bt709_matrix_and_tagged(bars_project):
    take = bars_project.resolve(next(iter(bars_project.shots.values())).takes[0].file)
    assert_bars(bt709_to_rgb(first_frame(take)))
    assert colour_tags(video_stream(ffprobe(take))) == BT709_TV


@pytest.mark.parametrize("fmt", ["mp4", "prores422hq"])
def test_conformed_movie_round_trips_colour_bars_through_bt709(bars_project, tmp_path, fmt):
    result = export_project(bars_project, fmt, tmp_path / "bars", ExportOptions(stale_check=not_stale))
    assert_bars(bt709_to_rgb(first_frame(result.path)))
    stream = video_stream(ffprobe(result.path))
    assert colour_tags(stream) == BT709_TV
    if fmt == "prores422hq":  # the ProRes frame header says so too, not only the colr atom
        frames = ffprobe(result.path, "-select_streams", "v", "-show_frames", "-read_intervals", "%+#1")["frames"]
        assert colour_tags(frames[0]) == BT709_TV
        assert colr_atom(result.path) == (1, 1, 1)


def test_stills_and_slates_are_converted_with_bt709(tmp_path):
    """A picture that starts as RGB in the exporter (a portrait, a burn-in) takes the same matrix."""
    from soul_studio.export import ExportOptions as Options

    folder = tmp_path / "p"
    folder.mkdir()
    from engine.media import save_image

    save_image(folder / "bars.png", bars_image(WIDTH, HEIGHT))
    project = Project(name="Still", fps=25.0, width=WIDTH, height=HEIGHT)
    who = Character("Still", portrait="bars.png")
    project.characters.append(who)
    shot = Shot(who.id, text="x", audio_length=0.4, audio_in=0.0, audio_out=0.4, name="Still")
    project.shots[shot.id] = shot
    project.timeline.entries.append(TimelineEntry(shot.id))
    save_project(project, folder / "s.soulproj", keep_backups=0)
    result = export_project(project, "mp4", tmp_path / "still.mp4", Options(stale_check=not_stale))
    assert_bars(bt709_to_rgb(first_frame(result.path)))
    assert colour_tags(video_stream(ffprobe(result.path))) == BT709_TV


def test_per_shot_clips_are_tagged_and_png_stays_srgb(bars_project, tmp_path):
    clips = export_shot_clips(bars_project, tmp_path / "clips", "mp4", ExportOptions(stale_check=not_stale))
    for clip in clips.files:
        assert colour_tags(video_stream(ffprobe(clip))) == BT709_TV
        assert_bars(bt709_to_rgb(first_frame(clip)))
    png = export_project(bars_project, "png", tmp_path / "frames", ExportOptions(stale_check=not_stale))
    first = sorted(png.path.glob("*.png"))[0]
    assert_bars(load_portrait(first).astype(float), tolerance=2.5)  # decoded with BT.709 into sRGB values
    assert b"gAMA" not in first.read_bytes()[:200] and b"iCCP" not in first.read_bytes()[:200]


def colr_atom(path: Path) -> tuple[int, int, int]:
    data = path.read_bytes()
    at = data.find(b"colrnclc")
    assert at > 0, "no colr atom"
    body = data[at + 8 : at + 14]
    return int.from_bytes(body[0:2], "big"), int.from_bytes(body[2:4], "big"), int.from_bytes(body[4:6], "big")


def test_takes_written_untagged_with_bt601_are_converted_on_the_way_through(tmp_path):
    """A take from before movies were tagged: BT.601 matrix, no tags. The conform must not
    pass its planes through as if they were BT.709."""
    import av
    import cv2

    folder = tmp_path / "p"
    (folder / "takes").mkdir(parents=True)
    with av.open(str(folder / "takes" / "old.mp4"), "w") as c:
        stream = c.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"crf": "12"}
        i420 = cv2.cvtColor(bars_image(WIDTH, HEIGHT), cv2.COLOR_RGB2YUV_I420)  # the old BT.601 path
        for i in range(12):
            frame = av.VideoFrame.from_ndarray(i420, format="yuv420p")
            frame.pts = i
            for packet in stream.encode(frame):
                c.mux(packet)
        for packet in stream.encode(None):
            c.mux(packet)
    project = Project(name="Old", fps=24.0, width=WIDTH, height=HEIGHT)
    who = Character("Old")
    project.characters.append(who)
    shot = Shot(who.id, text="x", audio_length=0.5, audio_in=0.0, audio_out=0.5, name="Old")
    shot.takes.append(Take("takes/old.mp4", job_hash="x", backend="sketch", quality="final"))
    project.shots[shot.id] = shot
    project.timeline.entries.append(TimelineEntry(shot.id))
    save_project(project, folder / "old.soulproj", keep_backups=0)
    result = export_project(project, "mp4", tmp_path / "old_cut.mp4", ExportOptions(stale_check=not_stale))
    assert colour_tags(video_stream(ffprobe(result.path))) == BT709_TV
    # Two 4:2:0 generations and OpenCV's approximate BT.601; read as BT.709 unconverted, red is 11 off.
    assert_bars(bt709_to_rgb(first_frame(result.path)), tolerance=4.0)
