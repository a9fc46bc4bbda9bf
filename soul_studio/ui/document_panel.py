"""The wiring every list panel shares: follow one document's changes, switch to a new document.

A panel names the change kinds that concern it in ``REFRESH_ON`` and implements
``refresh``; :class:`DocumentPanel` connects to the document, refreshes on those kinds
and moves the connection over when the window opens another project.
"""

from __future__ import annotations

from typing import ClassVar

from soul_studio.ui.document import Document


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
