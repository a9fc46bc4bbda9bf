"""Which job runs next: drafts before finals, then priority, then first come.

Pure bookkeeping with no threads or I/O, so the rules are easy to test and to reuse.
A newer draft of a shot makes older queued drafts of the same shot pointless; the
queue hands them back so the caller can report them as superseded.
"""

from __future__ import annotations

from engine.journal import Entry

_QUALITY_RANK = {"draft": 0, "final": 1}


def run_order(entry: Entry) -> tuple[int, int, int]:
    return (_QUALITY_RANK.get(entry.job.quality, 1), -int(entry.job.priority), entry.seq)


class JobQueue:
    """Queued jobs by id, ordered by :func:`run_order` on demand."""

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._entries

    def get(self, job_id: str) -> Entry | None:
        return self._entries.get(job_id)

    def ordered(self) -> list[Entry]:
        return sorted(self._entries.values(), key=run_order)

    def position(self, job_id: str) -> int | None:
        """0 for the job that runs next; None when it is not queued."""
        for index, entry in enumerate(self.ordered()):
            if entry.job.job_id == job_id:
                return index
        return None

    def add(self, entry: Entry) -> list[Entry]:
        """Queue ``entry``; returns the queued drafts of the same shot it supersedes (already removed)."""
        superseded: list[Entry] = []
        if entry.job.quality == "draft" and entry.job.shot_id:
            for other in list(self._entries.values()):
                if other.job.quality == "draft" and other.job.shot_id == entry.job.shot_id:
                    superseded.append(self._entries.pop(other.job.job_id))
        entry.state = "queued"
        self._entries[entry.job.job_id] = entry
        return superseded

    def remove(self, job_id: str) -> Entry | None:
        return self._entries.pop(job_id, None)

    def pop_next(self) -> Entry | None:
        order = self.ordered()
        if not order:
            return None
        return self._entries.pop(order[0].job.job_id)

    def set_priority(self, job_id: str, priority: int) -> bool:
        entry = self._entries.get(job_id)
        if entry is None:
            return False
        entry.job = entry.job.replace(priority=int(priority))
        return True

    def clear(self) -> list[Entry]:
        entries = self.ordered()
        self._entries.clear()
        return entries
