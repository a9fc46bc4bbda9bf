"""Putting finished exports in place: never half a file, never an unasked-for overwrite.

Everything is written under a hidden staging folder beside the destination and moved in
with ``os.replace`` once complete; a cancel or an error removes the staging folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

from engine.atomic import fit_name
from soul_studio.export.options import CancelLike, ExportCancelled, ExportError, ProgressCallback
from soul_studio.export.safety import staging_prefix


def check_destination(path: Path, overwrite: bool, what: str = "file") -> None:
    """Raise a clear error when ``path`` exists and overwriting was not asked for."""
    if not path.parent.is_dir():
        raise ExportError(f"folder {path.parent} does not exist", "create it or choose another location")
    if path.exists() and not overwrite:
        raise ExportError(f"{path} already exists", f"choose another name or allow overwriting the {what}")
    if path.exists() and path.is_dir() != (what == "folder"):
        raise ExportError(f"{path} exists and is not a {what}", "choose another name")


class Staging:
    """A temporary folder beside ``destination``; ``commit`` moves entries into place."""

    def __init__(self, destination: Path) -> None:
        self.destination = destination
        self.folder = Path(tempfile.mkdtemp(prefix=f"{staging_prefix(destination.name)}{os.getpid()}-", suffix=".partial",
                                            dir=destination.parent))

    def path(self, name: str) -> Path:
        return self.folder / name

    def commit(self, staged: Path, target: Path) -> None:
        """Move ``staged`` onto ``target``, replacing an existing file or folder."""
        if target.is_dir() and not target.is_symlink():
            old = target.with_name(f".{fit_name(target.name, 48)}.old-{os.getpid()}-{threading.get_ident()}")
            os.replace(target, old)
            os.replace(staged, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staged, target)

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class Meter:
    """Counts frames of work, reports progress at a sane rate and honours cancel."""

    def __init__(self, total: int, progress: ProgressCallback | None, cancel: CancelLike | None) -> None:
        self.total = max(1, total)
        self.done = 0
        self.progress = progress
        self.cancel = cancel
        self._last = 0.0
        self.message = ""

    def check(self) -> None:
        if self.cancel is not None and self.cancel.cancelled:
            raise ExportCancelled()

    def stage(self, message: str) -> None:
        self.message = message
        self.check()
        self._report(force=True)

    def step(self, frames: int = 1) -> None:
        self.done += frames
        self.check()
        self._report()

    def finish(self, message: str = "done") -> None:
        self.done = self.total
        self.message = message
        self._report(force=True)

    def _report(self, force: bool = False) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        if force or now - self._last >= 0.1:
            self._last = now
            self.progress(min(1.0, self.done / self.total), self.message)
