"""The document model: pure Python, no Qt. See :mod:`soul_studio.project.model`."""

from soul_studio.project.errors import ProjectError, ProjectFileError
from soul_studio.project.model import (
    Character,
    Marker,
    MediaItem,
    Placement,
    Project,
    ProjectSettings,
    Shot,
    Take,
    Timeline,
    TimelineEntry,
    Voice,
)
from soul_studio.project.storage import (
    PROJECT_SUFFIX,
    autosave_path,
    discard_autosave,
    has_newer_autosave,
    list_backups,
    load_project,
    missing_media,
    save_project,
    write_autosave,
)

__all__ = [
    "PROJECT_SUFFIX",
    "Character",
    "Marker",
    "MediaItem",
    "Placement",
    "Project",
    "ProjectError",
    "ProjectFileError",
    "ProjectSettings",
    "Shot",
    "Take",
    "Timeline",
    "TimelineEntry",
    "Voice",
    "autosave_path",
    "discard_autosave",
    "has_newer_autosave",
    "list_backups",
    "load_project",
    "missing_media",
    "save_project",
    "write_autosave",
]
