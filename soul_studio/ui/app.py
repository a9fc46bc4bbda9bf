"""Start the desktop studio: QApplication, the qasync event loop, the main window."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from soul_studio.ui.settings import StudioSettings


def run_studio(project_path: str | None, settings: StudioSettings | None = None) -> int:
    """Open the studio (on ``project_path`` when given) and run until the window closes."""
    import qasync
    from PySide6.QtWidgets import QApplication

    from soul_studio.ui.main_window import MainWindow
    from soul_studio.ui.theme import apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Soul Studio")
    app.setOrganizationName("SoulStudio")
    apply_theme(app)  # type: ignore[arg-type]
    settings = settings or StudioSettings()
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
