"""Reading and writing .soulproj files safely.

- Saves are atomic: temp file in the same folder, fsync, rename. A crash mid-save
  leaves the previous file intact.
- The previous version goes to ``.backups/NAME.STAMP.soulproj`` first, written atomically
  and named after the project file, so two projects in one folder never share backups;
  the last ``keep`` saves are kept. A backup that does not load is never offered as the
  last good save.
- Autosave writes ``.NAME.soulproj.autosave`` beside the project; opening offers to
  recover it when it is newer than the project file. :func:`archive_autosave` moves one
  into the backups instead of deleting it.
- A corrupt or future-version file raises :class:`ProjectFileError` and is never written;
  so does a file whose values are out of range (the field is named) or a duplicate id.
- A save that fails leaves the previous file (and the open project) as it was;
  :func:`write_recovery` puts the unsaved state in a recovery file beside it, or in the
  user's data folder when the project's folder cannot be written, and says where.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine import atomic
from engine.limits import special_file_problem
from soul_studio.project.errors import ProjectFileError
from soul_studio.project.migrations import SCHEMA_VERSION, migrate, schema_version_of
from soul_studio.project.model import Project
from soul_studio.project.relocate import relocate, relocated
from soul_studio.project.serialize import FORMAT_NAME, project_from_dict, project_to_dict
from soul_studio.project.validate import InvalidField, validate_project_dict

PROJECT_SUFFIX = ".soulproj"
BACKUP_FOLDER = ".backups"
DEFAULT_BACKUPS = 10
MAX_PROJECT_BYTES = 256 * 1024 * 1024
_STAMP = r"\d{8}T\d{12}"


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the new one, never half."""
    target = Path(path)
    atomic.write_atomic(target, data, prefix=f".{target.name}.", suffix=".tmp", sync_dir=True)


def autosave_path(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    return p.with_name(f".{atomic.fit_name(p.name, len('..autosave'))}.autosave")


def backup_folder(path: str | os.PathLike[str]) -> Path:
    return Path(path).parent / BACKUP_FOLDER


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")


def _stamp_tail(kind: str) -> str:
    return f".{kind}{'-' if kind else ''}{_stamp()}{PROJECT_SUFFIX}"


def _stamped_stem(stem: str, kind: str) -> str:
    """The stem as a stamped name keeps it (cut to leave room for the tail; stamps have one length)."""
    return atomic.fit_name(stem, len(_stamp_tail(kind).encode()))


def _stamped(stem: str, kind: str) -> str:
    """``STEM.KIND-STAMP.soulproj`` (``KIND`` empty: ``STEM.STAMP.soulproj``), short enough for any stem."""
    return _stamped_stem(stem, kind) + _stamp_tail(kind)


def list_backups(path: str | os.PathLike[str]) -> list[Path]:
    """Backups of ``path`` (and of no other project in its folder), oldest first."""
    p = Path(path)
    folder = backup_folder(p)
    if not folder.is_dir():
        return []
    pattern = re.compile(re.escape(_stamped_stem(p.stem, "")) + r"\." + _STAMP + re.escape(PROJECT_SUFFIX))
    return sorted(f for f in folder.iterdir() if pattern.fullmatch(f.name))


def backup_loads(backup: Path) -> bool:
    """True when ``backup`` is a project this version can open."""
    try:
        data = _read_json(backup, hint=False)
        version = schema_version_of(data)
        if version > SCHEMA_VERSION:
            return False
        data, _ = migrate(data)
        validate_project_dict(data)
        project_from_dict(data)
    except (ProjectFileError, KeyError, TypeError, ValueError, AttributeError, OverflowError):
        return False
    return True


def last_good_backup(path: str | os.PathLike[str]) -> Path | None:
    """The newest backup of ``path`` that loads, or None."""
    for backup in reversed(list_backups(path)):
        if backup_loads(backup):
            return backup
    return None


def _encode(project: Project, ascii_only: bool = False) -> bytes:
    data = project_to_dict(project)
    where = project.path or "<unsaved>"
    try:
        text = json.dumps(data, indent=2, ensure_ascii=ascii_only, allow_nan=False) + "\n"
    except ValueError:
        field_name = _find_field(data, "", lambda v: isinstance(v, float) and not math.isfinite(v))
        raise ProjectFileError(where, f"{field_name or 'a number'} is not a finite number",
                               "set it to a real value and save again") from None
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        field_name = _find_field(data, "", _not_utf8) or "a text field"
        raise ProjectFileError(where, f"{field_name} holds a broken character (a lone surrogate)",
                               "retype that text or rename the file it names") from None


def _not_utf8(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _find_field(value: Any, where: str, bad: Any) -> str:
    """The field path (``shots[0].text``) of the first value ``bad`` says cannot be written."""
    if bad(value):
        return where or "a field"
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        sub = f"{where}[{key}]" if isinstance(key, int) else (f"{where}.{key}" if where else str(key))
        found = _find_field(item, sub, bad)
        if found:
            return found
    return ""


def _rotate_backups(path: Path, keep: int) -> None:
    """Copy the current save into the backups atomically, verified, then drop the oldest."""
    if keep <= 0 or not path.exists():
        return
    folder = backup_folder(path)
    if folder.exists() and not folder.is_dir():
        raise ProjectFileError(path, f"{folder} is a file, so no backup can be kept",
                               "move that file away and save again")
    folder.mkdir(exist_ok=True)
    current = path.read_bytes()
    target = folder / _stamped(path.stem, "")
    write_atomic(target, current)
    if target.read_bytes() != current:
        target.unlink(missing_ok=True)
        raise OSError(f"the backup {target} did not read back as written")
    backups = list_backups(path)
    for old in backups[: max(0, len(backups) - keep)]:
        old.unlink(missing_ok=True)


def save_project(project: Project, path: str | os.PathLike[str] | None = None, keep_backups: int = DEFAULT_BACKUPS,
                 clear_autosave: bool = True) -> Path:
    """Save atomically (backing up the previous save); returns the path written.

    Saving to a new path re-bases the project's relative media paths onto the new folder.
    ``clear_autosave=False`` leaves an autosave beside the project alone (headless commands).
    """
    target = Path(path) if path is not None else project.path
    if target is None:
        raise ProjectFileError("<unsaved>", "the project has no file yet", "use Save As")
    target = target.resolve()
    if target.suffix != PROJECT_SUFFIX:
        target = target.with_suffix(PROJECT_SUFFIX)
    if not target.parent.is_dir():
        raise ProjectFileError(target, "folder does not exist")
    undo = relocate(project, target)
    try:
        data = _encode(project)
        _rotate_backups(target, keep_backups)
        write_atomic(target, data)
    except ProjectFileError:
        undo()  # the open project still names the file it was loaded from, paths and all
        raise
    except OSError as exc:
        undo()
        raise ProjectFileError(target, f"cannot save ({exc.strerror or exc})", _write_hint(exc)) from exc
    if clear_autosave:
        autosave_path(target).unlink(missing_ok=True)
    return target


def recovery_path(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    return p.with_name(_stamped(p.stem, "recovered"))


def _write_hint(exc: OSError) -> str:
    if isinstance(exc, PermissionError) or exc.errno == errno.EROFS:  # EACCES, EPERM (immutable), EROFS
        return "the folder is read-only: save the project somewhere you can write"
    if exc.errno == errno.ENAMETOOLONG:
        return "the name is too long for the file system: choose a shorter one"
    return "free disk space or choose another folder"


def write_recovery(project: Project, fallback: Path | None = None) -> Path:
    """Write the unsaved state beside the project or, failing that, in ``fallback`` (the
    user's data folder), then the temp folder; returns where it went.

    The project file itself is not touched; open the returned file to get the work back.
    A copy written in another folder has its media paths rebased so it still finds them.
    """
    target = project.path or Path.cwd() / f"{_file_stem(project.name)}{PROJECT_SUFFIX}"
    name = recovery_path(target).name
    candidates = [target.parent, *([fallback] if fallback is not None else []), Path(tempfile.gettempdir())]
    last: OSError | None = None
    for folder in candidates:
        candidate = folder / name
        with relocated(project, candidate):
            data = _encode(project, ascii_only=True)  # escapes what UTF-8 cannot hold: nothing is dropped
        try:
            folder.mkdir(parents=True, exist_ok=True)
            write_atomic(candidate, data)
            return candidate
        except OSError as exc:
            last = exc
    raise ProjectFileError(target, f"cannot write a recovery file either ({last})",
                           _write_hint(last) if last is not None else "free disk space")


def recovery_note(where: Path, project_path: Path | None, fallback: Path | None) -> str:
    """Why a recovery file is where it is, when that is not beside the project ("" when it is)."""
    if project_path is not None and where.parent == project_path.parent:
        return ""
    if fallback is not None and where.parent == fallback:
        return " (the project's folder cannot be written, so the recovery file is in your data folder)"
    return (" (neither the project's folder nor your data folder can be written, so the recovery file is in the "
            "temporary folder, which may be emptied at the next restart: copy it somewhere safe now)")


def _file_stem(name: str) -> str:
    """A project name as one file name: no folder separators, NUL or control characters."""
    cleaned = re.sub(r"[\x00-\x1f\x7f/\\]", "_", name or "").strip()
    return cleaned if cleaned.strip(".") else "Untitled"


def archive_autosave(path: str | os.PathLike[str]) -> Path | None:
    """Move the project's autosave into its backups folder (never delete it); returns where it went.

    Used when the user declines recovery or a headless command finds one: the work stays
    recoverable as ``.backups/NAME.autosave-STAMP.soulproj`` (a project file the studio
    opens; backup rotation never removes it). Raises :class:`ProjectFileError`, leaving
    the autosave in place, when it cannot be moved (a read-only folder).
    """
    p = Path(path)
    auto = autosave_path(p)
    if not auto.exists():
        return None
    folder = backup_folder(p)
    if folder.exists() and not folder.is_dir():
        folder = p.parent
    target = folder / _stamped(p.stem, "autosave")
    try:
        folder.mkdir(exist_ok=True)
        os.replace(auto, target)
    except OSError as exc:
        raise ProjectFileError(auto, f"the autosave could not be moved into {folder} ({exc.strerror or exc}); "
                               "it was left where it is", "copy it somewhere safe before saving") from exc
    return target


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


def _read_json(path: Path, hint: bool = True) -> dict[str, Any]:
    def backup_hint() -> str:
        return _backup_hint(path) if hint else ""

    size = len(path.name.encode("utf-8", "surrogateescape"))
    if size > atomic.NAME_MAX:
        raise ProjectFileError(path, f"project file not found (its name is {size} bytes, more than the "
                               f"{atomic.NAME_MAX} a file name may have)", "check the path")
    if not path.exists():
        raise ProjectFileError(path, "project file not found")
    if path.is_dir():
        raise ProjectFileError(path, "expected a .soulproj file, found a folder")
    problem = special_file_problem(path)
    if problem:
        raise ProjectFileError(path, f"the project path {problem}", "open a .soulproj file")
    if path.stat().st_size > MAX_PROJECT_BYTES:
        raise ProjectFileError(path, f"not a Soul Studio project (larger than {MAX_PROJECT_BYTES >> 20} MiB)")
    raw = path.read_bytes()
    if not raw.strip():
        raise ProjectFileError(path, "project file is empty", backup_hint())
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ProjectFileError(path, "not a Soul Studio project (binary data)", backup_hint()) from exc
    except (json.JSONDecodeError, RecursionError) as exc:
        where = f" at line {exc.lineno}, column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise ProjectFileError(path, f"project file is corrupt (invalid JSON{where})", backup_hint()) from exc
    if not isinstance(data, dict):
        raise ProjectFileError(path, "not a Soul Studio project (top level is not an object)")
    return data


def _backup_hint(path: Path) -> str:
    good = last_good_backup(path)
    if good is not None:
        return f"the last good save is in {good}"
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
    raw_version = data.get("schema_version", data.get("version", 0))
    if isinstance(raw_version, bool) or not isinstance(raw_version, int) or raw_version < 0:
        raise ProjectFileError(source, f"schema_version is {raw_version!r}: expected a whole number",
                               _backup_hint(target))
    version = schema_version_of(data)
    if version > SCHEMA_VERSION:
        raise ProjectFileError(
            source,
            f"saved by a newer Soul Studio (schema {version}; this version reads up to {SCHEMA_VERSION})",
            "update Soul Studio to open it; the file was left untouched",
        )
    try:
        data, _ = migrate(data)
        validate_project_dict(data)
        project = project_from_dict(data)
    except ProjectFileError:
        raise
    except InvalidField as exc:
        raise ProjectFileError(source, f"project file is invalid: {exc}", _backup_hint(target)) from exc
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
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
    refs = [(f"characters[{i}].portrait", c.portrait) for i, c in enumerate(project.characters)]
    refs += [(f"shots[{i}].audio", s.audio) for i, s in enumerate(project.shots.values())]
    for field_name, ref in refs:
        resolved = project.resolve(ref)
        problem = special_file_problem(resolved) if resolved is not None else ""
        if problem:
            raise ProjectFileError(source, f"{field_name} {ref!r} {problem}", "relink it to a media file")


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
