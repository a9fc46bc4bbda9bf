"""The client under the Qt event loop the desktop app uses (qasync), not only plain asyncio."""

from __future__ import annotations

import pytest

from soul_studio.engine_client import EngineClient

from .conftest import WAIT, Recorder

qasync = pytest.importorskip("qasync")


def test_client_renders_and_cancels_under_qasync(qapp, tmp_path, make_job):
    async def main():
        client = EngineClient(journal_dir=tmp_path / "journal", backends=["test"])
        rec = Recorder()
        client.add_listener(rec)
        await client.start()
        stream = client.events()
        try:
            slow = make_job("slow", options={"steps": 2000, "step_delay": 0.02})
            quick = make_job("quick", options={"steps": 2})
            await client.submit(slow)
            await client.submit(quick)
            await rec.wait_kind("progress", slow.job_id)
            await client.cancel(slow.job_id)
            assert (await client.wait_for(slow.job_id, WAIT)).kind == "cancelled"
            assert (await client.wait_for(quick.job_id, WAIT)).kind == "done"
        finally:
            await client.shutdown()
        streamed = [event async for event in stream]  # the stream ends with the client
        assert [(e.kind, e.job_id) for e in streamed] == [(e.kind, e.job_id) for e in rec.events]

    loop = qasync.QEventLoop(qapp)
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


def test_the_closed_loop_left_no_qt_object_for_another_thread_to_destroy(qapp):
    """Runs right after the test above: its loop's Qt timers were freed on this thread when it ended."""
    import gc

    import shiboken6
    from PySide6.QtCore import QObject

    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        left = [o for o in gc.garbage if isinstance(o, QObject) and shiboken6.isValid(o)
                and shiboken6.ownedByPython(o)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.collect()
    assert not [type(o).__name__ for o in left]
