"""The save-as-you-go loop of a headless render: nothing finished is ever lost.

- :class:`RunSaver` saves the project each time a take lands (atomically; only the first
  save of a run rotates a backup, so the backups keep the states before the run). A save
  that fails is remembered; :meth:`RunSaver.finish` then leaves the project file as it
  was, writes the run's state to a recovery file beside it (or in the user's data folder
  when the project's folder cannot be written) and says where.
- :class:`Interrupt` turns SIGTERM and Ctrl-C into a request to stop: running renders
  are cancelled, takes that finish meanwhile are still recorded, the project is saved
  and the command exits with a clear message instead of a traceback.
- :class:`EngineLog` keeps what the engine prints (its tracebacks) in a file the error
  messages can point to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from soul_studio.project import ProjectFileError, save_project, write_recovery
from soul_studio.project.model import Project
from soul_studio.project.storage import DEFAULT_BACKUPS, recovery_note


class RunSaver:
    """Saves ``project`` as takes land; keeps the first failure for the final report."""

    def __init__(self, project: Project, keep_backups: int = DEFAULT_BACKUPS, recovery_dir: Path | None = None) -> None:
        self.project = project
        self.keep_backups = keep_backups
        self.recovery_dir = recovery_dir
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
            where = write_recovery(self.project, self.recovery_dir)
        except ProjectFileError as exc:
            return False, f"could not save the project ({error}); {exc}"
        note = recovery_note(where, self.project.path, self.recovery_dir)
        return False, (f"could not save the project ({error}). The project file was left as it was{note}; this "
                       f"run's takes are recorded in {where}: open that file to keep them, or fix the problem and "
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


class EngineLog:
    """Copies the engine's output into ``engine.log`` in the user's log folder while a run lasts."""

    MAX_BYTES = 5 << 20

    def __init__(self, path: Path | None = None) -> None:
        if path is None:
            import platformdirs

            path = Path(os.environ.get("SOUL_STUDIO_LOG_DIR") or platformdirs.user_log_dir("soul-studio", appauthor=False))
            path = path / "engine.log"
        self.path = path
        self._handler: logging.Handler | None = None
        self._logger = logging.getLogger("soul_studio.engine_client")
        self._level = self._logger.level

    def __enter__(self) -> EngineLog:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            mode = "w" if self.path.exists() and self.path.stat().st_size > self.MAX_BYTES else "a"
            handler = logging.FileHandler(self.path, mode=mode, encoding="utf-8")
        except OSError:
            return self  # no log folder: errors still carry their own message
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        self._logger.addHandler(handler)
        self._logger.setLevel(logging.DEBUG)
        self._handler = handler
        return self

    def point_to(self, hint: str) -> str:
        """A hint that says "see the engine log" names the file."""
        if "engine log" in hint and self._handler is not None:
            return f"the engine's traceback is in {self.path}"
        return hint

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._handler is not None:
            self._logger.removeHandler(self._handler)
            self._logger.setLevel(self._level)
            self._handler.close()
            self._handler = None
