"""Turn shots into engine jobs, and decide which takes are current or stale.

A shot is snapshotted into a self-contained :class:`~engine.jobs.JobSpec` (absolute paths,
the dialogue range, render size for the quality). Its content hash identifies the
inputs: a take whose hash matches is reused instead of rendered again, and a take whose
hash differs is *stale* — kept, shown as such, never deleted.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.jobs import JobSpec, JobSpecError, file_fingerprint
from engine.limits import special_file_problem
from soul_studio.project.model import Project, Shot, Take

# Resolution presets for the Soul backend; the sketch backend renders any size.
SOUL_FINAL_SIZE = (1280, 704)
SOUL_DRAFT_SIZE = (832, 480)


class ShotNotRenderable(ValueError):
    """A shot that lacks what a render needs; the message says what to add."""


@dataclass
class FingerprintCache:
    """Content hashes of media files, recomputed only when size or mtime change."""

    _cache: dict[str, tuple[int, int, str]] | None = None
    _derived: dict[tuple[str, str], Any] | None = None

    def get(self, path: Path) -> str | None:
        if self._cache is None:
            self._cache = {}
        try:
            st = path.stat()
        except OSError:
            return None
        key = str(path)
        hit = self._cache.get(key)
        if hit is not None and hit[0] == st.st_size and hit[1] == st.st_mtime_ns:
            return hit[2]
        digest = file_fingerprint(path)
        self._cache[key] = (st.st_size, st.st_mtime_ns, digest)
        return digest

    def derived(self, path: Path, kind: str, compute: Callable[[Path], Any]) -> Any:
        """``compute(path)`` (e.g. a two-shot's speaker boxes), kept while the file's content is the same."""
        digest = self.get(path)
        if digest is None:
            return compute(path)
        if self._derived is None:
            self._derived = {}
        key = (kind, digest)
        if key not in self._derived:
            self._derived[key] = compute(path)
        return self._derived[key]


def _even(value: float) -> int:
    return max(16, int(round(value / 2.0)) * 2)


def render_size(project: Project, quality: str, backend: str) -> tuple[int, int]:
    """Frame size for a render: project size for finals, scaled down for drafts."""
    if backend == "soul":
        portrait = project.height > project.width
        w, h = SOUL_FINAL_SIZE if quality == "final" else SOUL_DRAFT_SIZE
        return (h, w) if portrait else (w, h)
    if quality == "final":
        return project.width, project.height
    scale = project.settings.draft_scale
    return _even(project.width * scale), _even(project.height * scale)


TWO_SHOT_BACKEND = "infinitetalk"  # the backend whose multi-speaker adapter renders two-shots


def options_for_backend(backend_options: dict[str, object] | None, backend: str) -> dict[str, object]:
    """The registered options one backend's jobs get.

    Top-level keys are the soul backend's (model folders, device); other backends' options sit
    under their name (``{"infinitetalk": {...}}``), with the shared ``device`` passed on.
    """
    given = dict(backend_options or {})
    if backend == "soul":
        return {k: v for k, v in given.items() if not isinstance(v, dict)}
    nested = given.get(backend)
    if not isinstance(nested, dict):
        return {}
    options = dict(nested)
    if "device" in given and "device" not in options:
        options["device"] = given["device"]
    return options


def take_filename(shot: Shot, quality: str, job_hash: str) -> str:
    name = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in (shot.name or shot.id))[:40]
    return f"{name}_{quality}_{job_hash[:10]}_{uuid.uuid4().hex[:6]}.mp4"


def job_for_shot(
    project: Project,
    shot: Shot,
    quality: str = "draft",
    backend: str | None = None,
    fingerprints: FingerprintCache | None = None,
    output_path: str | None = None,
    backend_options: dict[str, object] | None = None,
) -> JobSpec:
    """Snapshot ``shot`` into a JobSpec. Raises :class:`ShotNotRenderable` with a fix.

    ``backend_options`` (model folders registered on this machine, device choices) are
    merged under the project's own settings.
    """
    if project.folder is None:
        raise ShotNotRenderable("save the project first: takes are written into its takes/ folder")
    character = project.character(shot.character_id)
    if character is None:
        raise ShotNotRenderable(f"shot {shot.name or shot.id} has no character; assign one in the Inspector")
    portrait = project.resolve(character.portrait)
    backend = backend or project.settings.default_backend
    two_shot = shot.is_two_shot and backend == TWO_SHOT_BACKEND
    if two_shot and shot.two_shot_image:
        portrait = project.resolve(shot.two_shot_image)
    if portrait is None:
        raise ShotNotRenderable(f"{character.name} has no portrait; drop one on them in the Cast panel")
    if not portrait.exists():
        raise ShotNotRenderable(f"portrait of {character.name} is missing: {portrait}")
    if special_file_problem(portrait):
        raise ShotNotRenderable(f"portrait of {character.name} {special_file_problem(portrait)}: {portrait}")
    audio = project.resolve(shot.audio)
    if audio is not None and not audio.exists():
        raise ShotNotRenderable(f"dialogue audio of {shot.name or shot.id} is missing: {audio}")
    if audio is not None and special_file_problem(audio):
        raise ShotNotRenderable(f"dialogue audio of {shot.name or shot.id} {special_file_problem(audio)}: {audio}")
    width, height = render_size(project, quality, backend)
    prompt = shot.prompt or character.prompt
    options = options_for_backend(backend_options, backend)
    if backend == "soul" and project.settings.model_folder:
        options["model_folder"] = str(project.resolve(project.settings.model_folder))
    if character.face_index is not None:
        options["face_index"] = int(character.face_index)  # which face of a group portrait speaks
    if shot.lead_in > 0:
        options["lead_in"] = round(shot.lead_in, 6)  # the pause before the line is rendered, not held
    prints: dict[str, str] = {}
    cache = fingerprints or FingerprintCache()
    for path in (portrait, audio):
        if path is not None:
            digest = cache.get(path)
            if digest:
                prints[str(path)] = digest
    if two_shot:
        from soul_studio.render.two_shot import two_shot_speakers

        options["speakers"] = two_shot_speakers(project, shot, character, portrait, audio, cache)
    job = JobSpec(
        shot_id=shot.id,
        portrait_path=str(portrait),
        duration=shot.duration,
        fps=project.fps,
        width=width,
        height=height,
        output_path=output_path or os.path.join(str(project.takes_folder), "pending.mp4"),
        audio_path=str(audio) if audio is not None else None,
        audio_in=shot.audio_in if audio is not None else 0.0,
        audio_out=shot.audio_out if audio is not None else None,
        text=shot.text,
        prompt=prompt,
        seed=shot.seed,
        quality=quality,
        backend=backend,
        framing=shot.framing or character.framing,
        mouth_box=character.mouth_box,
        options=options,
        media_fingerprints=prints,
        priority=0 if quality == "draft" else 10,
    )
    try:
        job.validate()
    except JobSpecError as exc:
        raise ShotNotRenderable(f"shot {shot.name or shot.id} cannot be rendered: {exc}") from exc
    if output_path is None:
        takes = project.takes_folder
        assert takes is not None
        job = job.replace(output_path=str(takes / take_filename(shot, quality, job.content_hash())))
    return job


def current_hash(project: Project, shot: Shot, quality: str, backend: str | None = None,
                 fingerprints: FingerprintCache | None = None,
                 backend_options: dict[str, object] | None = None) -> str | None:
    """Content hash the shot would render with now; None when it is not renderable."""
    try:
        return job_for_shot(project, shot, quality, backend, fingerprints,
                            backend_options=backend_options).content_hash()
    except ShotNotRenderable:
        return None


def matching_take(project: Project, shot: Shot, quality: str, backend: str | None = None,
                  fingerprints: FingerprintCache | None = None) -> Take | None:
    """A finished take made from exactly the shot's current inputs, if any."""
    wanted = current_hash(project, shot, quality, backend, fingerprints)
    return None if wanted is None else take_with_hash(project, shot, quality, wanted)


def take_with_hash(project: Project, shot: Shot, quality: str, job_hash: str) -> Take | None:
    """The newest finished take of ``quality`` rendered from inputs hashing to ``job_hash``."""
    for take in reversed(shot.takes):
        if take.is_done and take.job_hash == job_hash and take.quality == quality:
            path = project.resolve(take.file)
            if path is not None and path.exists():
                return take
    return None
