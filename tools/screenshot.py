"""Screenshots of the studio on the demo scene, rendered with the sketch engine.

    python tools/screenshot.py --out DIR [--no-render]

Opens a copy of resources/demo/demo.soulproj under offscreen Qt at 1920×1080, renders
drafts of every shot so the viewer and the timeline show real frames, and saves PNGs of
the main window: while rendering (render queue busy) and after.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo"


def copy_demo(target: Path) -> Path:
    shutil.copytree(DEMO, target, ignore=shutil.ignore_patterns("takes", ".backups", "*.autosave", "exports"))
    return target / "demo.soulproj"


async def settle(app, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        await asyncio.sleep(0.02)


async def wait_for(app, predicate, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return False


async def take_picker_shot(app, window, ids: list[str], args: argparse.Namespace) -> Path:
    """Ada answers over Ben on V2 (two dialogue rows overlapping); a changed line is drafted again,
    so its first take is stale; the clip's Takes menu is open over the window."""
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QPainter
    from PySide6.QtWidgets import QApplication, QMenu

    from soul_studio.project.cutting import move_to
    from soul_studio.project.edits import SetShotFields

    project = window.document.project
    second, third = project.placements()[1], project.placements()[2]
    window.document.push(move_to(project, third.shot.id, "V2", second.end - 24))
    shot = project.shots[second.shot.id]
    window.document.push(SetShotFields(shot.id, {"text": shot.text + " Now."}))
    window.renderer.render([shot.id], "draft")
    await wait_for(app, lambda: len(shot.takes) >= 2 and not any(s.active for s in window.renderer.jobs.values()),
                   args.timeout)
    window.timeline.view.fit()
    window.editor.select([shot.id])
    window.editor.set_playhead(second.end - 12)
    scroll = window.inspector.stack.currentWidget()
    scroll.ensureWidgetVisible(window.inspector.takes)  # the Inspector's take list, in use / stale
    await wait_for(app, lambda: window.cache.pending() == 0, 30)
    await settle(app, 1.0)
    view = window.timeline.view
    centre = view.shot_rect(shot.id).center().toPoint()
    window._timeline_menu(view.viewport().mapToGlobal(centre), shot.id)
    await settle(app, 0.5)
    menu = window._menu
    takes_action = menu.actions()[0]
    menu.setActiveAction(takes_action)
    takes_action.menu().popup(menu.pos() + QPoint(menu.width() - 4, menu.actionGeometry(takes_action).top()))
    await settle(app, 0.8)
    image = window.grab()
    painter = QPainter(image)
    for popup in (menu, takes_action.menu()):
        if isinstance(popup, QMenu) and popup.isVisible():
            painter.drawPixmap(popup.pos() - window.pos(), popup.grab())
    painter.end()
    for popup in (takes_action.menu(), menu):
        popup.close()
    QApplication.processEvents()
    path = args.out / "studio_takes.png"
    image.save(str(path))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True, type=Path, help="folder for the PNGs")
    parser.add_argument("--no-render", action="store_true", help="skip the engine (portraits only)")
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds to wait for the drafts")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    import qasync
    from PySide6.QtWidgets import QApplication

    from soul_studio.ui.main_window import MainWindow
    from soul_studio.ui.settings import StudioSettings
    from soul_studio.ui.theme import apply_theme

    app = QApplication.instance() or QApplication([])
    apply_theme(app)
    work = Path(tempfile.mkdtemp(prefix="soul-shots-"))
    project_path = copy_demo(work / "Demo Scene")
    settings = StudioSettings(work / "studio.ini")
    settings.cache_folder = work / "cache"
    settings.auto_draft = False
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = MainWindow(settings)
    window.resize(1920, 1080)
    window.show()
    if not window.open_project(project_path, confirm=False):
        print("could not open the demo project", file=sys.stderr)
        return 1
    saved: list[Path] = []

    async def run() -> None:
        await settle(app, 0.5)
        window.timeline.view.fit()
        project = window.document.project
        ids = project.timeline.shot_ids()
        if ids:
            window.editor.select([ids[min(1, len(ids) - 1)]])
        if not args.no_render:
            await window.renderer.start()
            if not window.renderer.running:
                print(f"engine did not start: {window.renderer.engine_error}", file=sys.stderr)
            else:
                window.renderer.render_all("draft")
                await wait_for(app, lambda: any(s.status == "running" and s.fraction > 0.2
                                                for s in window.renderer.jobs.values()), 60)
                await settle(app, 0.3)
                path = args.out / "studio_rendering.png"
                window.grab().save(str(path))
                saved.append(path)
                await wait_for(app, lambda: not any(s.active for s in window.renderer.jobs.values()), args.timeout)
        placements = project.placements()
        if placements:
            target = placements[min(1, len(placements) - 1)]
            window.editor.set_playhead(target.start + target.length // 2)
        await wait_for(app, lambda: window.cache.pending() == 0, 30)
        await settle(app, 1.0)
        window.viewer.show_frame(window.editor.playhead)
        await wait_for(app, lambda: window.cache.pending() == 0, 10)
        await settle(app, 0.5)
        path = args.out / "studio.png"
        window.grab().save(str(path))
        saved.append(path)
        window.timeline.view.set_ppf(window.timeline.view.layout.ppf * 3, 0)
        await settle(app, 1.0)
        path = args.out / "timeline_zoomed.png"
        window.timeline.grab().save(str(path))
        saved.append(path)
        if not args.no_render and len(ids) >= 3:
            saved.append(await take_picker_shot(app, window, ids, args))
        await window.renderer.stop()

    with loop:
        loop.run_until_complete(run())
    window.document.undo_stack.setClean()
    window.document._untracked = False
    window.close()
    for path in saved:
        print(path)
    shutil.rmtree(work, ignore_errors=True)
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown of Qt objects owned by the finished event loop


if __name__ == "__main__":
    sys.exit(main())
