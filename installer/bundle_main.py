"""Entry point of the Soul Studio app bundle (PyInstaller).

The bundle has one executable, so it also plays the roles a Python install gives to
other commands: the studio starts its engine as ``<python> -m engine serve``, and in the
bundle ``<python>`` is this executable, so ``-m engine ...`` is routed to the engine.
``-c CODE`` runs ``CODE`` as ``python -c`` would (the engine asks torch about the GPU
in such a child). ``--smoke-test [PROJECT]`` opens the main window offscreen on a project (the demo by
default), waits until it is shown, prints ``OK`` and quits: the installer's self-check.
Everything else is the ``soul-studio`` command line; with no arguments the studio opens.
"""

from __future__ import annotations

import multiprocessing
import os
import sys


def smoke_test(args: list[str], timeout_s: float = 60.0) -> int:
    """Open the studio window on a project, check that it shows, print OK; 0 on success."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import tempfile
    from pathlib import Path

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from soul_studio.demo import working_copy
    from soul_studio.ui.main_window import MainWindow
    from soul_studio.ui.settings import StudioSettings
    from soul_studio.ui.theme import apply_theme

    work = Path(tempfile.mkdtemp(prefix="soul-smoke-"))
    project = Path(args[0]) if args else working_copy(work / "demo")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_theme(app)  # type: ignore[arg-type]
    window = MainWindow(StudioSettings(work / "studio.ini"))
    window.open_project(project, confirm=False)
    window.resize(1280, 800)
    window.show()
    result = {"ok": False}

    def probe() -> None:
        shots = len(window.document.project.shots) if getattr(window, "document", None) else -1
        if window.isVisible() and window.windowTitle():
            result["ok"] = True
            print(f"OK window={window.windowTitle()!r} shots={shots} platform={app.platformName()}", flush=True)
            window.close()
            app.quit()

    poll = QTimer()
    poll.timeout.connect(probe)
    poll.start(100)
    QTimer.singleShot(int(timeout_s * 1000), app.quit)
    app.exec()
    if not result["ok"]:
        print("FAILED: the main window did not show", file=sys.stderr)
    return 0 if result["ok"] else 1


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:2] == ["-m", "engine"]:
        from engine.__main__ import main as engine_main

        return int(engine_main(args[2:]) or 0)
    if args[:1] == ["-c"] and len(args) > 1:  # ``<python> -c CODE``: the engine's GPU query in a child
        sys.argv = ["-c", *args[2:]]
        exec(compile(args[1], "<string>", "exec"), {"__name__": "__main__"})  # noqa: S102 - what python -c does
        return 0
    if args[:1] == ["--smoke-test"]:
        return smoke_test(args[1:])
    from soul_studio.cli import main as cli_main

    return cli_main(args or ["open"])


if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
