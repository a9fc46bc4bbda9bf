"""What the panels share besides the document: playhead, selection, in/out marks."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class EditorState(QObject):
    """The playhead frame, the selected shots (ordered) and the in/out range."""

    playhead_changed = Signal(int)
    selection_changed = Signal()
    in_out_changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._playhead = 0
        self._selection: list[str] = []
        self.mark_in: int | None = None
        self.mark_out: int | None = None

    @property
    def playhead(self) -> int:
        return self._playhead

    def set_playhead(self, frame: int) -> None:
        frame = max(0, int(frame))
        if frame != self._playhead:
            self._playhead = frame
            self.playhead_changed.emit(frame)

    @property
    def selection(self) -> list[str]:
        return list(self._selection)

    @property
    def current_shot(self) -> str | None:
        """The shot the Inspector shows: the last one selected."""
        return self._selection[-1] if self._selection else None

    def select(self, shot_ids: list[str]) -> None:
        ids = list(dict.fromkeys(shot_ids))
        if ids != self._selection:
            self._selection = ids
            self.selection_changed.emit()

    def toggle(self, shot_id: str) -> None:
        ids = self.selection
        if shot_id in ids:
            ids.remove(shot_id)
        else:
            ids.append(shot_id)
        self.select(ids)

    def prune(self, existing: set[str]) -> None:
        """Forget selected shots that no longer exist (after a delete or undo)."""
        kept = [s for s in self._selection if s in existing]
        if kept != self._selection:
            self.select(kept)

    def set_in_out(self, mark_in: int | None, mark_out: int | None) -> None:
        self.mark_in, self.mark_out = mark_in, mark_out
        self.in_out_changed.emit()

    def in_out(self) -> tuple[int, int] | None:
        if self.mark_in is None or self.mark_out is None or self.mark_out <= self.mark_in:
            return None
        return self.mark_in, self.mark_out
