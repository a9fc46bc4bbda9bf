"""Queue rules and the on-disk journal, without a process."""

from __future__ import annotations

import json

import pytest

from engine.journal import Entry, Journal, JournalLocked
from engine.scheduler import JobQueue


def _entry(make_job, name, seq, quality="final", shot_id=None, priority=0):
    return Entry(make_job(name, quality, shot_id=shot_id, priority=priority), seq)


def test_drafts_run_before_finals_then_priority_then_first_come(make_job):
    queue = JobQueue()
    for entry in [
        _entry(make_job, "f1", 1), _entry(make_job, "f2", 2), _entry(make_job, "d1", 3, "draft"),
        _entry(make_job, "f3", 4, priority=5), _entry(make_job, "d2", 5, "draft"),
    ]:
        queue.add(entry)
    order = [e.job.shot_id for e in queue.ordered()]
    assert order == ["d1", "d2", "f3", "f1", "f2"]
    f2 = next(e for e in queue.ordered() if e.job.shot_id == "f2")
    assert queue.set_priority(f2.job.job_id, 9)
    assert [queue.pop_next().job.shot_id for _ in range(5)] == ["d1", "d2", "f2", "f3", "f1"]
    assert queue.pop_next() is None


def test_newer_draft_supersedes_queued_drafts_of_the_same_shot_only(make_job):
    queue = JobQueue()
    old = _entry(make_job, "old", 1, "draft", shot_id="s1")
    other = _entry(make_job, "other", 2, "draft", shot_id="s2")
    final = _entry(make_job, "fin", 3, "final", shot_id="s1")
    for entry in (old, other, final):
        assert queue.add(entry) == []
    superseded = queue.add(_entry(make_job, "new", 4, "draft", shot_id="s1"))
    assert [e.job.job_id for e in superseded] == [old.job.job_id]
    assert old.job.job_id not in queue and other.job.job_id in queue and final.job.job_id in queue


def test_journal_round_trip_is_atomic(tmp_path, make_job):
    journal = Journal(tmp_path / "j")
    journal.acquire()
    entries = [_entry(make_job, "a", 1), _entry(make_job, "b", 2, "draft")]
    entries[1].state, entries[1].attempts = "running", 2
    journal.save(entries)
    loaded = Journal(tmp_path / "j").load()
    assert [(e.job, e.seq, e.state, e.attempts) for e in loaded] == [(e.job, e.seq, e.state, e.attempts) for e in entries]
    assert sorted(p.name for p in (tmp_path / "j").iterdir()) == ["engine.lock", "queue.json"]
    journal.release()


def test_unreadable_journal_is_set_aside_not_fatal(tmp_path):
    folder = tmp_path / "j"
    folder.mkdir()
    (folder / "queue.json").write_text("{half a file", encoding="utf-8")
    assert Journal(folder).load() == []
    assert not (folder / "queue.json").exists()
    assert any(p.name.startswith("queue.json.unreadable") for p in folder.iterdir())
    (folder / "queue.json").write_text(json.dumps({"version": 999, "jobs": []}), encoding="utf-8")
    assert Journal(folder).load() == []


def test_two_engines_cannot_share_a_journal(tmp_path):
    first = Journal(tmp_path / "j")
    first.acquire()
    with pytest.raises(JournalLocked):
        Journal(tmp_path / "j").acquire()
    first.release()
    second = Journal(tmp_path / "j")
    second.acquire()
    second.release()
