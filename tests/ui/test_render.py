"""Drafts rendered by the real engine (sketch backend) land on the timeline; a killed engine comes back."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import numpy as np
import pytest
from PySide6.QtCore import QPoint
from PySide6.QtTest import QTest

from engine.media import read_frame_at
from tests.ui.conftest import drop_files

pytestmark = [pytest.mark.gui, pytest.mark.slow]


@pytest.fixture
def loop(qapp):
    import qasync

    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    asyncio.set_event_loop(None)
    loop.close()


def wait(loop, predicate, timeout: float = 60.0) -> None:
    async def poll() -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError("condition not met in time")
            await asyncio.sleep(0.05)

    loop.run_until_complete(poll())


def test_auto_draft_updates_timeline_and_survives_engine_crash(qtbot, loop, studio, portrait, make_audio):
    studio.renderer._debounce.setInterval(100)
    studio.renderer.set_auto_draft(True)
    view = studio.timeline.view
    drop_files(view, [portrait, make_audio("hello.wav", 1.0, bursts=[(0.1, 0.9)])], QPoint(100, 40))
    project = studio.document.project
    shot = project.timeline_shots()[0]
    assert view.badge(shot) == ("none", None)

    loop.run_until_complete(studio.renderer.start())
    assert studio.renderer.running, studio.renderer.engine_error
    assert "sketch" in studio.engine_label.text()

    studio.editor.select([shot.id])
    QTest.keyClicks(studio.inspector.text, "Hi")  # an edit schedules a draft
    wait(loop, lambda: len(shot.takes) == 1)
    take_path = project.resolve(shot.takes[0].file)
    assert take_path.exists() and shot.takes[0].quality == "draft"
    assert view.badge(shot) == ("draft", None)
    assert studio.isWindowModified()
    assert studio.queue.tree.topLevelItemCount() >= 1
    # the clip's thumbnail is now the take's first frame, not the portrait
    wait(loop, lambda: studio.cache.thumbnail(take_path, 96, video=True) is not None)
    assert view.clip_thumbnail(shot).cacheKey() == studio.cache.thumbnail(take_path, 96, video=True).cacheKey()
    # the viewer shows the rendered frame under the playhead
    studio.editor.set_playhead(5)
    expected = read_frame_at(take_path, 5)
    wait(loop, lambda: studio.cache.cached_frame(take_path, 5) is not None)
    studio.viewer.show_frame(5)
    image = studio.viewer.frame_view.image
    shown = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())[:, : image.width() * 3]
    assert abs(float(shown.mean()) - float(expected.mean())) < 2.0

    # kill the engine: the studio notices, restarts it and keeps rendering; the edit is kept
    pid = studio.renderer.manager.client.pid
    os.kill(pid, signal.SIGKILL)
    wait(loop, lambda: studio.renderer.engine_status == "restarting" or studio.renderer.manager.client.pid != pid,
         timeout=30)
    wait(loop, lambda: studio.renderer.running and studio.renderer.manager.client.pid not in (None, pid), timeout=90)
    assert shot.text == "Hi"
    QTest.keyClicks(studio.inspector.text, "!")
    wait(loop, lambda: len(shot.takes) == 2, timeout=90)
    assert view.badge(shot) == ("draft", None)

    # Render Final of the selection: a final take, preferred by the timeline and the viewer
    studio.editor.select([shot.id])
    studio.actions["render_final"].trigger()
    wait(loop, lambda: any(t.quality == "final" for t in shot.takes), timeout=90)
    assert view.badge(shot) == ("final", None)
    # Retry from the queue renders the job again as a new take
    queue = studio.queue
    final_job = next(j for j, s in studio.renderer.jobs.items() if s.quality == "final")
    queue.items[final_job].setSelected(True)
    queue.buttons["retry"].click()
    wait(loop, lambda: sum(t.quality == "final" for t in shot.takes) == 2, timeout=90)
    loop.run_until_complete(studio.renderer.stop())
