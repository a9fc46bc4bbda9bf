"""What the studio does with a project's side files when the editor answers a question."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from soul_studio.project import storage


def shelve_autosave(path: str | os.PathLike[str]) -> Path | None:
    """Declined recovery: move the autosave into the project's backups instead of deleting it.

    Named after the project and the time, with the ``.autosave`` suffix so backup rotation
    never removes it; returns where it went (None when there was none).
    """
    source = storage.autosave_path(path)
    if not source.exists():
        return None
    folder = storage.backup_folder(path)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    target = folder / f"{Path(path).stem}.{stamp}.declined.autosave"
    os.replace(source, target)
    return target
