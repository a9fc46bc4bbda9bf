"""Check a project file's values before any object is built from them.

JSON can hold ``Infinity``, ``NaN``, a list where a number belongs or a duplicate id; each
is refused here with the field and the value named (``shots[2].hold_seconds is NaN``),
so a bad file is a clear message instead of a Python error deep in the render path.
"""

from __future__ import annotations

import math
from typing import Any

from engine.limits import MAX_PIXELS, MAX_SIDE, max_shot_seconds
from engine.timebase import is_supported_fps


class InvalidField(ValueError):
    """One field of the project file holds a value Soul Studio cannot use."""

    def __init__(self, field: str, value: Any, problem: str) -> None:
        self.field = field
        self.value = value
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        super().__init__(f"{field} is {shown}: {problem}")


def _number(data: dict[str, Any], key: str, where: str, *, lo: float | None = None, hi: float | None = None,
            integer: bool = False, optional: bool = True, above: bool = False) -> None:
    if key not in data or (data[key] is None and optional):
        return
    value = data[key]
    name = f"{where}{key}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidField(name, value, "expected a number")
    if not math.isfinite(value):
        raise InvalidField(name, value, "expected a finite number")
    if integer and value != int(value):
        raise InvalidField(name, value, "expected a whole number")
    if lo is not None and (value <= lo if above else value < lo):
        raise InvalidField(name, value, f"must be {'above' if above else 'at least'} {lo:g}")
    if hi is not None and value > hi:
        raise InvalidField(name, value, f"must be at most {hi:g}")


def _text(data: dict[str, Any], key: str, where: str, optional: bool = True) -> None:
    if key not in data or (data[key] is None and optional):
        return
    if not isinstance(data[key], str):
        raise InvalidField(f"{where}{key}", data[key], "expected text")


def _flag(data: dict[str, Any], key: str, where: str) -> None:
    if key in data and not isinstance(data[key], bool):
        raise InvalidField(f"{where}{key}", data[key], "expected true or false")


def _box(value: Any, name: str) -> None:
    """Four finite numbers (a mouth box, a speaker's box)."""
    if not isinstance(value, list) or len(value) != 4:
        raise InvalidField(name, value, "expected four numbers")
    for j in range(4):
        _number({f"[{j}]": value[j]}, f"[{j}]", name, lo=-1e6, hi=1e6, optional=False)


def _items(data: dict[str, Any], key: str, where: str = "") -> list[dict[str, Any]]:
    value = data.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidField(f"{where}{key}", value, "expected a list")
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise InvalidField(f"{where}{key}[{i}]", item, "expected an object")
    return value


def _object(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise InvalidField(key, value, "expected an object")
    return value


def _unique_ids(items: list[dict[str, Any]], what: str, required: bool = True) -> set[str]:
    seen: set[str] = set()
    for i, item in enumerate(items):
        if "id" not in item and not required:
            continue
        value = item.get("id")
        if not isinstance(value, str) or not value:
            raise InvalidField(f"{what}[{i}].id", value, "expected a non-empty id")
        if value in seen:
            raise InvalidField(f"{what}[{i}].id", value, f"another entry of {what} has the same id")
        seen.add(value)
    return seen


def validate_project_dict(data: dict[str, Any]) -> None:
    """Raise :class:`InvalidField` for the first value that cannot be used (current schema)."""
    _text(data, "name", "")
    if "fps" in data:
        _number(data, "fps", "", lo=1, hi=240, optional=False)
        if not is_supported_fps(float(data["fps"])):
            raise InvalidField("fps", data["fps"], "choose one of 23.976, 24, 25, 29.97, 30")
    _number(data, "width", "", lo=16, hi=MAX_SIDE, integer=True, optional=False)
    _number(data, "height", "", lo=16, hi=MAX_SIDE, integer=True, optional=False)
    width, height = data.get("width", 1280), data.get("height", 720)
    if width * height > MAX_PIXELS:
        raise InvalidField("width x height", f"{width}x{height}", "larger than 4K DCI (4096x2160)")
    _number(data, "sample_rate", "", lo=8000, hi=192_000, integer=True, optional=False)
    settings = _object(data, "settings")
    _number(settings, "draft_scale", "settings.", lo=0, hi=1, above=True, optional=False)
    for key in ("default_backend", "start_timecode", "model_folder", "final_codec"):
        _text(settings, key, "settings.")
    characters = _items(data, "characters")
    _unique_ids(characters, "characters")
    for i, c in enumerate(characters):
        where = f"characters[{i}]."
        for key in ("name", "portrait", "prompt", "framing", "colour"):
            _text(c, key, where)
        if c.get("mouth_box") is not None:
            _box(c["mouth_box"], f"{where}mouth_box")
        _number(c, "face_index", where, lo=0, hi=1000, integer=True)
        voice = c.get("voice") or {}
        if not isinstance(voice, dict):
            raise InvalidField(f"{where}voice", voice, "expected an object")
        _number(voice, "pitch", f"{where}voice.", lo=0, hi=99, integer=True, optional=False)
        _number(voice, "rate", f"{where}voice.", lo=20, hi=1000, integer=True, optional=False)
    shots = _items(data, "shots")
    _unique_ids(shots, "shots")
    longest = max_shot_seconds()
    take_ids: set[str] = set()
    for i, s in enumerate(shots):
        _validate_shot(s, f"shots[{i}].", longest, take_ids)
    timeline = _object(data, "timeline")
    for i, e in enumerate(_items(timeline, "entries", "timeline.")):
        where = f"timeline.entries[{i}]."
        _text(e, "shot_id", where, optional=False)
        _text(e, "track", where, optional=False)
        _number(e, "gap_before", where, lo=0, hi=longest * 240, integer=True, optional=False)
    markers = _items(timeline, "markers", "timeline.")
    _unique_ids(markers, "timeline.markers", required=False)
    for i, m in enumerate(markers):
        _number(m, "frame", f"timeline.markers[{i}].", lo=0, integer=True, optional=False)
        for key in ("name", "note", "colour"):
            _text(m, key, f"timeline.markers[{i}].", optional=False)
    for i, t in enumerate(_items(timeline, "tracks", "timeline.")):
        _text(t, "key", f"timeline.tracks[{i}].", optional=False)
        for key in ("mute", "solo", "lock"):
            _flag(t, key, f"timeline.tracks[{i}].")
    for i, m in enumerate(_items(timeline, "music", "timeline.")):
        _validate_music(m, f"timeline.music[{i}].", longest)
    media = _items(data, "media")
    _unique_ids(media, "media", required=False)
    for i, m in enumerate(media):
        _text(m, "path", f"media[{i}].", optional=False)
        _text(m, "kind", f"media[{i}].", optional=False)
        _number(m, "duration", f"media[{i}].", lo=0)


def _validate_shot(s: dict[str, Any], where: str, longest: float, take_ids: set[str]) -> None:
    for key in ("character_id", "text", "prompt", "audio", "framing", "name", "notes", "picked_take", "partner_id",
                "partner_audio", "two_shot_image"):
        _text(s, key, where)
    for key in ("temp_audio", "partner_left"):
        _flag(s, key, where)
    _number(s, "partner_audio_in", where, lo=0, hi=longest * 100, optional=False)
    _number(s, "partner_audio_out", where, lo=0, hi=longest * 100)
    _number(s, "partner_audio_length", where, lo=0, hi=longest * 100)
    boxes = s.get("speaker_boxes")
    if boxes is not None:
        if not isinstance(boxes, list):
            raise InvalidField(f"{where}speaker_boxes", boxes, "expected a list of [x0, y0, x1, y1] boxes")
        for j, box in enumerate(boxes):
            _box(box, f"{where}speaker_boxes[{j}]")
    _number(s, "audio_in", where, lo=0, hi=longest * 100, optional=False)
    _number(s, "audio_out", where, lo=0, hi=longest * 100)
    _number(s, "audio_length", where, lo=0, hi=longest * 100)
    _number(s, "hold_seconds", where, lo=0, hi=longest, above=True, optional=False)
    _number(s, "seed", where, lo=0, hi=2**63 - 1, integer=True, optional=False)
    for key in ("handle_head", "handle_tail"):
        _number(s, key, where, lo=0, hi=longest, optional=False)
    start = s.get("audio_in") or 0.0
    end = s.get("audio_out")
    if end is not None and end <= start:
        raise InvalidField(f"{where}audio_out", end, f"must be after audio_in ({start})")
    if s.get("audio"):
        stop = end if end is not None else s.get("audio_length")
        if stop is not None and stop - start > longest:
            raise InvalidField(f"{where}audio_out", stop,
                               f"the shot would last {stop - start:.0f} s, more than {longest:.0f} s "
                               "(SOUL_MAX_SHOT_SECONDS)")
    takes = _items(s, "takes", where)
    for j, t in enumerate(takes):
        tw = f"{where}takes[{j}]."
        for key in ("file", "job_hash", "backend"):
            _text(t, key, tw, optional=False)
        for key in ("quality", "status", "created", "error"):
            _text(t, key, tw)
        _number(t, "seed", tw, lo=0, hi=2**63 - 1, integer=True, optional=False)
        _number(t, "offset", tw, lo=-longest * 120, hi=longest * 120, integer=True,  # frames, either way
                optional=False)
        tid = t.get("id")
        if tid is not None:
            if tid in take_ids:
                raise InvalidField(f"{tw}id", tid, "another take has the same id")
            take_ids.add(tid)


def _validate_music(m: dict[str, Any], where: str, longest: float) -> None:
    """A music clip: its file, where it starts (frames), the seconds of the file it plays and its gain."""
    _text(m, "path", where, optional=False)
    _number(m, "start", where, lo=0, hi=longest * 240, integer=True, optional=False)
    _number(m, "audio_in", where, lo=0, hi=longest * 100, optional=False)
    _number(m, "audio_out", where, lo=0, hi=longest * 100)
    _number(m, "length", where, lo=0, hi=longest * 100)
    _number(m, "gain_db", where, lo=-120, hi=40, optional=False)
