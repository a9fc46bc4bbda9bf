"""A two-shot's speakers for the job: who stands where, and which line each one speaks.

The infinitetalk backend routes each voice to the region of one face. The boxes come from
the shot (placed or accepted in the Inspector) or, when the shot has none yet, from the
face detector on the two-shot picture, left to right. The shot's own character is on the
left unless ``partner_left``; a speaker without a line listens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from soul_studio.project.model import Character, Project, Shot


class TwoShotError(ValueError):
    """A two-shot that lacks what it needs; the message says what to fix."""


def detect_boxes(picture: Path) -> list[list[float]]:
    """Speaker boxes for ``picture`` from the face detector (the reference's halves when it finds fewer faces)."""
    from engine.backends.infinitetalk.speakers import speaker_boxes
    from engine.media import load_portrait

    return speaker_boxes(load_portrait(str(picture)), 2)


def two_shot_speakers(project: Project, shot: Shot, character: Character, picture: Path, audio: Path | None,
                      fingerprints: Any) -> list[dict[str, Any]]:
    """``options["speakers"]`` for a two-shot job, left to right (see the infinitetalk backend)."""
    from soul_studio.render.planner import ShotNotRenderable

    partner = project.character(shot.partner_id)
    if partner is None:
        raise ShotNotRenderable(f"the second character of {shot.name or shot.id} is no longer in the cast; "
                                "choose them again in the Inspector")
    partner_audio = project.resolve(shot.partner_audio)
    if partner_audio is not None and not partner_audio.exists():
        raise ShotNotRenderable(f"{partner.name}'s line in {shot.name or shot.id} is missing: {partner_audio}")
    boxes = shot.speaker_boxes
    if not boxes:
        derived = getattr(fingerprints, "derived", None)
        boxes = derived(picture, "speaker_boxes", detect_boxes) if derived else detect_boxes(picture)
    if len(boxes) != 2:
        raise ShotNotRenderable(f"{shot.name or shot.id} needs two speaker boxes, has {len(boxes)}; "
                                "place them again in the Inspector")

    def speaker(who: Character, path: Path | None, start: float, end: float | None) -> dict[str, Any]:
        digest = fingerprints.get(path) if path is not None else None
        return {"character": who.name, "audio_path": str(path) if path is not None else None,
                "audio_in": float(start) if path is not None else 0.0,
                "audio_out": end if path is not None else None, "fingerprint": digest}

    own = speaker(character, audio, shot.audio_in, shot.audio_out)
    other = speaker(partner, partner_audio, shot.partner_audio_in, shot.partner_audio_out)
    ordered = [other, own] if shot.partner_left else [own, other]
    for entry, box in zip(ordered, boxes):
        entry["box"] = [round(float(v), 4) for v in box]
    return ordered
