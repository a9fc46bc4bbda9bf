"""One undo step for a whole import: a group of edits applied in order, reverted backwards."""

from __future__ import annotations

from dataclasses import dataclass, field

from soul_studio.project.edits import Edit
from soul_studio.project.model import Project


@dataclass
class EditGroup(Edit):
    """Several edits that the Edit menu shows (and undoes) as one."""

    edits: list[Edit] = field(default_factory=list)
    text: str = "Edit"

    def apply(self, project: Project) -> None:
        done: list[Edit] = []
        try:
            for edit in self.edits:
                edit.apply(project)
                done.append(edit)
        except Exception:
            for edit in reversed(done):  # leave the project as it was
                edit.revert(project)
            raise

    def revert(self, project: Project) -> None:
        for edit in reversed(self.edits):
            edit.revert(project)
