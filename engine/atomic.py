"""Atomic file writes: readers see the old file or the new one, never half of either.

Takes, sidecars, the job journal, project files and the model registry all go through
here: a temp file in the same folder (so the rename cannot cross file systems), fsync,
then ``os.replace``. ``mkstemp`` creates 0600 files; the result gets the permissions an
ordinary file would (an existing file keeps its own).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

# The longest file name (in bytes) Linux, macOS and Windows file systems take.
NAME_MAX = 255
_RANDOM = 8  # characters mkstemp adds


def file_mode(target: str | os.PathLike[str]) -> int:
    """An existing file's permissions, else 0666 minus the umask (what ``open`` would give)."""
    try:
        return os.stat(target).st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def fit_name(stem: str, extra: int) -> str:
    """``stem``, or a shortened form of it, so that ``extra`` more bytes still make a legal name.

    A project may be named right up to the limit, while its backups, autosave, lock and
    temp files add a few dozen bytes: those names keep the start of the stem and a short
    hash of all of it (``Long name…~1a2b3c4d``), so they stay distinct and predictable.
    """
    raw = stem.encode("utf-8", "surrogateescape")
    if len(raw) + extra <= NAME_MAX:
        return stem
    tag = "~" + hashlib.sha256(raw).hexdigest()[:8]
    keep = max(0, NAME_MAX - extra - len(tag))
    return raw[:keep].decode("utf-8", "ignore") + tag


def temp_prefix(prefix: str, suffix: str) -> str:
    """Shorten a temp file's ``prefix`` (its leading dot kept) so prefix + random + suffix fits."""
    extra = len(suffix.encode("utf-8", "surrogateescape")) + _RANDOM
    if len(prefix.encode("utf-8", "surrogateescape")) + extra <= NAME_MAX:
        return prefix
    dot = "." if prefix.startswith(".") else ""
    return dot + fit_name(prefix[len(dot):].rstrip("."), extra + len(dot) + 1) + "."


def temp_beside(path: str | os.PathLike[str], prefix: str | None = None, suffix: str | None = None) -> Path:
    """Create an empty temp file next to ``path`` (``.STEM.XXXX.partial.EXT`` by default)."""
    target = Path(path)
    suffix = suffix if suffix is not None else ".partial" + target.suffix
    prefix = prefix if prefix is not None else f".{target.stem}."
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(prefix, suffix), suffix=suffix, dir=target.parent)
    try:
        os.fchmod(fd, file_mode(target))
    finally:
        os.close(fd)
    return Path(tmp)


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """Make a rename in ``folder`` durable; a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(
    path: str | os.PathLike[str],
    data: bytes,
    *,
    prefix: str | None = None,
    suffix: str | None = None,
    sync_dir: bool = False,
) -> None:
    """Write ``data`` to ``path`` atomically; ``sync_dir`` also makes the rename durable."""
    target = Path(path)
    tmp = temp_beside(target, prefix, suffix)
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if sync_dir:
        fsync_dir(target.parent)
