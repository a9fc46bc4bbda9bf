"""Ctrl+Z / Ctrl+Shift+Z / Ctrl+Y reach the project's undo stack even while a text field has focus.

Text fields claim their own undo keys (a ShortcutOverride); every edit they make is
already an undo step of the project, so the studio's Undo and Redo win, as in NLEs.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QApplication, QWidget


class ProjectUndoKeys(QObject):
    """An application event filter that lets the window's Undo/Redo shortcuts fire inside fields."""

    def __init__(self, window: QWidget, undo: QAction, redo: QAction) -> None:
        super().__init__(window)
        self.window = window
        self.undo, self.redo = undo, redo
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def _matches(self, event: QKeyEvent) -> bool:
        pressed = QKeySequence(event.keyCombination())
        return any(seq.matches(pressed) == QKeySequence.SequenceMatch.ExactMatch
                   for action in (self.undo, self.redo) for seq in action.shortcuts())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if (event.type() == QEvent.Type.ShortcutOverride and isinstance(watched, QWidget)
                and isinstance(event, QKeyEvent) and self._matches(event)
                and (watched is self.window or self.window.isAncestorOf(watched))):
            event.ignore()  # not overridden: the window's shortcut handles the key
            return True
        return False
