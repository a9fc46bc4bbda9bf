"""The open document: a Project, its undo stack and its file state, as Qt signals.

Every user edit goes through :meth:`Document.push`, which applies a pure-Python
:class:`~soul_studio.project.edits.Edit` and records it as an :class:`EditCommand`.
Takes reported by the renderer are recorded with :meth:`Document.apply_untracked`:
they change the document (it becomes dirty) but are not undo steps, so Ctrl+Z never
throws away a finished render.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from soul_studio.project.edits import Edit
from soul_studio.project.model import Project

MERGE_ID = 0x5011  # one id for all mergeable edits; Edit.merge decides


class EditCommand(QUndoCommand):
    """A QUndoCommand around one Edit; typing edits with equal merge keys merge."""

    def __init__(self, project: Project, edit: Edit, applied: bool = False) -> None:
        super().__init__(edit.text)
        self.project = project
        self.edit = edit
        self._skip_first_redo = applied

    def redo(self) -> None:
        if self._skip_first_redo:
            self._skip_first_redo = False
            return
        self.edit.apply(self.project)

    def undo(self) -> None:
        self.edit.revert(self.project)

    def id(self) -> int:
        return MERGE_ID if self.edit.merge_key() is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, EditCommand):
            return False
        return self.edit.merge(other.edit)


class Document(QObject):
    """Holds the project and tells the panels what changed."""

    changed = Signal(str, object)  # kind, subject — forwarded from Project.notify
    dirty_changed = Signal(bool)
    path_changed = Signal(object)

    def __init__(self, project: Project, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.undo_stack = QUndoStack(self)
        self._untracked = False
        self.undo_stack.cleanChanged.connect(lambda _clean: self.dirty_changed.emit(self.is_dirty))
        project.subscribe(self._forward)

    def _forward(self, kind: str, subject: Any) -> None:
        self.changed.emit(kind, subject)

    def close(self) -> None:
        self.project.unsubscribe(self._forward)

    # ------------------------------------------------------------- edits
    def push(self, edit: Edit) -> None:
        """Apply ``edit`` now (errors reach the caller) and make it an undo step."""
        edit.apply(self.project)
        self.undo_stack.push(EditCommand(self.project, edit, applied=True))

    def apply_untracked(self, edit: Edit) -> None:
        """Apply a bookkeeping edit (a finished take) without an undo step."""
        edit.apply(self.project)
        if not self._untracked:
            self._untracked = True
            self.dirty_changed.emit(True)

    def mark_modified(self) -> None:
        """Dirty without an edit (a recovered autosave differs from the file on disk)."""
        if not self._untracked:
            self._untracked = True
            self.dirty_changed.emit(True)

    # ------------------------------------------------------------ state
    @property
    def is_dirty(self) -> bool:
        return self._untracked or not self.undo_stack.isClean()

    def mark_saved(self, path: Path | None = None) -> None:
        self._untracked = False
        self.undo_stack.setClean()
        self.dirty_changed.emit(False)
        if path is not None:
            self.path_changed.emit(path)

    @property
    def title(self) -> str:
        if self.project.path is not None:
            return self.project.path.name
        return f"{self.project.name} (unsaved)"
