"""Errors of script import: each names the file (and line) so the writer can fix it."""

from __future__ import annotations

import os

from soul_studio.project.errors import ProjectError


class ScriptError(ProjectError):
    """A script-import problem the user can act on (no dialogue, missing tool, bad recording)."""


class ScreenplayError(ScriptError):
    """A screenplay file that cannot be read; ``line`` is 1-based, None when unknown."""

    def __init__(self, path: str | os.PathLike[str], reason: str, line: int | None = None) -> None:
        self.path = os.fspath(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")


class TempVoiceUnavailable(ScriptError):
    """espeak-ng is not installed (or failed), so no temp dialogue can be spoken."""


class ImportChoiceError(ScriptError):
    """The chosen scene or the names given do not fit the script (no dialogue, unknown speaker)."""
