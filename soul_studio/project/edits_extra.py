"""More reversible edits used by the studio: media bin changes and grouped edits.

Pure Python like :mod:`soul_studio.project.edits`; the UI wraps each in a QUndoCommand.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from soul_studio.project.edits import Edit
from soul_studio.project.model import MediaItem, Project


@dataclass
class AddMediaItems(Edit):
    """Import files into the media bin (paths already project-relative)."""

    items: list[MediaItem]
    text: str = "Import Media"

    def apply(self, project: Project) -> None:
        project.media.extend(self.items)
        project.notify("media", None)

    def revert(self, project: Project) -> None:
        for item in self.items:
            project.media.remove(item)
        project.notify("media", None)


@dataclass
class RemoveMediaItems(Edit):
    """Take items out of the bin; shots that use the files keep them."""

    item_ids: list[str]
    text: str = "Remove Media"
    _removed: list[tuple[int, MediaItem]] = field(default_factory=list, repr=False)

    def apply(self, project: Project) -> None:
        self._removed = [(i, m) for i, m in enumerate(project.media) if m.id in self.item_ids]
        for _, item in self._removed:
            project.media.remove(item)
        project.notify("media", None)

    def revert(self, project: Project) -> None:
        for index, item in self._removed:
            project.media.insert(index, item)
        project.notify("media", None)


@dataclass
class SetMarkerFields(Edit):
    marker_id: str
    changes: dict[str, object]
    text: str = "Edit Marker"
    _old: dict[str, object] = field(default_factory=dict, repr=False)

    def apply(self, project: Project) -> None:
        marker = next(m for m in project.timeline.markers if m.id == self.marker_id)
        if not self._old:
            self._old = {k: getattr(marker, k) for k in self.changes}
        for key, value in self.changes.items():
            setattr(marker, key, value)
        project.timeline.markers.sort(key=lambda m: m.frame)
        project.notify("markers", marker)

    def revert(self, project: Project) -> None:
        marker = next(m for m in project.timeline.markers if m.id == self.marker_id)
        for key, value in self._old.items():
            setattr(marker, key, value)
        project.timeline.markers.sort(key=lambda m: m.frame)
        project.notify("markers", marker)


@dataclass
class CompoundEdit(Edit):
    """Several edits as one undo step (a drop that adds a character and a shot)."""

    edits: list[Edit]
    text: str = "Edit"
    _applied: int = 0

    def apply(self, project: Project) -> None:
        self._applied = 0
        try:
            for edit in self.edits:
                edit.apply(project)
                self._applied += 1
        except Exception:
            for edit in reversed(self.edits[: self._applied]):
                edit.revert(project)
            self._applied = 0
            raise

    def revert(self, project: Project) -> None:
        for edit in reversed(self.edits[: self._applied or len(self.edits)]):
            edit.revert(project)
        self._applied = 0
