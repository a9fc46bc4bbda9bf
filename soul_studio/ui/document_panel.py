"""The wiring every list panel shares: follow one document's changes, switch to a new document.

A panel names the change kinds that concern it in ``REFRESH_ON`` and implements
``refresh``; :class:`DocumentPanel` connects to the document, refreshes on those kinds
and moves the connection over when the window opens another project.
:func:`header_row` and :func:`tool_button` build the row above a panel's list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from soul_studio.ui.document import Document
from soul_studio.ui.theme import icon


class DocumentPanel:
    """Mixin for a QWidget that shows one :class:`Document` (put it after the Qt base class)."""

    REFRESH_ON: ClassVar[tuple[str, ...]] = ("project",)
    document: Document

    def watch_document(self, document: Document) -> None:
        """Show ``document`` from now on (call once in ``__init__``; the panel refreshes itself)."""
        self.document = document
        document.changed.connect(self._on_document_changed)

    def set_document(self, document: Document) -> None:
        """The window opened another project: follow its document and show it."""
        self.document.changed.disconnect(self._on_document_changed)
        self.watch_document(document)
        self.refresh()

    def _on_document_changed(self, kind: str, _subject: object) -> None:
        if kind in self.REFRESH_ON:
            self.refresh()

    def refresh(self) -> None:
        raise NotImplementedError


def tool_button(icon_name: str, tip: str, slot: Callable[[], object]) -> QToolButton:
    """A small icon button with a tooltip that calls ``slot`` when clicked."""
    button = QToolButton()
    button.setIcon(icon(icon_name))
    button.setToolTip(tip)
    button.clicked.connect(lambda _checked=False: slot())
    return button


def header_row(*widgets: QWidget) -> tuple[QHBoxLayout, QLabel]:
    """The row above a panel's list: a dim count label on the left, ``widgets`` on the right."""
    row = QHBoxLayout()
    row.setContentsMargins(8, 4, 8, 2)
    count = QLabel("")
    count.setObjectName("dim")
    row.addWidget(count)
    row.addStretch(1)
    for widget in widgets:
        row.addWidget(widget)
    return row, count
