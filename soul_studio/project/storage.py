"""Reading and writing .soulproj files safely.

- Saves are atomic: temp file in the same folder, fsync, rename. A crash mid-save
  leaves the previous file intact.
- The previous version goes to ``.backups/`` first; the last ``keep`` saves are kept.
- Autosave writes ``.NAME.soulproj.autosave`` beside the project; opening offers to
  recover it when it is newer than the project file.
- A corrupt or future-version file raises :class:`ProjectFileError` and is never written.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine import atomic
from soul_studio.project.errors import ProjectFileError
from soul_studio.project.migrations import SCHEMA_VERSION, migrate, schema_version_of
from soul_studio.project.model import Project
from soul_studio.project.serialize import FORMAT_NAME, project_from_dict, project_to_dict

PROJECT_SUFFIX = ".soulproj"
BACKUP_FOLDER = ".backups"
DEFAULT_BACKUPS = 10


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the new one, never half."""
    target = Path(path)
    atomic.write_atomic(target, data, prefix=f".{target.name}.", suffix=".tmp", sync_dir=True)


def autosave_path(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    return p.with_name(f".{p.name}.autosave")


def backup_folder(path: str | os.PathLike[str]) -> Path:
    return Path(path).parent / BACKUP_FOLDER


def list_backups(path: str | os.PathLike[str]) -> list[Path]:
    """Backups of ``path``, oldest first."""
    p = Path(path)
    folder = backup_folder(p)
    if not folder.is_dir():
        return []
    return sorted(folder.glob(f"{p.stem}.*{PROJECT_SUFFIX}"))


def _encode(project: Project) -> bytes:
    return (json.dumps(project_to_dict(project), indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _rotate_backups(path: Path, keep: int) -> None:
    if keep <= 0 or not path.exists():
        return
    folder = backup_folder(path)
    folder.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    shutil.copy2(path, folder / f"{path.stem}.{stamp}{PROJECT_SUFFIX}")
    backups = list_backups(path)
    for old in backups[: max(0, len(backups) - keep)]:
        old.unlink(missing_ok=True)


def save_project(project: Project, path: str | os.PathLike[str] | None = None, keep_backups: int = DEFAULT_BACKUPS) -> Path:
    """Save atomically (backing up the previous save); returns the path written.

    Saving to a new path re-bases the project's relative media paths onto the new folder.
    """
    target = Path(path) if path is not None else project.path
    if target is None:
        raise ProjectFileError("<unsaved>", "the project has no file yet", "use Save As")
    target = target.resolve()
    if target.suffix != PROJECT_SUFFIX:
        target = target.with_suffix(PROJECT_SUFFIX)
    if not target.parent.is_dir():
        raise ProjectFileError(target, "folder does not exist")
    if project.path is not None and target != project.path.resolve():
        _rebase_paths(project, target.parent)
    project.path = target
    data = _encode(project)
    try:
        _rotate_backups(target, keep_backups)
        write_atomic(target, data)
    except OSError as exc:
        raise ProjectFileError(target, f"cannot save ({exc.strerror or exc})", "free disk space or choose another folder") from exc
    autosave_path(target).unlink(missing_ok=True)
    return target


def _rebase_paths(project: Project, new_folder: Path) -> None:
    """Rewrite relative media paths so they still point at the same files from ``new_folder``."""
    old = project.folder

    def move(rel: str | None) -> str | None:
        if rel is None or old is None or Path(rel).is_absolute():
            return rel
        absolute = (old / rel).resolve()
        try:
            return Path(os.path.relpath(absolute, new_folder.resolve())).as_posix()
        except ValueError:
            return absolute.as_posix()

    for c in project.characters:
        c.portrait = move(c.portrait)
    for s in project.shots.values():
        s.audio = move(s.audio)
        s.partner_audio = move(s.partner_audio)
        s.two_shot_image = move(s.two_shot_image)
        for t in s.takes:
            t.file = move(t.file) or t.file
    for m in project.media:
        m.path = move(m.path) or m.path


def write_autosave(project: Project) -> Path | None:
    """Write the autosave file for a saved project; untitled projects are not autosaved here."""
    if project.path is None:
        return None
    target = autosave_path(project.path)
    try:
        write_atomic(target, _encode(project))
    except OSError as exc:
        raise ProjectFileError(target, f"cannot autosave ({exc.strerror or exc})", "free disk space") from exc
    return target


def has_newer_autosave(path: str | os.PathLike[str]) -> bool:
    """True when an autosave exists that is newer than the project file (a crash happened)."""
    p = Path(path)
    auto = autosave_path(p)
    if not auto.exists():
        return False
    if not p.exists():
        return True
    return auto.stat().st_mtime >= p.stat().st_mtime


def discard_autosave(path: str | os.PathLike[str]) -> None:
    autosave_path(path).unlink(missing_ok=True)


def _read_json(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ProjectFileError(path, "project file not found")
    if path.is_dir():
        raise ProjectFileError(path, "expected a .soulproj file, found a folder")
    raw = path.read_bytes()
    if not raw.strip():
        raise ProjectFileError(path, "project file is empty", _backup_hint(path))
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ProjectFileError(path, "not a Soul Studio project (binary data)", _backup_hint(path)) from exc
    except json.JSONDecodeError as exc:
        raise ProjectFileError(
            path, f"project file is corrupt (invalid JSON at line {exc.lineno}, column {exc.colno})", _backup_hint(path)
        ) from exc
    if not isinstance(data, dict):
        raise ProjectFileError(path, "not a Soul Studio project (top level is not an object)")
    return data


def _backup_hint(path: Path) -> str:
    backups = list_backups(path)
    if backups:
        return f"the last good save is in {backups[-1]}"
    auto = autosave_path(path)
    if auto.exists():
        return f"an autosave is in {auto}"
    return "restore it from your backups"


def load_project(path: str | os.PathLike[str], from_autosave: bool = False) -> Project:
    """Open a project (or its autosave). Never writes anything."""
    target = Path(path).resolve()
    source = autosave_path(target) if from_autosave else target
    data = _read_json(source)
    fmt = data.get("format")
    if fmt is not None and fmt != FORMAT_NAME:
        raise ProjectFileError(source, f"not a Soul Studio project (format {fmt!r})")
    try:
        version = schema_version_of(data)
    except (TypeError, ValueError) as exc:
        raise ProjectFileError(source, "schema_version is not a number") from exc
    if version > SCHEMA_VERSION:
        raise ProjectFileError(
            source,
            f"saved by a newer Soul Studio (schema {version}; this version reads up to {SCHEMA_VERSION})",
            "update Soul Studio to open it; the file was left untouched",
        )
    try:
        data, _ = migrate(data)
        project = project_from_dict(data)
    except ProjectFileError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ProjectFileError(source, f"project file is invalid ({exc.__class__.__name__}: {exc})", _backup_hint(target)) from exc
    project.path = target
    _check_references(project, source)
    return project


def _check_references(project: Project, source: Path) -> None:
    missing = [e.shot_id for e in project.timeline.entries if e.shot_id not in project.shots]
    if missing:
        raise ProjectFileError(source, f"timeline refers to unknown shots: {', '.join(missing)}", _backup_hint(source))
    ids = {c.id for c in project.characters}
    for shot in project.shots.values():
        if shot.character_id is not None and shot.character_id not in ids:
            raise ProjectFileError(source, f"shot {shot.id} refers to unknown character {shot.character_id}")


def missing_media(project: Project) -> list[Path]:
    """Media files the project refers to that are not on disk (for a relink prompt)."""
    paths: list[Path] = []
    for c in project.characters:
        p = project.resolve(c.portrait)
        if p is not None and not p.exists():
            paths.append(p)
    for s in project.shots.values():
        for rel in (s.audio, s.partner_audio, s.two_shot_image):
            p = project.resolve(rel)
            if p is not None and not p.exists():
                paths.append(p)
    return paths
