"""The engine's queue on disk, so a killed engine loses nothing.

The whole queue (queued jobs and the one running) is rewritten atomically to
``<dir>/queue.json`` on every change: temp file, fsync, rename. An engine started on
the same folder reads it back; a job that was ``running`` when the process died is
counted as a crash, and a job that crashed the engine too often is failed instead of
retried forever. ``<dir>/engine.lock`` (an advisory lock the kernel drops when the
process dies) keeps two engines from sharing one journal.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from engine.atomic import write_atomic
from engine.jobs import JobSpec

JOURNAL_VERSION = 1
QUEUE_FILE = "queue.json"
LOCK_FILE = "engine.lock"

log = logging.getLogger(__name__)


class JournalLocked(RuntimeError):
    """Another live engine is using this journal folder."""


@dataclass
class Entry:
    """One job the engine holds: its spec, place in line and history."""

    job: JobSpec
    seq: int
    state: str = "queued"  # queued | running
    attempts: int = 0
    crashes: int = 0
    submitted: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return {
            "job": self.job.to_dict(),
            "seq": self.seq,
            "state": self.state,
            "attempts": self.attempts,
            "crashes": self.crashes,
            "submitted": self.submitted,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Entry:
        return cls(
            job=JobSpec.from_dict(data["job"]),
            seq=int(data["seq"]),
            state=str(data.get("state", "queued")),
            attempts=int(data.get("attempts", 0)),
            crashes=int(data.get("crashes", 0)),
            submitted=float(data.get("submitted", 0.0)),
        )


class Journal:
    """Atomic JSON record of the queue in ``directory``; a no-op when ``directory`` is None."""

    def __init__(self, directory: str | os.PathLike[str] | None) -> None:
        self.directory = Path(directory) if directory is not None else None
        self._lock_handle: IO[str] | None = None

    @property
    def path(self) -> Path | None:
        return self.directory / QUEUE_FILE if self.directory is not None else None

    def acquire(self) -> None:
        """Create the folder and take its lock; raise :class:`JournalLocked` if another engine holds it."""
        if self.directory is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        handle = open(self.directory / LOCK_FILE, "a+", encoding="utf-8")  # noqa: SIM115 - held for the process' life
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no advisory locks
            self._lock_handle = handle
            return
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            handle.close()
            raise JournalLocked(f"another engine is using the journal in {self.directory}") from exc
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._lock_handle = handle

    def release(self) -> None:
        if self._lock_handle is not None:
            self._lock_handle.close()
            self._lock_handle = None

    def load(self) -> list[Entry]:
        """Entries of the last engine on this folder, oldest first; an unreadable file is set aside."""
        path = self.path
        if path is None or not path.exists():
            return []
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") != JOURNAL_VERSION:
                raise ValueError(f"journal version {data.get('version')!r}")
            entries = [Entry.from_dict(item) for item in data.get("jobs", [])]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            aside = path.with_name(f"{QUEUE_FILE}.unreadable-{int(time.time())}")
            log.warning("journal %s is unreadable (%s); moved it to %s", path, exc, aside.name)
            try:
                os.replace(path, aside)
            except OSError:
                pass
            return []
        return sorted(entries, key=lambda e: e.seq)

    def save(self, entries: list[Entry]) -> None:
        """Replace the journal with ``entries`` atomically."""
        path = self.path
        if path is None:
            return
        body = {"version": JOURNAL_VERSION, "saved": time.time(), "jobs": [e.to_dict() for e in entries]}
        write_atomic(path, json.dumps(body, separators=(",", ":")).encode("utf-8"))
