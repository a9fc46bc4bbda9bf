"""Edits made from files the user drops or imports: media items, characters, shots.

Kept free of widgets so the timeline, the media bin and the tests share one rule set:
an image becomes (or finds) a character, an audio file becomes a shot's dialogue.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.media import MediaError, probe_audio
from soul_studio.project.edits import AddCharacter, AddShot, Edit, SetCharacterFields, SetShotFields
from soul_studio.project.edits_extra import AddMediaItems, CompoundEdit
from soul_studio.project.model import Character, MediaItem, Project, Shot
from soul_studio.ui.media_cache import is_audio, is_image


def split_media(paths: list[str | os.PathLike[str]]) -> tuple[list[Path], list[Path]]:
    """(images, audio files) among ``paths``, in order; other files are ignored."""
    images = [Path(p) for p in paths if is_image(p)]
    audio = [Path(p) for p in paths if is_audio(p)]
    return images, audio


def media_item_for(project: Project, path: Path) -> MediaItem | None:
    rel = project.relative(path)
    return next((m for m in project.media if m.path == rel or project.resolve(m.path) == path.resolve()), None)


def import_media_edit(project: Project, paths: list[str | os.PathLike[str]]) -> tuple[Edit | None, list[str]]:
    """An edit adding the new files to the media bin, and the problems found (unreadable audio)."""
    images, audio = split_media(paths)
    items: list[MediaItem] = []
    problems: list[str] = []
    for path in images:
        if media_item_for(project, path) is None:
            items.append(MediaItem(project.relative(path), "image"))
    for path in audio:
        if media_item_for(project, path) is not None:
            continue
        try:
            info = probe_audio(path)
        except MediaError as exc:
            problems.append(str(exc))
            continue
        items.append(MediaItem(project.relative(path), "audio", duration=info.duration))
    return (AddMediaItems(items) if items else None), problems


def character_for_portrait(project: Project, image: Path) -> Character | None:
    target = image.resolve()
    for c in project.characters:
        if c.portrait and project.resolve(c.portrait) == target:
            return c
    return None


def _character_name(project: Project, image: Path) -> str:
    base = image.stem.replace("_", " ").replace("-", " ").strip().title() or "Character"
    name, n = base, 2
    while project.character_by_name(name) is not None:
        name = f"{base} {n}"
        n += 1
    return name


def drop_edit(project: Project, paths: list[str | os.PathLike[str]], index: int | None = None,
              target_shot: str | None = None, frame: int | None = None) -> Edit | None:
    """What dropping ``paths`` on the timeline does, as one undoable edit.

    On an existing shot: an image re-casts it (finding or creating the character), an
    audio file replaces its dialogue. On empty track: one new shot per audio file (or
    one silent shot for an image alone), inserted at ``index``, or inserted on V1 at
    ``frame`` with every unlocked track following (sync lock, as an NLE's insert edit).
    """
    images, audio = split_media(paths)
    if not images and not audio:
        return None
    edits: list[Edit] = []
    media_edit, problems = import_media_edit(project, [*images, *audio])
    if problems and not images and len(problems) == len(audio):
        raise MediaError(None, problems[0])
    if media_edit is not None:
        edits.append(media_edit)
    character: Character | None = None
    if images:
        character = character_for_portrait(project, images[0])
        if character is None:
            character = Character(_character_name(project, images[0]), portrait=project.relative(images[0]),
                                  colour=project.next_character_colour())
            edits.append(AddCharacter(character))
    durations: dict[Path, float] = {}
    for path in audio:
        item = media_item_for(project, path)
        if item is not None and item.duration:
            durations[path] = item.duration
        elif media_edit is not None:
            for m in media_edit.items:  # type: ignore[attr-defined]
                if m.kind == "audio" and project.resolve(m.path) == path.resolve():
                    durations[path] = m.duration or 0.0
    audio = [p for p in audio if durations.get(p)]
    if target_shot is not None and target_shot in project.shots:
        changes: dict[str, object] = {}
        if character is not None:
            changes["character_id"] = character.id
        if audio:
            changes.update(audio=project.relative(audio[0]), audio_in=0.0, audio_out=None,
                           audio_length=durations[audio[0]], temp_audio=False)
        if changes:
            edits.append(SetShotFields(target_shot, changes, text="Replace Shot Media"))
    else:
        if character is None and project.characters:
            character = project.characters[0]
        position = index
        sources: list[Path | None] = list(audio) if audio else [None]
        new: list[Shot] = []
        for path in sources:
            shot = Shot(character_id=character.id if character else None)
            shot.name = f"Shot {len(project.shots) + len(new) + 1}"
            if path is not None:
                shot.audio = project.relative(path)
                shot.audio_length = durations[path]
            new.append(shot)
            if frame is None:
                edits.append(AddShot(shot, index=position))
            if position is not None:
                position += 1
        if frame is not None:
            from soul_studio.project.cutting import insert_many

            edits.append(insert_many(project, new, "V1", frame, text="Insert Media"))
    if not edits:
        return None
    return CompoundEdit(edits, text="Drop Media") if len(edits) > 1 else edits[0]


def portrait_edit(project: Project, character_id: str, image: Path) -> Edit:
    """Give a character a new portrait (dropped on them in the Cast panel)."""
    edits: list[Edit] = []
    media_edit, _ = import_media_edit(project, [image])
    if media_edit is not None:
        edits.append(media_edit)
    edits.append(SetCharacterFields(character_id, {"portrait": project.relative(image)}, text="Set Portrait"))
    return CompoundEdit(edits, text="Set Portrait") if len(edits) > 1 else edits[0]
