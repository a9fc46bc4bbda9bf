"""Schema versions of the .soulproj format and the migrations between them.

Each migration takes the JSON dict of version N and returns version N+1. Files from a
newer Soul Studio are refused (never guessed at), so nothing is lost by opening them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

SCHEMA_VERSION = 3

Migration = Callable[[dict[str, Any]], dict[str, Any]]
_MIGRATIONS: dict[int, Migration] = {}


def migration(from_version: int) -> Callable[[Migration], Migration]:
    """Register ``func`` as the migration from ``from_version`` to ``from_version + 1``."""

    def register(func: Migration) -> Migration:
        if from_version in _MIGRATIONS:
            raise ValueError(f"a migration from schema {from_version} is already registered")
        _MIGRATIONS[from_version] = func
        return func

    return register


def schema_version_of(data: dict[str, Any]) -> int:
    """Version 0 files (the storyboard prototype) wrote ``version`` instead of ``schema_version``."""
    if "schema_version" in data:
        return int(data["schema_version"])
    return int(data.get("version", 0))


def migrate(data: dict[str, Any]) -> tuple[dict[str, Any], list[int]]:
    """Bring ``data`` up to :data:`SCHEMA_VERSION`; returns it and the versions it passed."""
    version = schema_version_of(data)
    steps: list[int] = []
    while version < SCHEMA_VERSION:
        step = _MIGRATIONS.get(version)
        if step is None:
            raise ValueError(f"no migration from schema version {version}")
        data = step(dict(data))
        steps.append(version)
        version += 1
        data["schema_version"] = version
    return data, steps


@migration(0)
def _v0_to_v1(data: dict[str, Any]) -> dict[str, Any]:
    """v0 kept characters by name, shots as a flat list in cut order, ``line`` for the text."""
    characters = []
    by_name: dict[str, str] = {}
    for i, c in enumerate(data.get("characters", [])):
        cid = f"c{i:03d}"
        by_name[c["name"]] = cid
        characters.append({"id": cid, "name": c["name"], "portrait": c.get("portrait")})
    shots = []
    entries = []
    for i, s in enumerate(data.get("shots", [])):
        sid = f"s{i:03d}"
        shots.append(
            {
                "id": sid,
                "character_id": by_name.get(s.get("character", "")),
                "text": s.get("line", ""),
                "audio": s.get("audio"),
                "audio_in": float(s.get("in", 0.0)),
                "audio_out": s.get("out"),
                "seed": int(s.get("seed", 0)),
            }
        )
        entries.append({"shot_id": sid, "gap_before": 0})
    width, height = (data.get("resolution") or [1280, 720])[:2]
    return {
        "schema_version": 1,
        "name": data.get("title", "Untitled"),
        "fps": float(data.get("fps", 24)),
        "width": int(width),
        "height": int(height),
        "characters": characters,
        "shots": shots,
        "timeline": {"entries": entries, "markers": []},
    }


@migration(1)
def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """v2 puts every clip on a video track (v1 had one: V1) and keeps track switches."""
    timeline = dict(data.get("timeline") or {})
    timeline["entries"] = [{**e, "track": e.get("track", "V1")} for e in timeline.get("entries", [])]
    timeline.setdefault("tracks", [])
    timeline.setdefault("music", [])
    data["timeline"] = timeline
    return data


@migration(2)
def _v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
    """v3 renders a shot's head handle with its takes; a v2 take started after the head.

    Such a take's ``offset`` becomes negative by the head's frames, so it still plays in
    sync (holding its first frame over the head) until the shot is rendered again.
    """
    fps = data.get("fps")
    shots = data.get("shots")
    if not _finite(fps) or not isinstance(shots, list):
        return data  # malformed: the validation after loading names the field
    for i, shot in enumerate(shots):
        if not isinstance(shot, dict):
            continue
        head = shot.get("handle_head")
        takes = shot.get("takes")
        if not (_finite(head) and 0 < head < 1e6 and (shot.get("audio") or shot.get("partner_audio"))
                and isinstance(takes, list)):
            continue
        frames = int(round(head * fps))
        moved = []
        for take in takes:
            if isinstance(take, dict) and _whole(take.get("offset", 0)):
                take = {**take, "offset": int(take.get("offset", 0)) - frames}
            moved.append(take)  # anything else is left as it is, for the validation to name
        shots[i] = {**shot, "takes": moved}
    return data


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _whole(value: Any) -> bool:
    """A whole number of frames (``3`` or ``3.0``, not ``true``) small enough to shift exactly."""
    return _finite(value) and value == int(value) and abs(value) < 2**53
