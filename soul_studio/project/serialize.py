"""Project ⇄ JSON dict. The only place that knows the .soulproj field names."""

from __future__ import annotations

import dataclasses
from typing import Any

from soul_studio.project.migrations import SCHEMA_VERSION
from soul_studio.project.model import (
    Character,
    Marker,
    MediaItem,
    MusicClip,
    Project,
    ProjectSettings,
    Shot,
    Take,
    Timeline,
    TimelineEntry,
    Track,
    Voice,
)

FORMAT_NAME = "soul-studio-project"


def _fields(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls) if not f.name.startswith("_")}
    return {k: v for k, v in data.items() if k in names}


def project_to_dict(project: Project) -> dict[str, Any]:
    def character(c: Character) -> dict[str, Any]:
        d = dataclasses.asdict(c)
        d["mouth_box"] = list(c.mouth_box) if c.mouth_box else None
        return d

    return {
        "format": FORMAT_NAME,
        "schema_version": SCHEMA_VERSION,
        "name": project.name,
        "fps": project.fps,
        "width": project.width,
        "height": project.height,
        "sample_rate": project.sample_rate,
        "created": project.created,
        "settings": dataclasses.asdict(project.settings),
        "characters": [character(c) for c in project.characters],
        "shots": [dataclasses.asdict(s) for s in project.shots.values()],
        "timeline": {
            "entries": [dataclasses.asdict(e) for e in project.timeline.entries],
            "markers": [dataclasses.asdict(m) for m in project.timeline.markers],
            "tracks": [dataclasses.asdict(t) for t in project.timeline.tracks],
            "music": [dataclasses.asdict(m) for m in project.timeline.music],
        },
        "media": [dataclasses.asdict(m) for m in project.media],
    }


def project_from_dict(data: dict[str, Any]) -> Project:
    """Build a Project from a current-schema dict (run migrations first)."""
    characters = []
    for c in data.get("characters", []):
        values = _fields(Character, c)
        values["voice"] = Voice(**_fields(Voice, c.get("voice") or {}))
        if values.get("mouth_box") is not None:
            values["mouth_box"] = tuple(float(v) for v in values["mouth_box"])
        characters.append(Character(**values))
    shots: dict[str, Shot] = {}
    for s in data.get("shots", []):
        values = _fields(Shot, s)
        values["takes"] = [Take(**_fields(Take, t)) for t in s.get("takes", [])]
        shot = Shot(**values)
        shots[shot.id] = shot
    tl = data.get("timeline") or {}
    timeline = Timeline(
        entries=[TimelineEntry(**_fields(TimelineEntry, e)) for e in tl.get("entries", [])],
        markers=[Marker(**_fields(Marker, m)) for m in tl.get("markers", [])],
        tracks=[Track(**_fields(Track, t)) for t in tl.get("tracks", [])],
        music=[MusicClip(**_fields(MusicClip, m)) for m in tl.get("music", [])],
    )
    return Project(
        name=data.get("name", "Untitled"),
        fps=float(data.get("fps", 24.0)),
        width=int(data.get("width", 1280)),
        height=int(data.get("height", 720)),
        sample_rate=int(data.get("sample_rate", 48_000)),
        characters=characters,
        shots=shots,
        timeline=timeline,
        settings=ProjectSettings(**_fields(ProjectSettings, data.get("settings") or {})),
        media=[MediaItem(**_fields(MediaItem, m)) for m in data.get("media", [])],
        created=data.get("created", ""),
    )
