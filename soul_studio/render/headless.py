"""The save-as-you-go loop of a headless render: nothing finished is ever lost.

- :class:`RunSaver` saves the project each time a take lands (atomically; only the first
  save of a run rotates a backup, so the backups keep the states before the run). A save
  that fails is remembered; :meth:`RunSaver.finish` then leaves the project file as it
  was, writes the run's state to a recovery file beside it and says where.
- :class:`Interrupt` turns SIGTERM and Ctrl-C into a request to stop: running renders
  are cancelled, takes that finish meanwhile are still recorded, the project is saved
  and the command exits with a clear message instead of a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable

from soul_studio.project import ProjectFileError, save_project, write_recovery
from soul_studio.project.model import Project
from soul_studio.project.storage import DEFAULT_BACKUPS


class RunSaver:
    """Saves ``project`` as takes land; keeps the first failure for the final report."""

    def __init__(self, project: Project, keep_backups: int = DEFAULT_BACKUPS) -> None:
        self.project = project
        self.keep_backups = keep_backups
        self.saves = 0
        self.error: ProjectFileError | None = None

    def save(self) -> bool:
        """Save now (no autosave is ever removed by a headless run); False when it failed."""
        try:
            save_project(self.project, keep_backups=self.keep_backups if self.saves == 0 else 0,
                         clear_autosave=False)
        except ProjectFileError as exc:
            self.error = self.error or exc
            return False
        self.saves += 1
        self.error = None
        return True

    def finish(self) -> tuple[bool, str]:
        """The final save; on failure the state goes to a recovery file. Returns (ok, message)."""
        if self.save():
            return True, f"project saved to {self.project.path}"
        error = self.error
        try:
            where = write_recovery(self.project)
        except ProjectFileError as exc:
            return False, f"could not save the project ({error}); {exc}"
        return False, (f"could not save the project ({error}). The project file was left as it was; this run's "
                       f"takes are recorded in {where}: open that file to keep them, or fix the problem and "
                       "render again (finished takes are reused)")


class Interrupt:
    """SIGTERM / SIGINT as an asyncio event, while the loop runs (main thread only)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.event: asyncio.Event | None = None
        self.signal_name = ""
        self._callbacks: list[Callable[[], None]] = []
        self._installed: list[signal.Signals] = []

    @property
    def requested(self) -> bool:
        return bool(self.signal_name)

    def on_request(self, callback: Callable[[], None]) -> None:
        self._callbacks.append(callback)

    def install(self) -> None:
        self.event = asyncio.Event()
        if threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        for sig in self.SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self.request, sig.name)
                self._installed.append(sig)

    def request(self, name: str = "SIGINT") -> None:
        if self.signal_name:
            return  # already stopping: the current writes finish, then we exit
        self.signal_name = name
        if self.event is not None:
            self.event.set()
        for callback in list(self._callbacks):
            callback()

    def uninstall(self) -> None:
        with contextlib.suppress(RuntimeError):
            loop = asyncio.get_running_loop()
            for sig in self._installed:
                loop.remove_signal_handler(sig)
        self._installed.clear()

    @property
    def exit_code(self) -> int:
        return 128 + (signal.SIGTERM if self.signal_name == "SIGTERM" else signal.SIGINT)
