"""A screenplay scene → cast and shots in a project, as one undoable edit.

Each speech becomes one shot, in script order: its words are the shot's text, its
parenthetical and the action just before it are the prompt hint. Speakers become
characters (reusing cast members of the same name), so a portrait assigned once is
used by every shot of that character. Temp voices and a split recording fill in the
shots' audio before the edit is pushed, so undo removes the whole import at once.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from engine.media import probe_audio
from soul_studio.project.edits import AddCharacter, AddShot, Edit, SetCharacterFields
from soul_studio.project.model import CHARACTER_COLOURS, Character, Project, Shot, Voice
from soul_studio.script.edits import EditGroup
from soul_studio.script.errors import ImportChoiceError
from soul_studio.script.model import Action, DialogueBlock, Scene
from soul_studio.script.names import normalise_character_name
from soul_studio.script.split import expected_duration, recording_fields, split_recording
from soul_studio.script.temp_voice import render_for_shots, temp_voice_fields

# Distinct temp voices for new cast members, in order of appearance.
VOICE_PALETTE = (
    Voice(voice="en-us+f3", pitch=62, rate=165),
    Voice(voice="en-us+m3", pitch=40, rate=160),
    Voice(voice="en-gb+f2", pitch=70, rate=170),
    Voice(voice="en-gb+m1", pitch=32, rate=155),
    Voice(voice="en-us+f4", pitch=55, rate=175),
    Voice(voice="en-us+m7", pitch=50, rate=150),
)
MAX_PROMPT = 400
MIN_HOLD = 1.0
MAX_HOLD = 15.0


@dataclass
class ImportOptions:
    """What to do besides creating cast and shots.

    ``portraits`` and ``voices`` are keyed by cast name (any case, cue form accepted:
    "ADA", "Ada (V.O.)"). ``recording`` is split across the scene's lines; shots left
    without audio get a temp voice when ``temp_voices`` is set.
    """

    portraits: dict[str, str | os.PathLike[str]] = field(default_factory=dict)
    voices: dict[str, Voice] = field(default_factory=dict)
    temp_voices: bool = False
    recording: str | os.PathLike[str] | None = None
    min_silence: float = 0.30
    padding: float = 0.05
    insert_at: int | None = None


@dataclass
class SceneImport(EditGroup):
    """The import of one scene: the edits plus what they create, for the UI to select."""

    shots: list[Shot] = field(default_factory=list)
    new_characters: list[Character] = field(default_factory=list)
    voices: dict[str, Voice] = field(default_factory=dict)
    text: str = "Import Script Scene"


def _by_name(mapping: dict[str, object], cast: list[str], what: str) -> dict[str, object]:
    """Re-key a name → value mapping by cast name, refusing names not in the scene."""
    known = {c.casefold(): c for c in cast}
    out: dict[str, object] = {}
    for key, value in mapping.items():
        name = normalise_character_name(key)
        if name.casefold() not in known:
            raise ImportChoiceError(f"{what} for {key!r}, who does not speak in this scene (cast: {', '.join(cast)})")
        out[known[name.casefold()]] = value
    return out


def prompt_hint(block: DialogueBlock, action: str) -> str:
    """The action just before a speech and its parenthetical, as a short prompt."""
    parts = []
    if action:
        parts.append(" ".join(action.split())[-MAX_PROMPT:])
    if block.parenthetical:
        parts.append(f"({block.parenthetical})")
    return " ".join(parts)


def _shot_notes(scene: Scene, block: DialogueBlock) -> str:
    notes = [scene.heading] if scene.heading else []
    if block.extension:
        notes.append(block.extension)
    if block.dual:
        notes.append("dual dialogue")
    if block.line is not None:
        notes.append(f"script line {block.line}")
    return " · ".join(notes)


def build_scene(project: Project, scene: Scene, options: ImportOptions | None = None) -> SceneImport:
    """The edit that adds ``scene``'s cast and shots; nothing is applied and no file is written."""
    options = options or ImportOptions()
    blocks = scene.dialogue
    if not blocks:
        raise ImportChoiceError(f"scene {scene.title} has no dialogue: nothing to turn into shots")
    cast = scene.characters
    portraits = _by_name(dict(options.portraits), cast, "a portrait was given")
    voices = _by_name(dict(options.voices), cast, "a voice was given")
    edits: list[Edit] = []
    characters: dict[str, Character] = {}
    new: list[Character] = []
    voice_of: dict[str, Voice] = {}
    used_colours = {c.colour for c in project.characters}
    for name in cast:
        portrait = portraits.get(name)
        rel_portrait = project.relative(Path(os.fspath(portrait))) if portrait is not None else None
        existing = project.character_by_name(name)
        if existing is not None:
            changes: dict[str, object] = {}
            if rel_portrait is not None:
                changes["portrait"] = rel_portrait
            if name in voices:
                changes["voice"] = voices[name]
            if changes:
                edits.append(SetCharacterFields(existing.id, changes, text="Assign Portrait"))
            characters[name] = existing
            voice_of[existing.id] = voices.get(name) or existing.voice
            continue
        colour = next((c for c in CHARACTER_COLOURS if c not in used_colours), CHARACTER_COLOURS[len(used_colours) % 8])
        used_colours.add(colour)
        voice = voices.get(name) or VOICE_PALETTE[(len(project.characters) + len(new)) % len(VOICE_PALETTE)]
        character = Character(name=name, portrait=rel_portrait, voice=Voice(**vars(voice)), colour=colour)
        new.append(character)
        characters[name] = character
        voice_of[character.id] = character.voice
        edits.append(AddCharacter(character))
    shots: list[Shot] = []
    action = ""
    label = scene.number or str(scene.index)
    for element in scene.elements:
        if isinstance(element, Action):
            action = f"{action} {element.text}".strip()
            continue
        if not isinstance(element, DialogueBlock):
            continue
        shot = Shot(
            character_id=characters[element.speaker].id,
            text=element.text,
            prompt=prompt_hint(element, action),
            hold_seconds=round(min(MAX_HOLD, max(MIN_HOLD, expected_duration(element.text))), 3),
            name=f"{label}-{len(shots) + 1:02d} {element.speaker}",
            notes=_shot_notes(scene, element),
        )
        shots.append(shot)
        action = ""
    start = len(project.timeline.entries) if options.insert_at is None else options.insert_at
    for i, shot in enumerate(shots):
        edits.append(AddShot(shot, index=start + i))
    return SceneImport(edits=edits, shots=shots, new_characters=new, voices=voice_of, text=f"Import Scene {label}")


def import_scene(
    project: Project,
    scene: Scene,
    options: ImportOptions | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> SceneImport:
    """:func:`build_scene`, then the audio: the recording split across the lines, temp voices for the rest.

    Writes temp-voice files (the project needs a path) but does not change the project:
    push the returned edit (``EditHistory.push`` or the UI's undo stack) to apply it.
    """
    options = options or ImportOptions()
    group = build_scene(project, scene, options)
    if options.recording is not None:
        recording = Path(os.fspath(options.recording))
        spans = split_recording(recording, [s.text for s in group.shots], options.min_silence, options.padding)
        length = probe_audio(recording).duration
        for shot, span in zip(group.shots, spans):
            _set(shot, recording_fields(project, recording, span, length))
    if options.temp_voices:
        speakers = {c.id: c for c in [*project.characters, *group.new_characters]}
        extra = [Character(name=speakers[cid].name, voice=v, id=cid) for cid, v in group.voices.items()]
        for shot, line in render_for_shots(project, group.shots, extra, replace_temp=True, progress=progress):
            _set(shot, temp_voice_fields(project, line))
    return group


def _set(shot: Shot, fields: dict[str, object]) -> None:
    for key, value in fields.items():
        setattr(shot, key, value)
