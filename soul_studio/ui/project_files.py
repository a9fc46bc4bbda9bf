"""What the studio does with a project's side files when a save fails or the editor declines recovery."""

from __future__ import annotations

from pathlib import Path

from soul_studio.project import ProjectError, ProjectFileError, archive_autosave
from soul_studio.project.model import Project
from soul_studio.project.storage import recovery_note, write_recovery


def keep_declined_autosave(path: Path) -> str:
    """Declined recovery: the autosave goes into the project's backups, never deleted; the status line."""
    try:
        kept = archive_autosave(path)
    except ProjectError as exc:
        return str(exc)
    return f"The autosave was kept as {kept}" if kept is not None else ""


def rescue_unsaved(project: Project, failure: ProjectFileError, recovery_folder: Path) -> str:
    """After a failed save: write the open work to a recovery file; returns the error text saying where.

    The copy goes beside the project, or into ``recovery_folder`` (the user's data folder)
    when the project's folder cannot be written; the document stays open and unsaved.
    """
    try:
        where = write_recovery(project, recovery_folder)
    except ProjectFileError as exc:
        return f"{failure}\n\nNo recovery copy could be written either: {exc.reason}. Use Save As."
    return (f"{failure}\n\nYour changes are still open and unsaved. A copy was written to {where}"
            f"{recovery_note(where, project.path, recovery_folder)}; "
            "use Save As to keep the project somewhere you can write.")


def autosave_elsewhere(project: Project, failure: ProjectFileError, recovery_folder: Path,
                       previous: Path | None = None) -> tuple[Path | None, str]:
    """After a failed autosave: a recovery copy instead (replacing this session's last one); the status line.

    A project in a folder that cannot be written still gets its minute-by-minute safety
    copy, in the user's data folder, and only one of them.
    """
    try:
        where = write_recovery(project, recovery_folder)
    except ProjectFileError as exc:
        return previous, f"{failure}; no recovery copy could be written either ({exc.reason})"
    if previous is not None and previous != where:
        previous.unlink(missing_ok=True)
    return where, (f"Autosave could not be written beside the project; unsaved work copied to {where}"
                   f"{recovery_note(where, project.path, recovery_folder)}")
