"""Render one job into a take on disk: the movie plus its JSON sidecar, both atomic.

:func:`write_take` is what the engine process, the headless renderer and a farm worker
all call, so it depends on nothing but the backend, the job and a render context. The
take is written to a temp file and renamed into place only when every frame is in; the
sidecar (same stem, ``.json``) follows it, also atomically. A take whose sidecar is
missing was cut short by a crash: it is ours (its ``comment`` tag names the job id), so
it is removed and rendered again. A complete take of the same job is reused as it is,
which keeps a job that is re-run after a crash from producing a second take.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import os
import platform
import re
import time
from dataclasses import dataclass, field
from importlib import metadata as _metadata
from pathlib import Path
from typing import Any

import numpy as np

import engine
from engine.atomic import temp_prefix, write_atomic
from engine.backends.base import Backend, BackendError, RenderContext
from engine.jobs import JobSpec
from engine.media import CODECS, AudioClip, MediaError, VideoWriter, load_audio, probe_video
from engine.media.audio import DELIVERY_RATE, StreamedAudio

SIDECAR_VERSION = 1
TAG_PREFIX = "soul-studio job "
_VERSIONED_PACKAGES = ("torch", "diffusers", "transformers", "av", "numpy")
# What tempfile.mkstemp adds after "<stem>." for the writer's and the sidecar's temp files.
_PARTIAL = re.compile(r"[A-Za-z0-9_]+\.partial\.[A-Za-z0-9]+")


@dataclass
class TakeResult:
    """Where a finished take landed and what was recorded about it."""

    take_path: str
    sidecar_path: str
    frame_count: int
    elapsed_s: float
    reused: bool = False
    sidecar: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "take_path": self.take_path,
            "sidecar_path": self.sidecar_path,
            "frame_count": self.frame_count,
            "elapsed_s": round(self.elapsed_s, 4),
            "reused": self.reused,
        }


def sidecar_path_for(take_path: str | os.PathLike[str]) -> Path:
    return Path(take_path).with_suffix(".json")


def codec_for(job: JobSpec) -> str:
    """The encoder preset: ``options["codec"]`` if given, else fast H.264 for drafts, clean H.264 for finals."""
    codec = job.options.get("codec") or ("h264_draft" if job.quality == "draft" else "h264_take")
    if codec not in CODECS:
        raise BackendError(f"unknown codec {codec!r}", hint=f"choose one of {', '.join(CODECS)}")
    suffix = Path(job.output_path).suffix.lower()
    if suffix != CODECS[codec].suffix:
        raise BackendError(
            f"output {Path(job.output_path).name} does not fit codec {codec}",
            hint=f"name the take with {CODECS[codec].suffix}",
        )
    return codec


# Shots longer than this stream their sound into the take instead of holding it in memory.
STREAM_AUDIO_AFTER_S = 60.0


def load_job_audio(job: JobSpec) -> AudioClip | StreamedAudio:
    """The job's dialogue range at the delivery rate, exactly ``job.duration`` long (silence without audio).

    A two-shot (``options["speakers"]``) gets every speaker's range mixed into one track.
    Long shots get a :class:`StreamedAudio`, which the movie writer decodes as it goes.
    """
    speakers = [s for s in job.options.get("speakers") or [] if s.get("audio_path")]
    if speakers:
        return _mix_speakers(speakers, job.duration, job.lead_in)
    if not job.audio_path:
        return AudioClip.silence(job.duration, DELIVERY_RATE, 1)
    if job.duration > STREAM_AUDIO_AFTER_S:
        return StreamedAudio(job.audio_path, DELIVERY_RATE, None, job.audio_in, job.audio_out, job.duration,
                             lead=job.lead_in)
    clip = load_audio(job.audio_path, DELIVERY_RATE, None, job.audio_in, job.audio_out)
    fitted = clip.as_channels(min(2, clip.channels)).with_lead(job.lead_in).fit_duration(job.duration)
    fitted.warnings = clip.warnings
    return fitted


def _mix_speakers(speakers: list[dict[str, Any]], duration: float, lead: float = 0.0) -> AudioClip:
    """Each speaker's range from the end of the shot's lead-in, summed and kept within [-1, 1]."""
    import numpy as np

    clips = [load_audio(s["audio_path"], DELIVERY_RATE, 1, float(s.get("audio_in") or 0.0), s.get("audio_out"))
             .with_lead(lead).fit_duration(duration) for s in speakers]
    mixed = np.clip(sum(c.samples for c in clips), -1.0, 1.0)
    return AudioClip(mixed, DELIVERY_RATE)


def discard_partials(take_path: str | os.PathLike[str]) -> list[Path]:
    """Remove temp files a killed writer left next to ``take_path``; returns what was removed."""
    path = Path(take_path)
    if not path.parent.is_dir():
        return []
    removed: list[Path] = []
    prefix = temp_prefix(f".{path.stem}.", ".partial" + path.suffix)  # as temp_beside names them
    for entry in path.parent.iterdir():
        name = entry.name
        if name.startswith(prefix) and _PARTIAL.fullmatch(name[len(prefix) :]) and entry.is_file():
            try:
                entry.unlink()
                removed.append(entry)
            except OSError:
                pass
    return removed


def read_sidecar(take_path: str | os.PathLike[str]) -> dict[str, Any] | None:
    path = sidecar_path_for(take_path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_json_atomic(path: str | os.PathLike[str], data: Any) -> None:
    """Write JSON to a temp file in the same folder, fsync it, then rename over ``path``."""
    text = json.dumps(data, indent=2, sort_keys=True, default=str) + "\n"
    write_atomic(path, text.encode("utf-8"))


@functools.lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    """Versions of the engine and the heavy packages, read from metadata once (nothing imported)."""
    versions = {"engine": engine.__version__, "python": platform.python_version()}
    for name in _VERSIONED_PACKAGES:
        try:
            versions[name] = _metadata.version(name)
        except _metadata.PackageNotFoundError:
            continue
    return versions


class _CountingSink:
    """Passes frames to the writer, refusing extras and honouring cancel between frames."""

    def __init__(self, writer: VideoWriter, job: JobSpec, ctx: RenderContext) -> None:
        self.writer = writer
        self.expected = job.frame_count
        self.ctx = ctx
        self.count = 0

    def prepare(self, frame: np.ndarray) -> object:
        """The writer's own conversion (see :meth:`VideoWriter.prepare`), for renderers that pipeline it."""
        return self.writer.prepare(frame)

    def write(self, frame: np.ndarray) -> None:
        self.ctx.cancel.check()
        if self.count >= self.expected:
            raise BackendError(
                f"backend wrote more than the {self.expected} frames the shot needs",
                hint="this is a bug in the backend; report it with the take's job",
            )
        self.writer.write(frame)
        self.count += 1


def _reuse_existing(job: JobSpec, out: Path) -> TakeResult | None:
    """A complete take of this very job, or None; an orphaned take of it is removed."""
    if not out.exists():
        return None
    sidecar = read_sidecar(out)
    if sidecar and sidecar.get("job", {}).get("job_id") == job.job_id and sidecar.get("content_hash") == job.content_hash():
        return TakeResult(str(out), str(sidecar_path_for(out)), int(sidecar.get("frame_count", 0)), 0.0, True, sidecar)
    tag = ""
    try:
        tag = probe_video(out, count_frames=False).metadata.get("comment", "")
    except MediaError:
        pass
    if tag == TAG_PREFIX + job.job_id and sidecar is None:
        out.unlink()  # our own take, cut short before its sidecar: render it again
        return None
    raise MediaError(out, "a take already exists at this path", "takes are never overwritten; render to a new take name")


def write_take(backend: Backend, job: JobSpec, ctx: RenderContext) -> TakeResult:
    """Render ``job`` with a loaded ``backend`` into ``job.output_path`` and its sidecar.

    Raises :class:`JobCancelled` when the context's token fires, :class:`BackendError`
    or :class:`MediaError` when the render cannot be made; no file appears in those cases.
    """
    started_wall = _dt.datetime.now(_dt.UTC)
    t0 = time.monotonic()
    job.validate()
    out = Path(job.output_path)
    if not out.parent.is_dir():
        raise MediaError(out.parent, "take folder does not exist", "check the project's takes folder")
    discard_partials(out)
    reused = _reuse_existing(job, out)
    if reused is not None:
        return reused
    ctx.cancel.check()
    codec = codec_for(job)
    audio = load_job_audio(job)
    t_audio = time.monotonic()
    writer = VideoWriter(
        out, job.fps, job.width, job.height, codec=codec, audio=audio,
        metadata={"comment": TAG_PREFIX + job.job_id, "title": job.shot_id},
    )
    with writer:
        sink = _CountingSink(writer, job, ctx)
        meta = backend.render(job, sink, ctx) or {}
        ctx.cancel.check()
        if sink.count != job.frame_count:
            raise BackendError(
                f"backend wrote {sink.count} frames but the shot needs {job.frame_count}",
                hint="this is a bug in the backend; report it with the take's job",
            )
        t_render = time.monotonic()
    t_encoded = time.monotonic()
    for warning in audio.warnings:
        ctx.log(warning, "warning")
    model_folder = meta.get("model_folder") or job.options.get("model_folder")
    sidecar = {
        "sidecar_version": SIDECAR_VERSION,
        "take": out.name,
        "job": job.to_dict(),
        "content_hash": job.content_hash(),
        "seed": job.seed,
        "backend": job.backend,
        "quality": job.quality,
        "model": {"folder": model_folder, "hash": meta.get("model_hash")} if model_folder or meta.get("model_hash") else None,
        "versions": dict(package_versions()),
        "device": str(meta.get("device", "cpu")),
        "frame_count": sink.count,
        "fps": job.fps,
        "width": job.width,
        "height": job.height,
        "codec": codec,
        "audio": {
            "path": job.audio_path,
            "in": job.audio_in,
            "out": job.audio_out,
            "silent": bool(audio.is_silent()),
        },
        "timings": {
            "started": started_wall.isoformat(),
            "finished": _dt.datetime.now(_dt.UTC).isoformat(),
            "audio_s": round(t_audio - t0, 4),
            "render_s": round(t_render - t_audio, 4),
            "finish_s": round(t_encoded - t_render, 4),
            "total_s": round(time.monotonic() - t0, 4),
        },
        "host": platform.node(),
        "warnings": list(audio.warnings),
        "metadata": meta,
    }
    sidecar_path = sidecar_path_for(out)
    try:
        write_json_atomic(sidecar_path, sidecar)
    except OSError as exc:
        out.unlink(missing_ok=True)  # a take without its sidecar is not a take: leave nothing behind
        raise MediaError(sidecar_path, f"cannot write the take's sidecar ({exc.strerror or exc})", "free disk space") from exc
    return TakeResult(str(out), str(sidecar_path), sink.count, time.monotonic() - t0, False, sidecar)
