"""One writer per project: an advisory lock file beside the ``.soulproj``.

``.NAME.soulproj.lock`` holds who writes the project (pid, host, command, since when)
and is held with ``flock`` while they do. The kernel drops that lock when the writer
dies, however it dies, so a lock left behind by a killed process is taken over at
once; where ``flock`` is not available the recorded pid is checked instead (dead on this
host means stale). The studio, ``render`` and ``export`` take it; a second writer gets a
:class:`ProjectLocked` error that says who holds the project.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import stat
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from engine.atomic import fit_name
from soul_studio.project.errors import ProjectError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


# How long to wait for the children of a dead writer (its engine) to finish and let go.
ORPHAN_GRACE_S = 15.0


class ProjectLocked(ProjectError):
    """Another process writes this project; ``holder`` says which."""

    def __init__(self, path: Path, holder: dict[str, Any]) -> None:
        self.path = path
        self.holder = holder
        who = holder.get("command") or "another Soul Studio"
        where = f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}"
        since = holder.get("since", "")
        super().__init__(f"{path} is open for writing in {who} ({where}{', since ' + since if since else ''}); "
                         "close it there or wait for it to finish")


def lock_path(project_path: str | os.PathLike[str]) -> Path:
    p = Path(project_path)
    return p.with_name(f".{fit_name(p.name, len('..lock'))}.lock")


def pid_alive(pid: int) -> bool:
    """True when a process ``pid`` exists on this host (zombies count as gone)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[-1].split()[0] != b"Z"
    except OSError:
        return True


def read_holder(project_path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        data = json.loads(lock_path(project_path).read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class ProjectLock:
    """Hold the project's lock file for the life of a ``with`` block (or ``acquire``/``release``).

    ``wait_s`` keeps trying for that long before giving up with :class:`ProjectLocked`.
    ``readonly_ok`` lets a reader (export) go on without a lock in a folder nobody can write.
    """

    def __init__(self, project_path: str | os.PathLike[str], command: str = "", wait_s: float = 0.0,
                 poll_s: float = 0.2, readonly_ok: bool = False) -> None:
        self.project_path = Path(project_path).resolve()
        self.path = lock_path(self.project_path)
        self.command = command or " ".join(Path(a).name if i == 0 else a for i, a in enumerate(sys.argv[:2]))
        self.wait_s = wait_s
        self.poll_s = poll_s
        self.readonly_ok = readonly_ok
        self.skipped = False
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def fileno(self) -> int:
        """The locked file's descriptor: a child given it (``pass_fds``) holds the lock until it exits."""
        if self._fd is None:
            raise ValueError("the lock is not held")
        return self._fd

    def acquire(self) -> ProjectLock:
        start = time.monotonic()
        while True:
            holder = self._try()
            if holder is None:
                return self
            wait = self.wait_s
            pid = holder.get("pid")
            if holder.get("host") == socket.gethostname() and isinstance(pid, int) and not pid_alive(pid):
                wait = max(wait, ORPHAN_GRACE_S)  # its writer died; a child of it is finishing its last write
            if time.monotonic() - start >= wait:
                raise ProjectLocked(self.project_path, holder)
            time.sleep(self.poll_s)

    def _try(self) -> dict[str, Any] | None:
        """Take the lock and return None, or return who holds it."""
        if self._fd is not None or self.skipped:
            return None
        in_the_way = _not_a_lock_file(self.path)
        if in_the_way:
            raise ProjectError(f"{self.path} is in the way of the project's lock: it is {in_the_way}; "
                               "remove it (Soul Studio makes its own lock file) and try again")
        try:  # never through a link: a lock file that points elsewhere would truncate that file
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0),
                         0o644)
        except OSError as exc:
            if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
                if self.readonly_ok:
                    self.skipped = True
                    return None
                raise ProjectError(f"{self.project_path.parent} is not writable ({exc.strerror}); "
                                   "copy the project to a folder you can write to") from exc
            if exc.errno in (errno.ELOOP, errno.EISDIR, errno.ENXIO):  # it appeared meanwhile
                return self._try()
            raise
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            return self._try()
        try:
            if not self._lock_fd(fd):
                holder = read_holder(self.project_path)
                os.close(fd)
                return holder or {"pid": "?", "host": "?"}
            # The file we locked may have been removed by a releasing holder meanwhile.
            if os.fstat(fd).st_ino != _inode(self.path):
                os.close(fd)
                return self._try()
            info = {"pid": os.getpid(), "host": socket.gethostname(), "command": self.command,
                    "since": datetime.now(UTC).isoformat(timespec="seconds")}
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(info) + "\n").encode("utf-8"), 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return None

    def _lock_fd(self, fd: int) -> bool:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                return False
            except OSError as exc:
                if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
                    raise
        # No flock here (some network file systems): trust the recorded pid on this host.
        holder = read_holder(self.project_path)
        pid = holder.get("pid")
        if holder.get("host") == socket.gethostname() and isinstance(pid, int) and pid != os.getpid():
            return not pid_alive(pid)
        return not holder or holder.get("host") == socket.gethostname()

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            if os.fstat(fd).st_ino == _inode(self.path):
                self.path.unlink()
        os.close(fd)

    def __enter__(self) -> ProjectLock:
        return self.acquire()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def _not_a_lock_file(path: Path) -> str:
    """What is at ``path`` when it is not a plain file a lock can be kept in ("" when it is, or nothing is)."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return ""
    if stat.S_ISREG(mode):
        return ""
    if stat.S_ISLNK(mode):
        return f"a link to {os.readlink(path)}"
    return "a folder" if stat.S_ISDIR(mode) else "a pipe or device, not a file"


def _inode(path: Path) -> int:
    try:
        return os.stat(path).st_ino
    except OSError:
        return -1


class LockHolder:
    """The lock of whichever project a window has open: claiming another releases the last."""

    def __init__(self, command: str = "Soul Studio") -> None:
        self.command = command
        self.lock: ProjectLock | None = None

    def claim(self, project_path: str | os.PathLike[str]) -> None:
        """Hold ``project_path``'s lock (raises :class:`ProjectLocked` when another process writes it)."""
        target = Path(project_path).resolve()
        if self.lock is not None and self.lock.project_path == target and (self.lock.held or self.lock.skipped):
            return
        new = ProjectLock(target, self.command, readonly_ok=True).acquire()
        self.release()
        self.lock = new

    def release(self) -> None:
        if self.lock is not None:
            self.lock.release()
            self.lock = None
