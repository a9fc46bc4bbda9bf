"""Start the desktop studio: QApplication, the qasync event loop, the main window."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from soul_studio.ui.settings import StudioSettings


def _first_run(settings: StudioSettings, project_path: str | None) -> str | None:
    """On the very first start, offer the demo scene or the Soul model folder."""
    from soul_studio.models.settings import StudioPaths
    from soul_studio.ui.first_run import FirstRunDialog, needs_first_run

    paths = StudioPaths.default()
    if not needs_first_run(paths):
        return project_path
    dialog = FirstRunDialog(paths)
    dialog.exec()
    if dialog.choice == "demo":
        from soul_studio.demo import working_copy

        return str(working_copy())
    if dialog.choice == "model":
        settings.default_backend = "soul"
    return project_path


def run_studio(project_path: str | None, settings: StudioSettings | None = None) -> int:
    """Open the studio (on ``project_path`` when given) and run until the window closes."""
    import qasync
    from PySide6.QtWidgets import QApplication

    from soul_studio.ui.gui_gc import GuiThreadCollector
    from soul_studio.ui.main_window import MainWindow
    from soul_studio.ui.theme import apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Soul Studio")
    app.setOrganizationName("SoulStudio")
    apply_theme(app)  # type: ignore[arg-type]
    GuiThreadCollector.hold_for(app)  # the whole session: first-run dialog and the qasync loop too
    settings = settings or StudioSettings()
    if not project_path and os.environ.get("QT_QPA_PLATFORM") != "offscreen":
        project_path = _first_run(settings, project_path)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = MainWindow(settings)
    if project_path:
        window.open_project(Path(project_path), confirm=False)
    if os.environ.get("QT_QPA_PLATFORM") != "offscreen":
        window.showMaximized()
    else:
        window.resize(1920, 1080)
        window.show()
    window.renderer.start()
    closed = asyncio.Event()
    app.lastWindowClosed.connect(closed.set)

    async def main() -> None:
        await closed.wait()
        await window.renderer.stop()

    with loop:
        loop.run_until_complete(main())
    return 0
