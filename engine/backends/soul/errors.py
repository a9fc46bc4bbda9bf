"""Errors of the soul backend that the studio shows to the user with a fix."""

from __future__ import annotations

from engine.backends.base import BackendError


class ModelFolderError(BackendError):
    """The model folder is incomplete, holds pickles, or disagrees with its configs.

    ``problems`` lists every issue found, so the user fixes them in one go.
    """

    def __init__(self, message: str, hint: str = "", problems: list[str] | None = None) -> None:
        super().__init__(message, hint)
        self.problems = list(problems or [])
