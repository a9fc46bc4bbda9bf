"""One error type for every media problem, naming the file and what to do."""

from __future__ import annotations

import os


class MediaError(Exception):
    """A media file that cannot be used. ``path``, ``reason`` and ``hint`` are for the user."""

    def __init__(self, path: str | os.PathLike[str] | None, reason: str, hint: str = "") -> None:
        self.path = os.fspath(path) if path is not None else None
        self.reason = reason
        self.hint = hint
        where = f"{self.path}: " if self.path else ""
        text = f"{where}{reason}"
        if hint:
            text += f" ({hint})"
        super().__init__(text)
