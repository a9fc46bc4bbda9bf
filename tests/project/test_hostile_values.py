"""Project files holding ``null``, ``true`` or a wrong type where a number belongs, in schema 2 and 3.

Each must be refused on load with the field (and the value the file holds) named, the file
left byte-identical; none may load and then crash an export or a render later.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from soul_studio.project import (
    Character,
    Project,
    ProjectFileError,
    Shot,
    Take,
    TimelineEntry,
    load_project,
    save_project,
)
from soul_studio.project.model import MusicClip


def _make(tmp_path: Path) -> Path:
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "line.wav").write_bytes(b"RIFF")
    project = Project(name="demo")
    ana = Character("Ana", portrait="media/ana.png")
    project.characters.append(ana)
    shot = Shot(ana.id, text="Hello", audio="media/line.wav", audio_length=2.0, handle_head=1.0)
    shot.takes.append(Take("takes/a.mp4", "hash", "sketch", offset=0))
    project.shots[shot.id] = shot
    project.timeline.entries.append(TimelineEntry(shot.id))
    project.timeline.music.append(MusicClip("media/line.wav"))
    return save_project(project, tmp_path / "demo.soulproj")


def _rewrite(path: Path, change, schema: int) -> bytes:
    data = json.loads(path.read_text())
    data["schema_version"] = schema
    change(data)
    path.write_text(json.dumps(data))
    return path.read_bytes()


def _shot(key, value):
    return lambda d: d["shots"][0].__setitem__(key, value)


def _take(key, value):
    return lambda d: d["shots"][0]["takes"][0].__setitem__(key, value)


def _music(key, value):
    return lambda d: d["timeline"]["music"][0].__setitem__(key, value)


REFUSED = [
    (_take("offset", None), "shots[0].takes[0].offset"),
    (_take("offset", True), "shots[0].takes[0].offset"),
    (_take("offset", 1.5), "shots[0].takes[0].offset"),
    (_take("seed", None), "shots[0].takes[0].seed"),
    (_shot("handle_head", None), "shots[0].handle_head"),
    (_shot("handle_tail", None), "shots[0].handle_tail"),
    (_shot("audio_in", None), "shots[0].audio_in"),
    (_shot("hold_seconds", None), "shots[0].hold_seconds"),
    (_shot("seed", None), "shots[0].seed"),
    (lambda d: d["timeline"]["entries"][0].__setitem__("gap_before", None), "timeline.entries[0].gap_before"),
    (lambda d: d["timeline"]["entries"][0].__setitem__("track", 5), "timeline.entries[0].track"),
    (lambda d: d.__setitem__("fps", None), "fps"),
    (lambda d: d.__setitem__("width", None), "width"),
    (_music("gain_db", float("nan")), "timeline.music[0].gain_db"),
    (_music("gain_db", 1e308), "timeline.music[0].gain_db"),
    (_music("audio_in", "x"), "timeline.music[0].audio_in"),
    (_music("start", -100), "timeline.music[0].start"),
    (_music("start", None), "timeline.music[0].start"),
    (_music("length", float("inf")), "timeline.music[0].length"),
    (_music("path", 5), "timeline.music[0].path"),
    (lambda d: d["timeline"].__setitem__("music", [7]), "timeline.music[0]"),
    (lambda d: d["timeline"].__setitem__("tracks", [5]), "timeline.tracks[0]"),
    (lambda d: d["timeline"].__setitem__("tracks", {"V1": {}}), "timeline.tracks"),
    (lambda d: d["timeline"].__setitem__("tracks", [{"key": 5}]), "timeline.tracks[0].key"),
    (lambda d: d["timeline"].__setitem__("tracks", [{"key": "V1", "mute": "no"}]), "timeline.tracks[0].mute"),
    (lambda d: d["timeline"].__setitem__("markers", [{"frame": 1, "name": 5}]), "timeline.markers[0].name"),
    (lambda d: d["characters"][0].__setitem__("mouth_box", [0.1, 0.2, 0.3, "x"]), "characters[0].mouth_box[3]"),
    (lambda d: d["characters"][0].__setitem__("face_index", -1), "characters[0].face_index"),
    (lambda d: d["characters"][0].__setitem__("face_index", 1.5), "characters[0].face_index"),
    (lambda d: d["media"].append({"path": "media/line.wav", "kind": 3}), "media[0].kind"),
    (_shot("partner_audio", 5), "shots[0].partner_audio"),
    (_shot("two_shot_image", ["a.png"]), "shots[0].two_shot_image"),
    (_shot("partner_id", 7), "shots[0].partner_id"),
    (_shot("picked_take", 5), "shots[0].picked_take"),
    (_shot("partner_audio_in", None), "shots[0].partner_audio_in"),
    (_shot("partner_audio_in", float("nan")), "shots[0].partner_audio_in"),
    (_shot("partner_audio_out", -1), "shots[0].partner_audio_out"),
    (_shot("temp_audio", "yes"), "shots[0].temp_audio"),
    (_shot("partner_left", 1), "shots[0].partner_left"),
    (_shot("speaker_boxes", [[0, 0, 1]]), "shots[0].speaker_boxes[0]"),
    (_shot("speaker_boxes", [[0, 0, 1, "x"]]), "shots[0].speaker_boxes[0][3]"),
    (_shot("speaker_boxes", "left"), "shots[0].speaker_boxes"),
]


@pytest.mark.parametrize("schema", [2, 3])
@pytest.mark.parametrize(("change", "field"), REFUSED)
def test_a_wrong_value_is_refused_with_its_field_and_the_file_is_left_alone(tmp_path, schema, change, field):
    path = _make(tmp_path)
    before = _rewrite(path, change, schema)
    digest = hashlib.sha256(before).hexdigest()
    with pytest.raises(ProjectFileError) as info:
        load_project(path)
    message = str(info.value)
    assert f"{field} is " in message, message
    assert f"{field}v is" not in message
    assert "TypeError" not in message and "Traceback" not in message
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


def test_the_error_shows_the_offset_the_file_holds_not_the_migrated_one(tmp_path):
    path = _make(tmp_path)
    _rewrite(path, _take("offset", -10**30), 2)
    with pytest.raises(ProjectFileError) as info:
        load_project(path)
    assert f"offset is {-10**30}" in str(info.value)


@pytest.mark.parametrize(("offset", "moved"), [(0, -24), (2.0, -22), (-3, -27)])
def test_schema_2_takes_move_by_the_head_handle_whole_numbers_alike(tmp_path, offset, moved):
    path = _make(tmp_path)
    _rewrite(path, _take("offset", offset), 2)
    take = load_project(path).shots[next(iter(load_project(path).shots))].takes[0]
    assert take.offset == moved and type(take.offset) is int


def test_optional_numbers_may_still_be_null(tmp_path):
    path = _make(tmp_path)
    _rewrite(path, lambda d: (_shot("audio_out", None)(d), _music("audio_out", None)(d),
                              _music("length", None)(d)), 3)
    project = load_project(path)
    assert next(iter(project.shots.values())).audio_out is None
