"""What a killed render leaves behind, found and put right on the next run.

A take is complete once its sidecar is on disk (the engine writes the movie, then the
sidecar). A run killed after that but before the project was saved leaves a finished
take the project does not list: :class:`FinishedTakes` finds it by its content hash, so
the next run records it instead of rendering the shot again. What is never complete, a
writer's ``.partial`` temp file, a movie whose sidecar never came, the private folder
of a dead run, is removed by :func:`sweep_leftovers` (called while the project's lock
is held, so no live writer owns them).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from engine.media import MediaError, probe_video
from engine.takes import TAG_PREFIX
from soul_studio.project.lock import pid_alive
from soul_studio.project.model import Project, Shot, Take

RUN_FOLDER_PREFIX = "soul-render-"
MOVIE_SUFFIXES = (".mp4", ".mov")


def run_folder() -> Path:
    """A private temp folder for this run, named after its pid so a dead run's is recognised."""
    return Path(tempfile.mkdtemp(prefix=f"{RUN_FOLDER_PREFIX}{os.getpid()}-"))


def _recorded(project: Project) -> set[Path]:
    paths: set[Path] = set()
    for shot in project.shots.values():
        for take in shot.takes:
            resolved = project.resolve(take.file)
            if resolved is not None:
                paths.add(resolved.resolve())
    return paths


def sweep_leftovers(project: Project, temp_root: Path | None = None) -> list[Path]:
    """Remove partial files, sidecar-less movies of our own jobs and dead runs' temp folders."""
    removed: list[Path] = []
    takes = project.takes_folder
    if takes is not None and takes.is_dir():
        recorded = _recorded(project)
        for entry in list(takes.iterdir()):
            if not entry.is_file() or entry.name.startswith(".") or entry.suffix.lower() not in MOVIE_SUFFIXES:
                continue
            if entry.resolve() in recorded or entry.with_suffix(".json").exists():
                continue
            try:
                tag = probe_video(entry, count_frames=False).metadata.get("comment", "")
            except MediaError:
                continue
            if tag.startswith(TAG_PREFIX):  # ours, cut short before its sidecar: never complete
                entry.unlink(missing_ok=True)
                removed.append(entry)
        for entry in list(takes.iterdir()):  # temp files whose take never got its final name
            if entry.name.startswith(".") and ".partial." in entry.name and entry.is_file():
                entry.unlink(missing_ok=True)
                removed.append(entry)
    root = temp_root or Path(tempfile.gettempdir())
    try:
        entries = list(root.iterdir())
    except OSError:
        entries = []
    for entry in entries:
        if not entry.name.startswith(RUN_FOLDER_PREFIX) or not entry.is_dir():
            continue
        pid = entry.name[len(RUN_FOLDER_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


class FinishedTakes:
    """Complete takes in the project's takes folder, by content hash (read once)."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self._by_hash: dict[str, list[tuple[Path, dict[str, Any]]]] | None = None

    def _index(self) -> dict[str, list[tuple[Path, dict[str, Any]]]]:
        if self._by_hash is None:
            self._by_hash = {}
            takes = self.project.takes_folder
            if takes is not None and takes.is_dir():
                for sidecar in sorted(takes.glob("*.json")):
                    try:
                        data = json.loads(sidecar.read_text(encoding="utf-8"))
                    except (OSError, ValueError):
                        continue
                    if not isinstance(data, dict) or not isinstance(data.get("content_hash"), str):
                        continue
                    movie = sidecar.with_name(str(data.get("take") or ""))
                    if movie.name and movie.is_file() and movie.stat().st_size > 0:
                        self._by_hash.setdefault(data["content_hash"], []).append((movie, data))
        return self._by_hash

    def unrecorded(self, shot: Shot, quality: str, job_hash: str) -> Take | None:
        """A finished take of exactly this shot's inputs that the project does not list yet."""
        recorded = {t.file for t in shot.takes}
        for movie, data in self._index().get(job_hash, []):
            job = data.get("job") or {}
            if job.get("shot_id") != shot.id or data.get("quality") != quality:
                continue
            rel = self.project.relative(str(movie))
            if rel in recorded:
                continue
            return Take(file=rel, job_hash=job_hash, backend=str(data.get("backend") or ""),
                        quality=quality, status="done", seed=int(data.get("seed") or 0))
        return None
