"""The studio's main window: docks, menus, document life cycle, autosave, rendering."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QToolButton,
    QWidget,
)

from soul_studio.project import (
    Marker,
    Project,
    ProjectError,
    ProjectFileError,
    has_newer_autosave,
    load_project,
    missing_media,
    save_project,
    write_autosave,
)
from soul_studio.project.edits import AddMarker, Edit, RemoveShots, SetCharacterFields, SetShotFields
from soul_studio.project.edits_extra import CompoundEdit
from soul_studio.project.lock import LockHolder
from soul_studio.project.storage import discard_autosave
from soul_studio.render.split import split_keeping_picture
from soul_studio.render.takes import TakeJudge, missing_finals
from soul_studio.ui.cast_panel import CastPanel
from soul_studio.ui.dialogs import NewProjectDialog, PreferencesDialog, RelinkDialog, ShortcutsDialog, show_error
from soul_studio.ui.document import Document
from soul_studio.ui.edit_commands import EditCommands
from soul_studio.ui.gui_gc import GuiThreadCollector
from soul_studio.ui.inspector import Inspector
from soul_studio.ui.markers import MarkerList
from soul_studio.ui.media_bin import MediaBin
from soul_studio.ui.media_cache import MediaCache
from soul_studio.ui.project_files import autosave_elsewhere, keep_declined_autosave, rescue_unsaved
from soul_studio.ui.render_controller import ManagerFactory, RenderController, default_manager_factory
from soul_studio.ui.render_queue import RenderQueuePanel
from soul_studio.ui.settings import StudioSettings
from soul_studio.ui.state import EditorState
from soul_studio.ui.take_picker import TakeActions
from soul_studio.ui.theme import icon
from soul_studio.ui.timeline import TimelinePanel
from soul_studio.ui.undo_keys import ProjectUndoKeys
from soul_studio.ui.viewer import Viewer

APP_TITLE = "Soul Studio"


class Prompts:
    """The questions the window asks; tests replace them with scripted answers."""

    def __init__(self, window: QWidget) -> None:
        self.window = window

    def recover_autosave(self, path: Path) -> bool:
        answer = QMessageBox.question(
            self.window, "Recover unsaved changes?",
            f"Soul Studio did not close cleanly. An autosave of {path.name} is newer than the saved file.\n\n"
            "Recover the autosaved version?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes)
        return answer == QMessageBox.StandardButton.Yes

    def save_changes(self, title: str) -> str:
        answer = QMessageBox.question(
            self.window, "Save changes?", f"Save the changes to {title} before closing?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save)
        return {QMessageBox.StandardButton.Save: "save", QMessageBox.StandardButton.Discard: "discard"}.get(
            answer, "cancel")

    def relink(self, missing: list[Path]) -> dict[Path, Path]:
        dialog = RelinkDialog(missing, self.window)
        return dialog.found if dialog.exec() else {}

    def error(self, title: str, error: BaseException | str) -> None:
        show_error(self.window, title, error)


class MainWindow(QMainWindow):
    """Media bin, Cast, Viewer, Inspector, Timeline and Render queue around one document."""

    def __init__(self, settings: StudioSettings, project: Project | None = None,
                 manager_factory: ManagerFactory | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        GuiThreadCollector.hold_for(self)  # the window's own cycles hold Qt wrappers
        self.settings = settings
        self.prompts = Prompts(self)
        self.project_lock = LockHolder("Soul Studio")  # one writer per project (see soul_studio.project.lock)
        self.cache = MediaCache(parent=self)
        self.editor = EditorState(self)
        self.document = Document(project or Project(name="Untitled Scene"), self)
        self.actions: dict[str, QAction] = {}
        self.export_dialog: QWidget | None = None
        self.setDockNestingEnabled(True)
        self.setWindowIcon(icon("soul-studio"))
        self.setMinimumSize(1100, 680)

        factory = manager_factory or default_manager_factory(settings.default_backend, settings.cache_folder / "engine",
                                                              settings)
        self.renderer = RenderController(self.document, settings, factory, self)

        self.viewer = Viewer(self.document, self.editor, self.cache)
        self.timeline = TimelinePanel(self.document, self.editor, self.cache)
        self.timeline.view.job_overlay = self.renderer.overlay
        self.take_actions = TakeActions(self.document, self)
        self.inspector = Inspector(self.document, self.editor, take_actions=self.take_actions)
        self.cast = CastPanel(self.document, self.cache)
        self.media = MediaBin(self.document, self.cache)
        self.queue = RenderQueuePanel(self.document, self.renderer)
        self.commands = EditCommands(self)
        self.markers = MarkerList(self.document, self.editor)
        self._build_docks()
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_status()
        self._connect()

        self._rescued: Path | None = None  # this session's recovery copy, when autosave could not be written
        self._autosave = QTimer(self)
        self._autosave.setInterval(settings.autosave_seconds * 1000)
        self._autosave.timeout.connect(self.autosave)
        self._autosave.start()
        self._restore_layout()
        self._document_changed()

    # --------------------------------------------------------------- layout
    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        self.setCentralWidget(self.viewer)
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.docks = {
            "media": self._dock("Media", "dock_media", self.media, Qt.DockWidgetArea.LeftDockWidgetArea),
            "cast": self._dock("Cast", "dock_cast", self.cast, Qt.DockWidgetArea.LeftDockWidgetArea),
            "inspector": self._dock("Inspector", "dock_inspector", self.inspector, Qt.DockWidgetArea.RightDockWidgetArea),
            "queue": self._dock("Render Queue", "dock_queue", self.queue, Qt.DockWidgetArea.RightDockWidgetArea),
            "markers": self._dock("Markers", "dock_markers", self.markers, Qt.DockWidgetArea.RightDockWidgetArea),
            "timeline": self._dock("Timeline", "dock_timeline", self.timeline, Qt.DockWidgetArea.BottomDockWidgetArea),
        }
        self.splitDockWidget(self.docks["media"], self.docks["cast"], Qt.Orientation.Vertical)
        self.splitDockWidget(self.docks["inspector"], self.docks["queue"], Qt.Orientation.Vertical)
        self.tabifyDockWidget(self.docks["queue"], self.docks["markers"])
        self.docks["queue"].raise_()
        self._default_state: object = None
        self._sized = False

    def _size_docks(self) -> None:
        """Default proportions: side columns ~20 % of the width, timeline ~30 % of the height."""
        w, h = max(1100, self.width()), max(680, self.height())
        self.resizeDocks([self.docks["media"], self.docks["inspector"]], [int(w * 0.2), int(w * 0.24)],
                         Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["timeline"]], [int(h * 0.34)], Qt.Orientation.Vertical)
        self.resizeDocks([self.docks["inspector"], self.docks["queue"]], [int(h * 0.36), int(h * 0.28)],
                         Qt.Orientation.Vertical)
        self.resizeDocks([self.docks["media"], self.docks["cast"]], [int(h * 0.22), int(h * 0.40)],
                         Qt.Orientation.Vertical)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._sized:
            self._sized = True
            if self.settings.window_state()[1] is None:
                self._size_docks()
            if self._default_state is None:
                self._default_state = self.saveState()

    def _restore_layout(self) -> None:
        geometry, state = self.settings.window_state()
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)

    def reset_layout(self) -> None:
        for dock in self.docks.values():
            dock.setFloating(False)
            dock.show()
        self._size_docks()

    # -------------------------------------------------------------- actions
    def _action(self, key: str, text: str, slot: Callable[[], object], shortcut: str | QKeySequence | None = None,
                icon_name: str | None = None, checkable: bool = False,
                context: Qt.ShortcutContext = Qt.ShortcutContext.WindowShortcut) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(context)
        if icon_name:
            action.setIcon(icon(icon_name))
        action.setCheckable(checkable)
        if checkable:
            action.toggled.connect(slot)
        else:
            action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        self.actions[key] = action
        return action

    def _build_actions(self) -> None:
        a = self._action
        std = QKeySequence.StandardKey
        a("new", "&New Project…", self.new_project, std.New)
        a("open", "&Open…", self.open_dialog, std.Open, "folder")
        a("save", "&Save", self.save, std.Save)
        a("save_as", "Save &As…", self.save_as, std.SaveAs)
        a("import", "&Import Media…", self.media.import_dialog, "Ctrl+I", "import")
        a("import_script", "Import &Script…", self.import_script, "Ctrl+Shift+I")
        a("export", "&Export…", self.export, "Ctrl+E")
        a("relink", "&Relink Missing Media…", self.relink_missing)
        a("preferences", "&Preferences…", self.preferences, "Ctrl+,", "settings")
        a("quit", "&Quit", self.close, "Ctrl+Q")  # StandardKey.Quit is empty on some platforms
        a("undo", "&Undo", lambda: self.document.undo_stack.undo(), std.Undo, "undo")
        redo = a("redo", "&Redo", lambda: self.document.undo_stack.redo(), None, "redo")
        # one binding per key: StandardKey.Redo already is Ctrl+Shift+Z on Linux, so name both keys once
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self._bind_undo()
        a("select_all", "Select &All Shots", self.select_all, std.SelectAll)
        a("deselect", "&Deselect", lambda: self.editor.select([]), "Ctrl+Shift+A")
        a("ripple_delete", "Ripple &Delete", lambda: self.delete_selected(True), "Delete", "ripple")
        a("lift", "&Lift (leave gap)", lambda: self.delete_selected(False), "Backspace")
        a("split", "S&plit at Playhead", self.split_at_playhead, "Ctrl+B", "blade")
        a("marker", "Add &Marker", self.add_marker, "M", "marker")
        self.commands.register(a)
        a("zoom_in", "Zoom &In", lambda: self.timeline.view.zoom(1.5), "Ctrl+=", "zoom-in")
        a("zoom_out", "Zoom &Out", lambda: self.timeline.view.zoom(1 / 1.5), "Ctrl+-", "zoom-out")
        a("zoom_fit", "Zoom to &Fit", self.timeline.view.fit, "Shift+Z", "zoom-fit")
        snap = a("snap", "&Snapping", lambda on: setattr(self.timeline.view, "snapping", on), "N", "snap", True)
        snap.setChecked(True)
        a("play", "&Play / Pause", self.viewer.toggle_play, "Space", "play")
        a("reverse", "Play &Reverse (J)", lambda: self.viewer.shuttle(-1), "J")
        a("stop", "&Stop (K)", lambda: self.viewer.shuttle(0), "K")
        a("forward", "Play &Forward (L)", lambda: self.viewer.shuttle(1), "L")
        a("slow_reverse", "Slow Reverse", lambda: self.viewer.slow(-1), "Shift+J")
        a("slow_forward", "Slow Forward", lambda: self.viewer.slow(1), "Shift+L")
        a("prev_frame", "Previous Frame", lambda: self.viewer.step(-1), "Left")
        a("next_frame", "Next Frame", lambda: self.viewer.step(1), "Right")
        a("back_10", "Back 10 Frames", lambda: self.viewer.step(-10), "Shift+Left")
        a("fwd_10", "Forward 10 Frames", lambda: self.viewer.step(10), "Shift+Right")
        a("prev_edit", "Previous Edit", lambda: self._jump_edit(-1), "Up")
        a("next_edit", "Next Edit", lambda: self._jump_edit(1), "Down")
        a("start", "Go to Start", self.viewer.go_start, "Home", "to-start")
        a("end", "Go to End", self.viewer.go_end, "End", "to-end")
        a("mark_in", "Mark &In", self.viewer.mark_in, "I", "mark-in")
        a("mark_out", "Mark &Out", self.viewer.mark_out, "O", "mark-out")
        a("clear_in_out", "Clear In/Out", lambda: self.editor.set_in_out(None, None), "Alt+X")
        a("fullscreen", "&Full Screen Viewer", self.viewer.toggle_fullscreen, "F", "fullscreen")
        a("render_draft", "Render &Draft of Selection", lambda: self.render_selection("draft"), "Ctrl+R", "render")
        a("render_final", "Render &Final of Selection", lambda: self.render_selection("final"), "Ctrl+Shift+R",
          "render-final")
        a("render_final_all", "Render Final of &All Shots", lambda: self.renderer.render_all("final"))
        a("render_drafts_all", "Render Drafts of All Shots", lambda: self.renderer.render_all("draft"))
        a("render_missing", "Render What's &Missing", self.render_missing, "Ctrl+Alt+R", "render-final")
        auto = a("auto_draft", "&Automatic Drafts", self.renderer.set_auto_draft, None, "render", True)
        auto.setChecked(self.renderer.auto_draft)
        a("reset_layout", "&Reset Panel Layout", self.reset_layout)
        a("shortcuts", "&Keyboard Shortcuts", self.show_shortcuts, "Ctrl+/")
        a("about", "&About Soul Studio", self.about)
        self.actions["import_script"].setEnabled(self._dialog_class("script_import_dialog", "ScriptImportDialog") is not None)
        self.actions["export"].setEnabled(self._dialog_class("export_dialog", "ExportDialog") is not None)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        ac = self.actions
        self.menus: dict[str, list[str]] = {
            "&File": ["new", "open", "@recent", "-", "save", "save_as", "-", "import", "import_script", "relink", "-",
                      "export", "-", "preferences", "-", "quit"],
            "&Edit": ["undo", "redo", "-", "select_all", "deselect", "-", "new_shot", "new_shot_audio", "new_shot_line", "-",
                      "insert", "overwrite", "append", "-", "ripple_delete", "lift", "split", "close_gap", "-",
                      "ripple_start", "ripple_end", "roll"],
            "&Timeline": ["marker", "-", "zoom_in", "zoom_out", "zoom_fit", "-", "snap", "-", "prev_edit", "next_edit"],
            "&Playback": ["play", "reverse", "stop", "forward", "slow_reverse", "slow_forward", "-", "prev_frame", "next_frame", "back_10", "fwd_10",
                          "start", "end", "-", "mark_in", "mark_out", "clear_in_out", "-", "fullscreen"],
            "&Render": ["render_draft", "render_final", "-", "render_missing", "render_drafts_all", "render_final_all",
                        "-", "auto_draft"],
            "&Window": ["@docks", "-", "reset_layout"],
            "&Help": ["shortcuts", "-", "about"],
        }
        for title, keys in self.menus.items():
            menu = bar.addMenu(title)
            for key in keys:
                if key == "-":
                    menu.addSeparator()
                elif key == "@recent":
                    self.recent_menu = menu.addMenu("Open &Recent")
                    self.recent_menu.aboutToShow.connect(self._fill_recent)
                    self._fill_recent()
                elif key == "@docks":
                    for dock in self.docks.values():
                        menu.addAction(dock.toggleViewAction())
                else:
                    menu.addAction(ac[key])

    def _build_toolbar(self) -> None:
        tb = self.addToolBar("Main")
        tb.setObjectName("toolbar_main")
        tb.setMovable(False)
        tb.setIconSize(QSize(18, 18))
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        for key in ("open", "import", "-", "undo", "redo", "-", "render_draft", "render_final", "auto_draft"):
            if key == "-":
                tb.addSeparator()
            elif key.startswith("render") or key == "auto_draft":
                button = QToolButton()
                button.setDefaultAction(self.actions[key])
                button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
                button.setIconSize(QSize(18, 18))
                button.setText({"render_draft": "Draft", "render_final": "Final", "auto_draft": "Auto Draft"}[key])
                tb.addWidget(button)
            else:
                tb.addAction(self.actions[key])
        self.actions["auto_draft"].setToolTip("Automatic drafts: render a draft shortly after each edit")
        spacer = QWidget()
        spacer.setSizePolicy(spacer.sizePolicy().horizontalPolicy().Expanding,
                             spacer.sizePolicy().verticalPolicy().Preferred)
        tb.addWidget(spacer)
        self.project_label = QLabel("")
        self.project_label.setStyleSheet("color: #e6e7ea; font-weight: 600; padding-right: 10px;")
        tb.addWidget(self.project_label)
        for key in ("split", "marker", "snap"):
            b = QToolButton()
            b.setDefaultAction(self.actions[key])
            b.setIconSize(QSize(18, 18))
            b.setAutoRaise(True)
            self.timeline.add_tool(b)

    def _build_status(self) -> None:
        status = self.statusBar()
        self.engine_label = QLabel("Engine stopped")
        self.format_label = QLabel("")
        status.addPermanentWidget(self.format_label)
        status.addPermanentWidget(self.engine_label)

    def _connect(self) -> None:
        self.document.dirty_changed.connect(lambda _d: self._update_title())
        self.document.changed.connect(self._on_document_change)
        self.renderer.engine_changed.connect(self._engine_changed)
        self.renderer.job_changed.connect(lambda _s: self.timeline.view.canvas.update())
        self.renderer.take_added.connect(self._take_added)
        self.renderer.preview.connect(self.viewer.set_preview)
        self.inspector.render_requested.connect(lambda ids, q: self.renderer.render(ids, q))
        self.inspector.take_activated.connect(self._take_activated)
        self.take_actions.compare_requested.connect(self.viewer.compare)
        self.take_actions.message.connect(lambda m: self.statusBar().showMessage(m, 6000))
        self.take_actions.error.connect(self.prompts_error)
        self.undo_keys = ProjectUndoKeys(self, self.actions["undo"], self.actions["redo"])
        self.timeline.view.shot_activated.connect(self._take_activated)
        self.editor.selection_changed.connect(self._follow_selection)
        self.timeline.view.context_requested.connect(self._timeline_menu)
        for panel in (self.inspector, self.cast, self.media, self.queue, self.timeline.view):
            panel.error.connect(self.prompts_error)
        self.timeline.view.message.connect(lambda m: self.statusBar().showMessage(m, 4000))
        self.cache.failed.connect(lambda _k, path, msg: self.statusBar().showMessage(f"Cannot read {path}: {msg}", 8000))

    # -------------------------------------------------------------- updates
    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.document.title}[*] — {APP_TITLE}")
        self.setWindowModified(self.document.is_dirty)

    def _document_changed(self) -> None:
        project = self.document.project
        self.project_label.setText(project.name)
        self.format_label.setText(f"{project.width}×{project.height}  ·  {project.fps:g} fps")
        self._update_title()
        self._engine_changed()

    def _on_document_change(self, kind: str, _subject: object) -> None:
        if kind == "project":
            self._document_changed()

    def _engine_changed(self) -> None:
        self.engine_label.setText(self.renderer.status_text())
        tint = {"running": "#7fd3a0", "failed": "#e5484d", "restarting": "#e0a040", "starting": "#e0a040"}.get(
            self.renderer.engine_status, "#9a9da4")
        self.engine_label.setStyleSheet(f"color: {tint};")
        if self.renderer.engine_status == "restarting":
            self.statusBar().showMessage("The render engine stopped; restarting it. Your edits are safe.", 8000)

    def _take_added(self, shot_id: str) -> None:
        self.timeline.view.invalidate_states(shot_id)
        self.viewer.set_preview(shot_id, None)
        self.inspector.refresh()

    def _timeline_menu(self, pos: object, shot_id: str) -> None:
        menu = QMenu(self)
        keys = (["render_draft", "render_final", "-", "split", "ripple_delete", "lift", "-", "marker"] if shot_id
                else ["marker", "-", "select_all", "zoom_fit"])
        for key in keys:
            if key == "-":
                menu.addSeparator()
            else:
                menu.addAction(self.actions[key])
        if shot_id:
            menu.insertMenu(menu.actions()[0], self.take_actions.menu(shot_id, menu, judge=self.timeline.view.judge()))
            menu.insertSeparator(menu.actions()[1])
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # one menu per right-click, gone when closed
        menu.popup(pos)  # type: ignore[arg-type]
        self._menu = menu

    def _follow_selection(self) -> None:
        """The Cast panel shows the character of the shot being inspected."""
        shot_id = self.editor.current_shot
        shot = self.document.project.shots.get(shot_id) if shot_id else None
        if shot is not None and shot.character_id:
            self.cast.show_character(shot.character_id)

    def _take_activated(self, shot_id: str, _take_id: str = "") -> None:
        placement = self.timeline.view.layout.placement_of(shot_id)
        if placement is not None:
            self.editor.set_playhead(placement.start)

    def _jump_edit(self, direction: int) -> None:
        points = self.timeline.view.layout.edit_points()
        here = self.editor.playhead
        candidates = [f for f in points if (f > here if direction > 0 else f < here)]
        if candidates:
            self.editor.set_playhead(candidates[0] if direction > 0 else candidates[-1])

    # ------------------------------------------------------------ document
    def set_project(self, project: Project) -> None:
        """Show ``project`` in every panel (after New or Open)."""
        old = self.document
        self.document = Document(project, self)
        self.document.dirty_changed.connect(lambda _d: self._update_title())
        self.document.changed.connect(self._on_document_change)
        self._bind_undo()
        self.editor.select([])
        self.editor.set_in_out(None, None)
        self.editor.set_playhead(0)
        for panel in (self.viewer, self.timeline, self.inspector, self.cast, self.media, self.queue, self.renderer,
                      self.markers):
            panel.set_document(self.document)
        old.close()
        old.deleteLater()
        self._document_changed()
        QTimer.singleShot(0, self.timeline.view.fit)

    def _bind_undo(self) -> None:
        """Keep the Undo/Redo actions' text and state in step with the current undo stack."""
        stack = self.document.undo_stack
        stack.indexChanged.connect(self._sync_undo)
        stack.cleanChanged.connect(self._sync_undo)
        self._sync_undo()

    def _sync_undo(self, *_args: object) -> None:
        stack = self.document.undo_stack
        undo, redo = self.actions["undo"], self.actions["redo"]
        undo.setEnabled(stack.canUndo())
        redo.setEnabled(stack.canRedo())
        undo.setText(f"&Undo {stack.undoText()}".rstrip())
        redo.setText(f"&Redo {stack.redoText()}".rstrip())

    def _confirm_discard(self) -> bool:
        if not self.document.is_dirty:
            return True
        answer = self.prompts.save_changes(self.document.title)
        if answer == "save":
            return self.save()
        if answer == "discard" and self.document.project.path is not None:
            discard_autosave(self.document.project.path)  # the changes were thrown away on purpose
        return answer == "discard"

    def new_project(self) -> None:
        if not self._confirm_discard():
            return
        dialog = NewProjectDialog(self, self.document.project.folder)
        if not dialog.exec():
            return
        values = dialog.values()
        path = Path(values.pop("path"))  # type: ignore[arg-type]
        project = Project(**values)  # type: ignore[arg-type]
        project.settings.default_backend = self.settings.default_backend
        project.settings.auto_draft = self.settings.auto_draft
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.project_lock.claim(path if path.suffix == ".soulproj" else path.with_suffix(".soulproj"))
            save_project(project, path)
        except (ProjectError, OSError) as exc:
            self.prompts.error("Cannot create the project", exc)
            return
        self.settings.add_recent(path)
        self.set_project(project)

    def open_dialog(self) -> None:
        if not self._confirm_discard():
            return
        start = str(self.document.project.folder or Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Open Project", start, "Soul Studio project (*.soulproj)")
        if path:
            self.open_project(Path(path), confirm=False)

    def open_project(self, path: Path | str, confirm: bool = True) -> bool:
        """Open ``path``: offers autosave recovery and relinking; errors are shown, never raised."""
        path = Path(path)
        if confirm and not self._confirm_discard():
            return False
        recovered = False
        declined = False
        try:
            if has_newer_autosave(path) and path.exists():
                if self.prompts.recover_autosave(path):
                    project = load_project(path, from_autosave=True)
                    recovered = True
                else:
                    declined = True
                    project = load_project(path)
            else:
                project = load_project(path)
        except ProjectFileError as exc:
            self.prompts.error("Cannot open the project", exc)
            return False
        try:
            self.project_lock.claim(path)
        except ProjectError as exc:
            self.prompts.error("Cannot open the project", exc)
            return False
        self.settings.add_recent(path)
        self.set_project(project)
        if recovered:
            self.document.mark_modified()
            self.statusBar().showMessage("Recovered the autosaved version; save to keep it.", 8000)
        elif declined:
            self.statusBar().showMessage(keep_declined_autosave(path), 8000)
        else:
            discard_autosave(path)
        missing = missing_media(project)
        if missing:
            self.relink(missing)
        return True

    def relink_missing(self) -> None:
        missing = missing_media(self.document.project)
        if not missing:
            self.statusBar().showMessage("No media is missing.", 4000)
            return
        self.relink(missing)

    def relink(self, missing: list[Path]) -> int:
        """Ask where missing files went and point the project at them (one undo step)."""
        found = self.prompts.relink(missing)
        if not found:
            return 0
        project = self.document.project
        edits: list[Edit] = []
        for c in project.characters:
            p = project.resolve(c.portrait)
            if p is not None and p in found:
                edits.append(SetCharacterFields(c.id, {"portrait": project.relative(found[p])}, text="Relink"))
        for s in project.shots.values():
            p = project.resolve(s.audio)
            if p is not None and p in found:
                edits.append(SetShotFields(s.id, {"audio": project.relative(found[p])}, text="Relink"))
        for m in project.media:
            p = project.resolve(m.path)
            if p is not None and p in found:
                m.path = project.relative(found[p])
        if edits:
            self.document.push(CompoundEdit(edits, text="Relink Media"))
        return len(edits)

    def save(self) -> bool:
        if self.document.project.path is None:
            return self.save_as()
        return self._save_to(self.document.project.path)

    def save_as(self) -> bool:
        start = str(self.document.project.path or (Path.home() / f"{self.document.project.name}.soulproj"))
        path, _ = QFileDialog.getSaveFileName(self, "Save Project As", start, "Soul Studio project (*.soulproj)")
        return self._save_to(Path(path)) if path else False

    def _save_to(self, path: Path) -> bool:
        try:
            self.project_lock.claim(path if path.suffix == ".soulproj" else path.with_suffix(".soulproj"))
            written = save_project(self.document.project, path)
        except ProjectFileError as exc:  # nothing was written: keep a copy of the work and say where
            own = self.document.project.path is not None and path.resolve() == self.document.project.path.resolve()
            message = rescue_unsaved(self.document.project, exc, self.settings.recovery_folder) if own else str(exc)
            self.prompts.error("Cannot save the project", message)
            return False
        except ProjectError as exc:
            self.prompts.error("Cannot save the project", exc)
            return False
        self.document.mark_saved(written)
        self.settings.add_recent(written)
        self._update_title()
        self.statusBar().showMessage(f"Saved {written}", 4000)
        if self.renderer.manager is not None and hasattr(self.renderer.manager, "set_project"):
            self.renderer.manager.set_project(self.document.project)
        return True

    def autosave(self) -> Path | None:
        """Write the autosave file when there are unsaved changes (saved projects only)."""
        if not self.document.is_dirty or self.document.project.path is None:
            return None
        try:
            return write_autosave(self.document.project)
        except ProjectFileError as exc:  # a folder that cannot be written: the copy goes to the data folder
            self._rescued, message = autosave_elsewhere(self.document.project, exc, self.settings.recovery_folder,
                                                        self._rescued)
            self.statusBar().showMessage(message, 8000)
            return self._rescued

    def _fill_recent(self) -> None:
        menu = self.recent_menu
        menu.clear()
        recent = self.settings.recent_files()
        for path in recent:
            action = menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(lambda _c=False, p=path: self.open_project(Path(p)))
        if not recent:
            menu.addAction("No recent projects").setEnabled(False)
        menu.addSeparator()
        menu.addAction("Clear Recent", self.settings.clear_recent)

    # ---------------------------------------------------------------- edits
    def select_all(self) -> None:
        self.editor.select(self.document.project.timeline.shot_ids())

    def delete_selected(self, ripple: bool = True) -> None:
        ids = [s for s in self.editor.selection if not self.timeline.view.locked(s)]
        if len(ids) < len(self.editor.selection):
            self.statusBar().showMessage("Clips on locked tracks stay where they are", 4000)
        if ids:
            from soul_studio.project.ripple import ripple_delete  # sync lock: later clips on free tracks follow

            try:
                edit = ripple_delete(self.document.project, ids) if ripple else RemoveShots(ids, False, text="Lift")
            except ValueError as exc:
                self.statusBar().showMessage(str(exc), 4000)
                return
            self.document.push(edit)
            self.editor.select([])

    def split_at_playhead(self) -> None:
        frame = self.editor.playhead
        placement = self.document.project.placement_at(frame)
        if placement is None or frame <= placement.start:
            self.statusBar().showMessage("Put the playhead inside a shot to split it.", 4000)
            return
        try:
            edit = split_keeping_picture(self.document.project, placement.shot.id, frame)
        except ValueError as exc:
            self.statusBar().showMessage(str(exc), 4000)
            return
        self.document.push(edit)

    def add_marker(self) -> None:
        n = len(self.document.project.timeline.markers) + 1
        self.document.push(AddMarker(Marker(self.editor.playhead, name=f"Marker {n}")))

    def render_missing(self, shot_ids: list[str] | None = None) -> list[str]:
        """Render a final of every shot (of the selection, when given) whose take in use is not a fresh final."""
        if self.document.project.folder is None:
            self.prompts.error("Save the project first", "Takes are written into the project's takes/ folder.")
            return []
        ids = missing_finals(self.document.project, shot_ids, TakeJudge(self.document.project))
        if not ids:
            self.statusBar().showMessage("Every shot has a fresh final take.", 5000)
            return []
        self.statusBar().showMessage(f"Rendering finals of {len(ids)} shot{'s' if len(ids) > 1 else ''}", 5000)
        return self.renderer.render(ids, "final")

    def prompts_error(self, title: str, text: str) -> None:
        self.prompts.error(title, text)

    def render_selection(self, quality: str) -> list[str]:
        ids = self.editor.selection or self.document.project.timeline.shot_ids()
        if self.document.project.folder is None:
            self.prompts.error("Save the project first", "Takes are written into the project's takes/ folder.")
            return []
        return self.renderer.render(ids, quality)

    # ---------------------------------------------------------------- other
    @staticmethod
    def _dialog_class(module: str, name: str) -> type | None:
        import importlib

        try:
            mod = importlib.import_module(f"soul_studio.ui.{module}")
        except ImportError:
            return None
        return getattr(mod, name, None)

    def export(self) -> None:
        cls = self._dialog_class("export_dialog", "ExportDialog")
        if cls is None:
            return
        rng = self.editor.in_out()
        if self.export_dialog is not None:
            self.export_dialog.raise_()
            return
        dialog = cls(self.document.project, parent=self, selection=self.editor.selection or None, in_out=rng)
        if hasattr(dialog, "render_missing_requested"):
            dialog.render_missing_requested.connect(self.render_missing)
        dialog.finished.connect(lambda _r: setattr(self, "export_dialog", None))
        self.export_dialog = dialog
        dialog.setModal(False)  # the export runs in the background; editing goes on
        dialog.show()

    def import_script(self) -> None:
        """File ▸ Import Script: choose a scene, then build its shots (voices made off the UI thread)."""
        cls = self._dialog_class("script_import_dialog", "ScriptImportDialog")
        if cls is None:
            return
        dialog = cls(self, self.document.project)
        if not dialog.exec():
            return
        choice = dialog.choice()
        if choice is None:
            return
        from soul_studio.script import import_scene

        project = self.document.project

        def build() -> Edit:
            return import_scene(project, choice.scene, choice.options)

        def finish(edit: Edit | None, error: BaseException | None) -> None:
            self.setEnabled(True)
            if error is not None:
                self.prompts.error("Cannot import the script", error)
                return
            assert edit is not None
            self.document.push(edit)
            shots = [s.id for s in getattr(edit, "shots", [])]
            if shots:
                self.editor.select(shots)
            self.statusBar().showMessage(f"Imported {len(shots)} shots from the script", 6000)

        self.statusBar().showMessage("Importing the script scene…")
        self.setEnabled(False)
        try:
            loop = asyncio.get_event_loop()
            running = loop.is_running()
        except RuntimeError:
            running = False
        if not running:
            try:
                finish(build(), None)
            except Exception as exc:  # noqa: BLE001 - shown to the user
                finish(None, exc)
            return
        future = loop.run_in_executor(None, build)

        def done(f: asyncio.Future[Edit]) -> None:
            exc = f.exception()
            finish(None if exc else f.result(), exc)

        future.add_done_callback(done)

    def preferences(self) -> None:
        gpus = []
        soul = next((b for b in self.renderer.engine_info.get("backends", []) or []
                     if isinstance(b, dict) and b.get("name") == "soul"), None)
        if soul:
            gpus = [str(d) for d in soul.get("devices", []) if "cuda" in str(d).lower()]
        dialog = PreferencesDialog(self.settings, self, gpus or None)
        if dialog.exec():
            dialog.apply()
            if self.renderer.manager is not None:
                self.renderer.manager.backend = self.settings.default_backend  # the machine decides the backend
            self.renderer.set_auto_draft(self.settings.auto_draft)
            self.actions["auto_draft"].setChecked(self.settings.auto_draft)
            self._autosave.setInterval(self.settings.autosave_seconds * 1000)

    def shortcut_groups(self) -> dict[str, list[tuple[str, str]]]:
        groups: dict[str, list[tuple[str, str]]] = {}
        for title, keys in self.menus.items():
            rows = []
            for key in keys:
                action = self.actions.get(key)
                if action is not None and not action.shortcut().isEmpty():
                    keys_text = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts())
                    rows.append((action.text().replace("&", ""), keys_text))
            if rows:
                groups[title.replace("&", "")] = rows
        groups["Timeline (mouse)"] = [
            ("Zoom around the pointer", "Ctrl+Wheel"),
            ("Scroll", "Wheel / Shift+Wheel"),
            ("Trim a shot", "Drag its left or right edge"),
            ("Reorder shots", "Drag a shot"),
            ("Add to selection", "Ctrl+Click / Shift+Click"),
            ("New shot", "Drop a portrait and audio"),
        ]
        return groups

    def show_shortcuts(self) -> None:
        ShortcutsDialog(self.shortcut_groups(), self).exec()

    def about(self) -> None:
        from soul_studio import __version__

        QMessageBox.about(self, "About Soul Studio",
                          f"<b>Soul Studio {__version__}</b><br>Storyboard dialogue scenes and render talking "
                          "digital humans.")

    def open_url(self, url: str) -> None:
        QDesktopServices.openUrl(QUrl(url))

    # ---------------------------------------------------------------- close
    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._confirm_discard():
            event.ignore()
            return
        self.settings.save_window_state(self.saveGeometry(), self.saveState())
        self.settings.sync()
        self.viewer.stop()
        self._autosave.stop()
        try:
            loop = asyncio.get_event_loop()
            if loop.is_running():
                loop.create_task(self.renderer.stop())
        except RuntimeError:
            pass
        self.cache.shutdown()
        self.project_lock.release()
        event.accept()
