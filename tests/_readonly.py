"""Folders that are really unwritable, also for a suite that runs as root.

``chmod 0o555`` stops an ordinary user from creating files in a folder but not root,
who bypasses permission bits; the immutable attribute (``chattr +i``) stops root too
(EPERM), on file systems that have it (ext4, xfs, btrfs) and with CAP_LINUX_IMMUTABLE.
:class:`ReadOnlyFolders` probes which of the two works here, applies it, and always
undoes it in teardown so pytest can remove its temporary folders.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest


def _creates(folder: Path) -> bool:
    """True when a new file can be created in ``folder``."""
    probe = folder / ".probe"
    try:
        probe.write_bytes(b"")
    except OSError:
        return False
    probe.unlink()
    return True


def _chattr(flag: str, folder: Path) -> bool:
    tool = shutil.which("chattr")
    if tool is None:
        return False
    done = subprocess.run([tool, flag, str(folder)], capture_output=True, timeout=10)
    return done.returncode == 0


class ReadOnlyFolders:
    """Makes folders unwritable with the first method that works here; :meth:`undo_all` restores them."""

    def __init__(self, scratch: Path) -> None:
        self.method = self._probe(scratch)
        self._made: list[tuple[Path, int]] = []

    @staticmethod
    def _probe(scratch: Path) -> str:
        folder = Path(tempfile.mkdtemp(prefix="ro-probe-", dir=scratch))
        try:
            os.chmod(folder, 0o555)
            if not _creates(folder):
                return "chmod"
            os.chmod(folder, 0o755)
            if _chattr("+i", folder):
                try:
                    if not _creates(folder):
                        return "chattr"
                finally:
                    _chattr("-i", folder)
        finally:
            os.chmod(folder, 0o755)
            shutil.rmtree(folder, ignore_errors=True)
        return ""

    def __call__(self, folder: Path) -> Path:
        """Make ``folder`` unwritable (no file can be created, renamed or removed in it)."""
        if not self.method:
            pytest.skip("no way to make a folder unwritable here: running as root, and `chattr +i` is missing "
                        "or refused on this file system (install e2fsprogs; needs ext4/xfs/btrfs and "
                        "CAP_LINUX_IMMUTABLE)")
        self._made.append((folder, stat.S_IMODE(folder.stat().st_mode)))
        if self.method == "chmod":
            os.chmod(folder, 0o555)
        elif not _chattr("+i", folder):
            raise RuntimeError(f"chattr +i {folder} failed although it worked on the probe folder")
        assert not _creates(folder), f"{folder} is still writable after {self.method}"
        return folder

    def restore(self, folder: Path) -> None:
        """Make ``folder`` writable again (before the test ends, to check what comes next)."""
        for i, (made, mode) in enumerate(self._made):
            if made == folder:
                self._undo(made, mode)
                del self._made[i]
                return

    def _undo(self, folder: Path, mode: int) -> None:
        if self.method == "chattr":
            _chattr("-i", folder)
        os.chmod(folder, mode)

    def undo_all(self) -> None:
        while self._made:
            self._undo(*self._made.pop())
