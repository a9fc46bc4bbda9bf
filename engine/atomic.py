"""Atomic file writes: readers see the old file or the new one, never half of either.

Takes, sidecars, the job journal, project files and the model registry all go through
here: a temp file in the same folder (so the rename cannot cross file systems), fsync,
then ``os.replace``. ``mkstemp`` creates 0600 files; the result gets the permissions an
ordinary file would (an existing file keeps its own).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def file_mode(target: str | os.PathLike[str]) -> int:
    """An existing file's permissions, else 0666 minus the umask (what ``open`` would give)."""
    try:
        return os.stat(target).st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def temp_beside(path: str | os.PathLike[str], prefix: str | None = None, suffix: str | None = None) -> Path:
    """Create an empty temp file next to ``path`` (``.STEM.XXXX.partial.EXT`` by default)."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(
        prefix=prefix if prefix is not None else f".{target.stem}.",
        suffix=suffix if suffix is not None else ".partial" + target.suffix,
        dir=target.parent,
    )
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
