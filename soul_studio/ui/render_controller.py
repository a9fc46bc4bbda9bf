"""Bridges the asyncio RenderManager and the Qt panels.

- Edits of a shot schedule a draft after a quiet spell (debounced, toggleable).
- Finished takes are recorded with :meth:`Document.apply_untracked`: they mark the
  document dirty but are not undo steps (undoing a typo never throws away a render).
- Manager events become Qt signals; the timeline asks :meth:`overlay` for live badges.
- When the engine is down, edits keep working; pending drafts wait for it to return.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from soul_studio.project.edits import AddTake, Edit
from soul_studio.project.model import Shot
from soul_studio.ui.document import Document
from soul_studio.ui.settings import StudioSettings

ManagerFactory = Callable[[Document, Callable[[Edit], None]], Any]
DRAFT_FIELDS = ("text", "prompt", "audio", "audio_in", "audio_out", "hold_seconds", "seed", "framing", "character_id",
                "handle_tail")


def default_manager_factory(backend: str | None, journal_dir: Any = None,
                            settings: StudioSettings | None = None) -> ManagerFactory:
    """Build the real RenderManager, which starts its own engine client.

    Soul jobs get the model folders registered on this machine, then the folder and GPU
    chosen in Preferences, which win.
    """

    def make(document: Document, apply_edit: Callable[[Edit], None]) -> Any:
        from soul_studio.render.manager import RenderManager, registered_model_options

        options = registered_model_options()
        if settings is not None:
            if settings.model_folder:
                options["model_folder"] = settings.model_folder
            if settings.gpu_index > 0:
                options["device"] = f"cuda:{settings.gpu_index}"
        return RenderManager(document.project, apply_edit, journal_dir=journal_dir, backend=backend,
                             backend_options=options)

    return make


class RenderController(QObject):
    """Owns the RenderManager for the open document."""

    job_changed = Signal(object)  # JobState or None (list changed)
    preview = Signal(str, bytes)  # shot id, jpeg
    engine_changed = Signal()
    take_added = Signal(str)  # shot id

    def __init__(self, document: Document, settings: StudioSettings,
                 factory: ManagerFactory | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.settings = settings
        self.factory = factory or default_manager_factory(None, settings.cache_folder / "engine", settings)
        self.manager: Any = None
        self.engine_status = "stopped"
        self.engine_error = ""
        self.auto_draft = settings.auto_draft
        self._pending: list[str] = []
        self._debounce = QTimer(self, singleShot=True)
        self._debounce.setInterval(settings.draft_delay_ms)
        self._debounce.timeout.connect(self._flush_drafts)
        self._start_task: asyncio.Task[Any] | None = None
        document.changed.connect(self._on_changed)

    # -------------------------------------------------------------- engine
    def start(self) -> asyncio.Task[Any] | None:
        """Create the manager and start the engine in the background (needs a running loop)."""
        if self.manager is None:
            self.manager = self.factory(self.document, self._apply_take)
            self.manager.add_listener(self._on_manager)
        try:
            loop = asyncio.get_event_loop()
        except RuntimeError:
            return None
        self.engine_status = "starting"
        self.engine_changed.emit()
        self._start_task = loop.create_task(self._start())
        return self._start_task

    async def _start(self) -> None:
        try:
            await self.manager.start()
        except Exception as exc:  # noqa: BLE001 - any start failure is shown, the studio keeps working
            self.engine_status = "failed"
            self.engine_error = str(exc)
            self.engine_changed.emit()
            return
        self.engine_status = "running"
        self.engine_changed.emit()
        self._flush_drafts()

    async def stop(self) -> None:
        if self.manager is not None:
            try:
                await self.manager.stop()
            except Exception:  # noqa: BLE001 - shutting down anyway
                pass
        self.engine_status = "stopped"

    @property
    def engine_info(self) -> dict[str, Any]:
        """The engine's hello as a dict (the client's EngineInfo keeps it in ``raw``)."""
        info = getattr(self.manager, "engine_info", None) or {}
        if isinstance(info, dict):
            return dict(info.get("raw", info)) if isinstance(info.get("raw"), dict) else dict(info)
        return dict(getattr(info, "raw", {}) or {})

    @property
    def running(self) -> bool:
        return self.engine_status == "running"

    def set_document(self, document: Document) -> None:
        self.document.changed.disconnect(self._on_changed)
        self.document = document
        document.changed.connect(self._on_changed)
        self._pending.clear()
        if self.manager is not None and hasattr(self.manager, "set_project"):
            self.manager.set_project(document.project)

    # ------------------------------------------------------------- renders
    def render(self, shot_ids: list[str], quality: str = "draft") -> list[str]:
        ids = [s for s in shot_ids if s in self.document.project.shots]
        if not ids or self.manager is None:
            return []
        try:
            return list(self.manager.render(ids, quality))
        except RuntimeError as exc:  # no event loop: rendering needs the running studio
            self.engine_error = str(exc)
            self.engine_changed.emit()
            return []

    def render_all(self, quality: str) -> list[str]:
        return self.render(self.document.project.timeline.shot_ids(), quality)

    def cancel(self, job_id: str) -> None:
        if self.manager is not None:
            self.manager.cancel(job_id)

    def retry(self, job_id: str) -> None:
        if self.manager is not None:
            self.manager.retry(job_id)

    def set_priority(self, job_id: str, priority: int) -> None:
        if self.manager is not None:
            self.manager.set_priority(job_id, priority)

    def clear_finished(self) -> None:
        if self.manager is not None and hasattr(self.manager, "clear_finished"):
            self.manager.clear_finished()

    @property
    def jobs(self) -> dict[str, Any]:
        return dict(getattr(self.manager, "jobs", {}) or {})

    def overlay(self, shot_id: str) -> tuple[str, float | None] | None:
        """Live badge for the timeline: ("rendering", fraction) or ("queued", 0.0) while active."""
        best = None
        for state in self.jobs.values():
            if state.shot_id != shot_id:
                continue
            if state.status == "running":
                return "rendering", float(state.fraction)
            if state.status in ("queued", "pending"):
                best = ("queued", 0.0)
        return best

    # -------------------------------------------------------------- drafts
    def set_auto_draft(self, enabled: bool) -> None:
        self.auto_draft = enabled
        self.settings.auto_draft = enabled
        if not enabled:
            self._pending.clear()
            self._debounce.stop()

    def _on_changed(self, kind: str, subject: object) -> None:
        if not self.auto_draft or not isinstance(subject, Shot) or kind not in ("shot", "timeline"):
            return
        if kind == "timeline":  # a split adds a tail shot right after the subject: draft it too
            ids = self.document.project.timeline.shot_ids()
            if subject.id in ids:
                i = ids.index(subject.id)
                if i + 1 < len(ids):
                    nxt = self.document.project.shots[ids[i + 1]]
                    if not nxt.takes and nxt.id not in self._pending:
                        self._pending.append(nxt.id)
        if subject.id not in self.document.project.shots:
            return
        if kind == "timeline" and subject.takes:
            return  # moving a rendered shot needs no new render
        if subject.id not in self._pending:
            self._pending.append(subject.id)
        self._debounce.start()

    def _flush_drafts(self) -> None:
        if not self._pending or not self.running or self.document.project.folder is None:
            return
        ids, self._pending = list(self._pending), []
        self.render(ids, "draft")

    # ------------------------------------------------------------- events
    def _apply_take(self, edit: Edit) -> None:
        self.document.apply_untracked(edit)
        if isinstance(edit, AddTake):
            self.take_added.emit(edit.shot_id)

    def _on_manager(self, kind: str, state: Any) -> None:
        if kind == "engine":
            status = getattr(self.manager, "engine_state", None)
            if status:
                self.engine_status = {"running": "running", "stopped": "restarting", "failed": "failed"}.get(
                    status, status)
            self.engine_changed.emit()
            if self.running:
                self._flush_drafts()
            return
        if kind == "preview" and state is not None and state.preview_jpeg:
            self.preview.emit(state.shot_id, state.preview_jpeg)
        self.job_changed.emit(state)

    def status_text(self) -> str:
        """One line for the status bar: backend, device, memory."""
        if self.engine_status == "failed":
            return f"Engine offline — {self.engine_error or 'it could not be restarted'}"
        if self.engine_status in ("starting", "restarting"):
            return f"Engine {self.engine_status}…"
        if self.engine_status != "running":
            return "Engine stopped"
        info = self.engine_info
        backend = getattr(self.manager, "backend", None) or self.document.project.settings.default_backend
        device = "CPU"
        for b in info.get("backends", []) or []:
            if isinstance(b, dict) and b.get("name") == backend:
                devices = b.get("devices") or []
                if devices:
                    d = devices[0]
                    device = d.get("name", str(d)) if isinstance(d, dict) else str(d)
        parts = [f"Engine ● {backend}", device]
        memory = info.get("memory") or {}
        ram = memory.get("ram_free_mb")
        vram = memory.get("vram_free_mb")
        if ram:
            parts.append(f"RAM {float(ram) / 1024:.1f} GiB free")
        if vram:
            parts.append(f"VRAM {float(vram) / 1024:.1f} GiB free")
        return "  ·  ".join(parts)
