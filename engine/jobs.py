"""JobSpec: everything one render needs, self-contained and hashable.

A JobSpec crosses the process boundary as JSON. Its content hash ignores bookkeeping
(job id, output path, priority) and includes fingerprints of the media it reads, so a
take made from the same inputs is found again and an edited shot is recognised as stale.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from engine.limits import duration_problem, resolution_problem
from engine.timebase import frame_count, is_supported_fps

Quality = Literal["draft", "final"]
Framing = Literal["portrait", "upper_body", "full_body"]

QUALITIES: tuple[str, ...] = ("draft", "final")
FRAMINGS: tuple[str, ...] = ("portrait", "upper_body", "full_body")

# Fields that describe bookkeeping, not the picture: they never change the content hash.
_UNHASHED = frozenset({"job_id", "output_path", "priority", "created_by"})

JOBSPEC_VERSION = 1


class JobSpecError(ValueError):
    """A JobSpec that cannot be rendered; the message names the field and the fix."""


@dataclass(frozen=True)
class JobSpec:
    """One render: a shot's inputs snapshotted with absolute paths.

    ``audio_in``/``audio_out`` select the dialogue range in seconds; ``duration`` is the
    length of the rendered shot (normally ``audio_out - audio_in``). ``options["lead_in"]``
    puts that many seconds of silence before the dialogue (a pause before the line that is
    rendered like the rest: the face blinks and breathes while it waits).
    """

    shot_id: str
    portrait_path: str
    duration: float
    fps: float
    width: int
    height: int
    output_path: str
    audio_path: str | None = None
    audio_in: float = 0.0
    audio_out: float | None = None
    text: str = ""
    prompt: str = ""
    seed: int = 0
    quality: Quality = "draft"
    backend: str = "sketch"
    framing: Framing = "portrait"
    mouth_box: tuple[float, float, float, float] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    media_fingerprints: dict[str, str] = field(default_factory=dict)
    job_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    priority: int = 0
    created_by: str = ""
    version: int = JOBSPEC_VERSION

    # ----------------------------------------------------------------- checks
    def validate(self) -> JobSpec:
        """Raise :class:`JobSpecError` when the job cannot be rendered as described."""
        if not os.path.isabs(self.portrait_path):
            raise JobSpecError(f"portrait_path must be absolute, got {self.portrait_path!r}")
        if self.audio_path is not None and not os.path.isabs(self.audio_path):
            raise JobSpecError(f"audio_path must be absolute, got {self.audio_path!r}")
        if not os.path.isabs(self.output_path):
            raise JobSpecError(f"output_path must be absolute, got {self.output_path!r}")
        if isinstance(self.fps, bool) or not isinstance(self.fps, int | float) or not is_supported_fps(self.fps):
            raise JobSpecError(f"fps {self.fps} is not one of 23.976, 24, 25, 29.97, 30")
        # Bounds before anything is allocated: a typo must not grow the engine to gigabytes.
        problem = duration_problem(self.duration) or resolution_problem(self.width, self.height)
        if problem:
            raise JobSpecError(problem)
        for name in ("audio_in", "audio_out"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                      or not math.isfinite(value) or value < 0):
                raise JobSpecError(f"{name} must be a finite number of seconds, got {value!r}")
        if self.quality not in QUALITIES:
            raise JobSpecError(f"quality must be draft or final, got {self.quality!r}")
        if self.framing not in FRAMINGS:
            raise JobSpecError(f"framing must be one of {FRAMINGS}, got {self.framing!r}")
        if self.audio_out is not None and self.audio_out <= self.audio_in:
            raise JobSpecError(f"audio_out ({self.audio_out}) must be after audio_in ({self.audio_in})")
        _validate_speakers(self.options.get("speakers"))
        lead = self.options.get("lead_in", 0.0)
        if (isinstance(lead, bool) or not isinstance(lead, int | float) or not math.isfinite(lead) or lead < 0
                or lead >= self.duration):
            raise JobSpecError(f"options.lead_in must be seconds from 0 up to the shot's duration "
                               f"({self.duration:g}), got {lead!r}")
        return self

    @property
    def lead_in(self) -> float:
        """Seconds of silence before the dialogue starts (0 without a head handle)."""
        return float(self.options.get("lead_in") or 0.0)

    @property
    def frame_count(self) -> int:
        """round(duration × fps): the exact number of frames the take holds."""
        return frame_count(self.duration, self.fps)

    # -------------------------------------------------------------- serialise
    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        if self.mouth_box is not None:
            data["mouth_box"] = list(self.mouth_box)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobSpec:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise JobSpecError(f"unknown JobSpec fields: {', '.join(sorted(unknown))}")
        values = dict(data)
        if values.get("mouth_box") is not None:
            values["mouth_box"] = tuple(float(v) for v in values["mouth_box"])
        return cls(**values)

    @classmethod
    def from_json(cls, text: str) -> JobSpec:
        return cls.from_dict(json.loads(text))

    def replace(self, **changes: Any) -> JobSpec:
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------- hash
    def content_hash(self) -> str:
        """Stable SHA-256 of everything that changes the picture or sound.

        Media are identified by their fingerprints (content hashes) when present, so
        moving a project folder does not invalidate its takes.
        """
        data = {k: v for k, v in self.to_dict().items() if k not in _UNHASHED}
        if self.media_fingerprints:
            for key in ("portrait_path", "audio_path"):
                path = data.get(key)
                if path and path in self.media_fingerprints:
                    data[key] = "sha256:" + self.media_fingerprints[path]
            data.pop("media_fingerprints", None)
        if data.get("options", {}).get("speakers"):
            data["options"] = {**data["options"], "speakers": _hashable_speakers(data["options"]["speakers"])}
        blob = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def file_fingerprint(path: str | os.PathLike[str], chunk_size: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, used to recognise the same media after a move."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def with_fingerprints(job: JobSpec) -> JobSpec:
    """Return ``job`` with fingerprints of its portrait and audio files filled in (speakers' tracks too)."""
    prints = dict(job.media_fingerprints)
    for path in (job.portrait_path, job.audio_path):
        if path and path not in prints and Path(path).is_file():
            prints[path] = file_fingerprint(path)
    speakers = job.options.get("speakers")
    if speakers:
        filled = []
        for speaker in speakers:
            speaker = dict(speaker)
            audio = speaker.get("audio_path")
            if audio and not speaker.get("fingerprint") and Path(audio).is_file():
                speaker["fingerprint"] = prints.get(audio) or file_fingerprint(audio)
            filled.append(speaker)
        job = job.replace(options={**job.options, "speakers": filled})
    return job.replace(media_fingerprints=prints)


MAX_SPEAKERS = 2


def _validate_speakers(speakers: Any) -> None:
    """A two-shot's ``options["speakers"]``: a list of up to two dicts with absolute audio paths (or none)."""
    if speakers is None:
        return
    if not isinstance(speakers, list) or not 1 <= len(speakers) <= MAX_SPEAKERS:
        raise JobSpecError(f"options.speakers must list 1 to {MAX_SPEAKERS} speakers, got {speakers!r}")
    for i, speaker in enumerate(speakers):
        if not isinstance(speaker, dict):
            raise JobSpecError(f"options.speakers[{i}] must be a dict, got {speaker!r}")
        audio = speaker.get("audio_path")
        if audio is not None and not os.path.isabs(str(audio)):
            raise JobSpecError(f"options.speakers[{i}].audio_path must be absolute, got {audio!r}")
        box = speaker.get("box")
        if box is not None and (len(box) != 4 or not all(0.0 <= float(v) <= 1.0 for v in box)):
            raise JobSpecError(f"options.speakers[{i}].box must be [x0, y0, x1, y1] within 0..1, got {box!r}")


def _hashable_speakers(speakers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Speakers with each audio path replaced by its content fingerprint, when known."""
    out = []
    for speaker in speakers:
        speaker = dict(speaker)
        if speaker.get("fingerprint"):
            speaker["audio_path"] = "sha256:" + str(speaker.pop("fingerprint"))
        out.append(speaker)
    return out
