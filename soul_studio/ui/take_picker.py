"""The take picker: a shot's takes with their state, and what an editor does with one.

The same menu (use, compare A/B in the viewer, reveal the file, move to the trash)
opens from the Inspector's take list and from a clip's context menu on the timeline.
Which take is in use follows :func:`soul_studio.render.takes.take_in_use`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QPoint, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices
from PySide6.QtWidgets import QMenu, QTreeWidget, QTreeWidgetItem, QWidget

from soul_studio.project.edits import PickTake, TrashTake
from soul_studio.project.model import Shot, Take
from soul_studio.render.planner import FingerprintCache
from soul_studio.render.takes import TakeJudge, take_in_use
from soul_studio.ui.document import Document
from soul_studio.ui.theme import COLORS

STATE_TINTS = {"in use": "state_final", "stale": "state_stale", "failed": "state_failed", "missing": "state_failed"}


def take_label(shot: Shot, take: Take) -> str:
    return f"#{shot.takes.index(take) + 1} {take.quality}"


class TakeActions(QObject):
    """Use / compare / reveal / trash a take; every document change is an undo step."""

    compare_requested = Signal(str, str)  # shot id, take id ("" ends the comparison)
    message = Signal(str)
    error = Signal(str, str)

    def __init__(self, document: Document, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.reveal_hook: Callable[[Path], None] = lambda path: QDesktopServices.openUrl(
            QUrl.fromLocalFile(str(path.parent)))

    def use(self, shot_id: str, take_id: str | None) -> None:
        shot = self.document.project.shots.get(shot_id)
        if shot is None or shot.picked_take == take_id:
            return
        self.document.push(PickTake(shot_id, take_id))
        take = shot.take(take_id)
        if take is not None and take_in_use(self.document.project, shot) is not take:
            self.message.emit("That take is stale (the shot changed since it was rendered); it is shown, "
                              "never exported. Render the shot again to use it.")

    def compare(self, shot_id: str, take_id: str) -> None:
        self.compare_requested.emit(shot_id, take_id)

    def reveal(self, shot_id: str, take_id: str) -> Path | None:
        shot = self.document.project.shots.get(shot_id)
        take = shot.take(take_id) if shot is not None else None
        path = self.document.project.resolve(take.file) if take is not None else None
        if path is None or not path.exists():
            self.error.emit("Cannot reveal the take", "its file is missing from the takes folder")
            return None
        self.reveal_hook(path)
        return path

    def trash(self, shot_id: str, take_id: str) -> None:
        try:
            self.document.push(TrashTake(shot_id, take_id))
        except (OSError, ValueError, KeyError) as exc:
            self.error.emit("Cannot move the take to the trash", str(exc))
            return
        self.message.emit("Take moved to the project's trash folder (Undo brings it back)")

    def menu(self, shot_id: str, parent: QWidget, take_id: str | None = None, judge: TakeJudge | None = None) -> QMenu:
        """A menu for one take, or (``take_id`` None) a Takes menu listing every take of the shot."""
        menu = QMenu(parent)
        shot = self.document.project.shots.get(shot_id)
        if shot is None:
            return menu
        if take_id is not None:
            self._fill_one(menu, shot, take_id)
            return menu
        menu.setTitle("&Takes")
        judge = judge or TakeJudge(self.document.project)
        in_use = take_in_use(self.document.project, shot, judge)
        auto = menu.addAction("Best Fresh Take (automatic)")
        auto.setCheckable(True)
        auto.setChecked(shot.picked_take is None)
        auto.triggered.connect(lambda _c=False: self.use(shot_id, None))
        if shot.takes:
            menu.addSeparator()
        for take in reversed(shot.takes):
            state = "in use" if take is in_use else judge.state(shot, take)
            sub = menu.addMenu(f"{take_label(shot, take)} · {take.backend} · {state}")
            self._fill_one(sub, shot, take.id)
        return menu

    def _fill_one(self, menu: QMenu, shot: Shot, take_id: str) -> None:
        sid = shot.id
        menu.addAction("&Use This Take", lambda: self.use(sid, take_id))
        menu.addAction("&Compare A/B in Viewer", lambda: self.compare(sid, take_id))
        menu.addAction("&Reveal File", lambda: self.reveal(sid, take_id))
        menu.addSeparator()
        menu.addAction("Move to &Trash", lambda: self.trash(sid, take_id))


class TakeList(QTreeWidget):
    """The Inspector's take list: in use / fresh / stale per take; double-click uses it."""

    COLUMNS = ("Take", "Quality", "Backend", "State", "Created")

    def __init__(self, actions: TakeActions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actions_ = actions
        self.shot_id: str | None = None
        self.fingerprints = FingerprintCache()
        self.setHeaderLabels(list(self.COLUMNS))
        self.setRootIsDecorated(False)
        self.setAlternatingRowColors(True)
        self.setMinimumHeight(110)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)
        self.itemDoubleClicked.connect(self._double_clicked)
        self._menu_open: QMenu | None = None

    def fill(self, shot: Shot | None) -> None:
        self.clear()
        self.shot_id = shot.id if shot is not None else None
        if shot is None:
            return
        project = self.actions_.document.project
        judge = TakeJudge(project, self.fingerprints)
        in_use = take_in_use(project, shot, judge)
        for take in reversed(shot.takes):
            state = "in use" if take is in_use else judge.state(shot, take)
            if take.id == shot.picked_take and take is in_use:
                state = "in use (picked)"
            item = QTreeWidgetItem([f"#{shot.takes.index(take) + 1}", take.quality, take.backend, state,
                                    take.created.replace("T", " ")[:19]])
            item.setData(0, Qt.ItemDataRole.UserRole, take.id)
            tint = STATE_TINTS.get(state.split(" (")[0])
            if tint:
                item.setForeground(3, QColor(COLORS[tint]))
            item.setToolTip(0, take.file + (f" (from frame {take.offset})" if take.offset else ""))
            self.addTopLevelItem(item)
        for i in range(len(self.COLUMNS)):
            self.resizeColumnToContents(i)

    def item_for(self, take_id: str) -> QTreeWidgetItem | None:
        for i in range(self.topLevelItemCount()):
            item = self.topLevelItem(i)
            if item.data(0, Qt.ItemDataRole.UserRole) == take_id:
                return item
        return None

    def states(self) -> dict[str, str]:
        """take id → state text, as listed (for tests and tooltips)."""
        return {self.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole): self.topLevelItem(i).text(3)
                for i in range(self.topLevelItemCount())}

    def _double_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        if self.shot_id is not None:
            self.actions_.use(self.shot_id, item.data(0, Qt.ItemDataRole.UserRole))

    def _menu(self, pos: QPoint) -> None:
        item = self.itemAt(pos)
        if item is None or self.shot_id is None:
            return
        self._menu_open = self.actions_.menu(self.shot_id, self, item.data(0, Qt.ItemDataRole.UserRole))
        self._menu_open.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # gone when closed, not kept per click
        self._menu_open.popup(self.viewport().mapToGlobal(pos))
