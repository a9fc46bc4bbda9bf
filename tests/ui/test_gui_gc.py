"""Cyclic garbage is collected on the GUI thread while the studio lives, and still collected."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QObject, QThread

from soul_studio.ui.gui_gc import GuiThreadCollector

pytestmark = pytest.mark.gui


class _Node:
    """One half of a reference cycle that only the cycle collector can free."""

    def __init__(self) -> None:
        self.other: _Node | None = None


def _cycle() -> weakref.ref[_Node]:
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def _collections_by_thread(work) -> set[str]:
    seen: set[str] = set()

    def note(phase: str, _info: dict) -> None:
        if phase == "start":
            seen.add(threading.current_thread().name)

    gc.callbacks.append(note)
    try:
        work()
    finally:
        gc.callbacks.remove(note)
    return seen


def _allocate_cycles_on_a_worker() -> list[weakref.ref[_Node]]:
    refs: list[weakref.ref[_Node]] = []

    def churn() -> None:
        for _ in range(20 * gc.get_threshold()[0]):
            refs.append(_cycle())

    worker = threading.Thread(target=churn, name="decoder-like-worker")
    worker.start()
    worker.join()
    return refs


def test_a_worker_never_collects_while_the_studio_is_open_and_the_gui_thread_does(qtbot, studio):
    assert not gc.isenabled()
    refs: list[weakref.ref[_Node]] = []
    threads = _collections_by_thread(lambda: refs.extend(_allocate_cycles_on_a_worker()))
    assert "decoder-like-worker" not in threads
    assert sum(r() is not None for r in refs) == len(refs)  # nothing freed yet
    threads = _collections_by_thread(
        lambda: qtbot.waitUntil(lambda: all(r() is None for r in refs[: len(refs) // 2]), timeout=5000))
    assert threads == {threading.main_thread().name}  # freed by the GUI thread's timer


def _settle() -> None:
    """Let Qt delete what earlier tests closed (pytest-qt deletes their windows later)."""
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QCoreApplication.processEvents()


def test_the_last_holder_gone_turns_automatic_collection_back_on(qtbot):
    _settle()
    collector = GuiThreadCollector.of()
    assert collector.holders == 0 and gc.isenabled()  # a closed studio window let go of it too
    owners = [QObject(), QObject()]
    for owner in owners:
        GuiThreadCollector.hold_for(owner)
    assert collector.holders == 2 and not gc.isenabled()
    left = _cycle()
    owners.pop().deleteLater()
    qtbot.waitUntil(lambda: collector.holders == 1, timeout=2000)
    assert not gc.isenabled()
    owners.pop().deleteLater()
    qtbot.waitUntil(lambda: collector.holders == 0, timeout=2000)
    assert gc.isenabled() and left() is None  # what was left is collected on the way out


def test_a_holder_destroyed_on_another_thread_releases_through_the_gui_thread(qtbot):
    _settle()
    collector = GuiThreadCollector.of()
    released_on: list[str] = []
    collector._release_later.connect(lambda _token: released_on.append(threading.current_thread().name))

    class Holder(QThread):
        def run(self) -> None:  # made and destroyed on this thread
            owner = QObject()
            GuiThreadCollector.hold_for(owner)
            del owner

    holder = Holder()
    base = collector.holders
    with qtbot.waitSignal(holder.finished, timeout=5000):
        holder.start()
    qtbot.waitUntil(lambda: collector.holders == base, timeout=2000)
    assert released_on  # it went through the queued signal, not a direct call off the GUI thread
    assert gc.isenabled() == (collector.holders == 0)


def test_a_holder_let_go_twice_never_lets_go_of_another(qtbot):
    _settle()
    collector = GuiThreadCollector.of()
    keeper = QObject()
    GuiThreadCollector.hold_for(keeper)
    token = collector.acquire()
    collector.release(token)
    collector.release(token)  # e.g. let go by hand and again when its owner goes
    assert collector.holders == 1 and not gc.isenabled()
    keeper.deleteLater()
    qtbot.waitUntil(lambda: collector.holders == 0, timeout=2000)
    assert gc.isenabled()
