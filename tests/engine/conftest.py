"""Helpers for the engine tests: jobs of the test backend, a live client, an event recorder."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.jobs import JobSpec
from engine.protocol import Event

# Generous: the suite must pass on a loaded two-core machine. Tests assert behaviour, not speed.
WAIT = 60.0


class Recorder:
    """Collects every client event and lets a test wait for one that matches."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Event()

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        self._changed.set()

    def of(self, kind: str, job_id: str | None = None) -> list[Event]:
        return [e for e in self.events if e.kind == kind and (job_id is None or e.job_id == job_id)]

    def kinds(self, job_id: str) -> list[str]:
        return [e.kind for e in self.events if e.job_id == job_id]

    async def wait(self, predicate: Callable[[Event], bool], timeout: float = WAIT) -> Event:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        seen = 0
        while True:
            for event in self.events[seen:]:
                if predicate(event):
                    return event
            seen = len(self.events)
            self._changed.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"no matching event within {timeout} s; got {[(e.kind, e.job_id) for e in self.events]}")
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass

    async def wait_kind(self, kind: str, job_id: str | None = None, timeout: float = WAIT) -> Event:
        return await self.wait(lambda e: e.kind == kind and (job_id is None or e.job_id == job_id), timeout)


@pytest.fixture
def media(make_portrait, make_audio) -> dict[str, Path]:
    """A portrait PNG and a 3 s tone-burst dialogue line, written in the test's folder."""
    return {
        "portrait": make_portrait("portrait.png", (96, 128)),
        "audio": make_audio("line.wav", 3.0, 48_000, [(0.2, 0.9), (1.2, 2.4)]),
    }


@pytest.fixture
def takes(tmp_path: Path) -> Path:
    folder = tmp_path / "takes"
    folder.mkdir()
    return folder


@pytest.fixture
def make_job(media: dict[str, Path], takes: Path) -> Callable[..., JobSpec]:
    """make_job(name, quality="final", shot_id=name, **options-or-fields) → a small test-backend job."""

    def make(name: str, quality: str = "final", shot_id: str | None = None, options: dict[str, Any] | None = None,
             **fields: Any) -> JobSpec:
        values: dict[str, Any] = dict(
            shot_id=shot_id or name, portrait_path=str(media["portrait"]), duration=1.0, fps=25.0,
            width=64, height=48, output_path=str(takes / f"{name}.mp4"), audio_path=str(media["audio"]),
            audio_in=0.2, audio_out=1.2, quality=quality, backend="test", options=options or {},
        )
        values.update(fields)
        return JobSpec(**values)

    return make


def run(coro: Any) -> Any:
    """Run one test coroutine on a fresh event loop."""
    return asyncio.run(coro)
