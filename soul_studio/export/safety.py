"""Exports never touch what the user owns.

An export may write only its own outputs. Before anything is written, :func:`claim_output`
refuses a destination that is, contains or lies inside what the project owns: the
``.soulproj`` file, its autosave and lock, the ``takes/``, ``media/`` and ``.backups/``
folders, and every file the project refers to (portraits, dialogue, takes, bin media).

``overwrite`` replaces only an earlier export of the same format, recognised by the
marker Soul Studio wrote beside it (``.NAME.soul-export.json``, for files and folders
alike, so a delivered folder holds only what was exported), and only when the file still matches that marker. The earlier export is moved
into ``.soul-trash/`` beside it, never deleted; anything else is a clear refusal, and
so is a folder nothing can be written in (checked before any work starts).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.atomic import NAME_MAX, fit_name
from soul_studio.export.options import ExportError
from soul_studio.project.lock import lock_path
from soul_studio.project.model import Project
from soul_studio.project.storage import autosave_path

MARKER_SUFFIX = ".soul-export.json"
TRASH_FOLDER = ".soul-trash"
# Earlier exports of one name kept in the trash; older ones (our own outputs) are pruned.
TRASH_KEEP = 3
_OWNED_FOLDERS = ("takes", "media", ".backups")
PID_ROOM = 10  # digits kept for a process id in staging names (whatever this process's own is)


def marker_path(path: Path, is_folder: bool) -> Path:
    """Where the marker of an export at ``path`` lives."""
    return path.with_name(f".{fit_name(path.name, 1 + len(MARKER_SUFFIX))}{MARKER_SUFFIX}")


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def owned_paths(project: Project) -> tuple[list[Path], list[Path]]:
    """(files, folders) that belong to the user: an export may not be, contain or enter them."""
    files: list[Path] = []
    folders: list[Path] = []
    if project.path is not None:
        p = project.path
        files += [p, autosave_path(p), lock_path(p)]
    folder = project.folder
    if folder is not None:
        folders += [folder / name for name in _OWNED_FOLDERS]
    refs: list[str | None] = [c.portrait for c in project.characters]
    for shot in project.shots.values():
        refs.append(shot.audio)
        for take in shot.takes:
            refs += [take.file, str(Path(take.file).with_suffix(".json"))]
    refs += [m.path for m in project.media]
    takes = {take.file for shot in project.shots.values() for take in shot.takes}
    root = _real(folder) if folder is not None else None
    for ref in refs:
        resolved = project.resolve(ref)
        if resolved is None:
            continue
        real = _real(resolved)
        files.append(real)
        parent = real.parent
        if root is not None and parent != root and root in parent.parents:
            folders.append(parent)  # a media folder inside the project: the export may not enter it
        elif ref in takes and parent != root:
            folders.append(parent)  # the takes folder of a copy saved elsewhere (a recovery file) is its own too
    return [_real(f) for f in files], [_real(d) for d in folders]


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def check_not_owned(project: Project, path: Path) -> None:
    """Raise :class:`ExportError` when writing ``path`` could replace or remove what the user owns."""
    target = _real(path)
    files, folders = owned_paths(project)
    root = _real(project.folder) if project.folder is not None else None
    if root is not None and _inside(root, target):
        raise ExportError(f"{path} is the project's folder or holds it; an export there could replace the project",
                          "export into a new file or folder beside the project")
    for owned in files:
        if target == owned or _same_file(target, owned):
            raise ExportError(f"{path} is a file the project uses ({owned.name}); exports never replace it",
                              "choose another name for the export")
        if target in owned.parents:
            raise ExportError(f"{path} holds {owned}, which the project uses; exports never replace it",
                              "export into a new folder")
    for owned_dir in folders:
        if _inside(target, owned_dir) or target in owned_dir.parents:
            raise ExportError(f"{path} is inside the project's {owned_dir.name}/ folder, which holds its own files",
                              "export beside the project, not into its takes, media or backups")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _fingerprint(path: Path, is_folder: bool) -> dict[str, Any]:
    if is_folder:
        return {"files": sorted(p.name for p in path.iterdir())}
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def read_marker(path: Path, is_folder: bool) -> dict[str, Any] | None:
    try:
        data = json.loads(marker_path(path, is_folder).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _is_previous_export(path: Path, kind: str, is_folder: bool) -> str:
    """Empty when ``path`` is an untouched earlier export of ``kind``; else why it is not."""
    if path.is_symlink():
        return "it is a symbolic link"
    if path.is_dir() != is_folder:
        return f"it is a {'folder' if path.is_dir() else 'file'}"
    marker = read_marker(path, is_folder)
    if marker is None:
        return "Soul Studio did not write it"
    if marker.get("kind") != kind:
        return f"it is a {marker.get('kind')} export, not {kind}"
    now = _fingerprint(path, is_folder)
    if is_folder:
        extra = sorted(set(now["files"]) - set(marker.get("files") or []))
        if extra:
            return f"it now also holds {', '.join(extra[:3])}"
    elif marker.get("size") != now["size"] or marker.get("mtime_ns") != now["mtime_ns"]:
        return "it was changed after Soul Studio wrote it"
    return ""


@dataclass
class OutputClaim:
    """A checked destination: :meth:`install` puts a finished staged output there."""

    path: Path
    kind: str
    is_folder: bool
    retired: list[Path] = field(default_factory=list)

    def install(self, staged: Path) -> None:
        """Move an earlier export to the trash, move ``staged`` into place and mark it ours."""
        if self.path.exists() or self.path.is_symlink():
            reason = _is_previous_export(self.path, self.kind, self.is_folder)
            if reason:  # it changed while the export ran
                raise ExportError(f"{self.path} cannot be replaced: {reason}", "choose another name")
            self.retired.append(retire(self.path, self.is_folder))
        os.replace(staged, self.path)
        write_marker(self.path, self.kind, self.is_folder)


def write_marker(path: Path, kind: str, is_folder: bool) -> None:
    from engine.atomic import write_atomic

    data = {"kind": kind, "written": datetime.now(UTC).isoformat(), **_fingerprint(path, is_folder)}
    write_atomic(marker_path(path, is_folder), (json.dumps(data, indent=2) + "\n").encode("utf-8"))


def retire(path: Path, is_folder: bool) -> Path:
    """Move an earlier export (and its marker) into ``.soul-trash/NAME.STAMP/``; returns that folder."""
    trash = path.parent / TRASH_FOLDER
    trash.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    slot = trash / f"{_trash_name(path.name)}.{stamp}"
    slot.mkdir()
    marker = marker_path(path, is_folder)
    os.replace(path, slot / path.name)
    if marker.exists():
        os.replace(marker, slot / marker.name)
    _prune_trash(trash, _trash_name(path.name))
    return slot


def _trash_name(name: str) -> str:
    return fit_name(name, len(".20261201T000000000000"))


def staging_prefix(name: str) -> str:
    """``.NAME.`` of the staging folders beside an export named ``name`` (``.NAME.PID-XXXXXXXX.partial``)."""
    return f".{fit_name(name, len('..') + PID_ROOM + len('-XXXXXXXX.partial'))}."


def _prune_trash(trash: Path, name: str) -> None:
    slots = sorted(p for p in trash.iterdir() if p.is_dir() and p.name.startswith(name + ".")
                   and p.name[len(name) + 1:].replace("T", "").isdigit())
    for old in slots[: max(0, len(slots) - TRASH_KEEP)]:
        shutil.rmtree(old, ignore_errors=True)


def claim_output(project: Project, path: Path, kind: str, overwrite: bool, is_folder: bool) -> OutputClaim:
    """Check ``path`` before an export of ``kind`` starts; raises :class:`ExportError` with the reason."""
    size = len(path.name.encode("utf-8", "surrogateescape"))
    if size > NAME_MAX:
        raise ExportError(f"the export's name is {size} bytes long, more than the {NAME_MAX} a file name may have",
                          "choose a shorter name")
    if not path.parent.is_dir():
        raise ExportError(f"folder {path.parent} does not exist", "create it or choose another location")
    check_not_owned(project, path)
    check_writable(path.parent)
    if path.exists() or path.is_symlink():
        what = "folder" if is_folder else "file"
        if not overwrite:
            raise ExportError(f"{path} already exists", f"choose another name or allow overwriting the {what}")
        reason = _is_previous_export(path, kind, is_folder)
        if reason:
            raise ExportError(f"{path} already exists and is not an earlier {kind} export ({reason})",
                              "overwrite replaces only Soul Studio's own exports; choose another name")
    return OutputClaim(path, kind, is_folder)


def check_writable(folder: Path) -> None:
    """Refuse, before any work, a folder where nothing can be created (read-only, immutable, no permission).

    Tried for real with a probe file: permission bits do not tell for root, an immutable
    folder or a read-only mount.
    """
    try:
        fd, probe = tempfile.mkstemp(prefix=".soul-export-probe-", dir=folder)
    except OSError as exc:
        raise ExportError(f"{folder} cannot be written ({exc.strerror or exc})",
                          "choose another folder for the export") from exc
    os.close(fd)
    Path(probe).unlink(missing_ok=True)


def sweep_staging(path: Path) -> list[Path]:
    """Remove staging folders a killed export left beside ``path`` (``.NAME.PID-XXXX.partial``).

    Only folders whose process is gone are removed, so a running export keeps its own.
    """
    from soul_studio.project.lock import pid_alive

    removed: list[Path] = []
    if not path.parent.is_dir():
        return removed
    prefix = staging_prefix(path.name)
    for entry in path.parent.iterdir():
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(".partial") and entry.is_dir()):
            continue
        pid = name[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed
