"""What an export is asked to do and what it reports back.

Kept apart from the writers so the CLI and the export dialog can build options and
read results without pulling in the encoders.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from soul_studio.project.model import Shot, Take

MOVIE_FORMATS: dict[str, str] = {
    "mp4": "h264_delivery",
    "prores422hq": "prores422hq",
    "prores422lt": "prores422lt",
    "prores4444": "prores4444",
    "dnxhr_hqx": "dnxhr_hqx",
    "dnxhr_lb": "dnxhr_lb",
    "dnxhr_hqx_mxf": "dnxhr_hqx_mxf",
    "dnxhr_lb_mxf": "dnxhr_lb_mxf",
}
"""Conformed-movie formats and the engine codec preset each one uses."""

INTERCHANGE_FORMATS: dict[str, str] = {
    "otio": ".otio",
    "fcp7xml": ".xml",
    "fcpxml": ".fcpxml",
    "edl": ".edl",
    "aaf": ".aaf",
}
"""Timeline formats and their usual file suffix."""

FORMATS: tuple[str, ...] = (*MOVIE_FORMATS, "png", *INTERCHANGE_FORMATS)

FORMAT_LABELS: dict[str, str] = {
    "mp4": "MP4 (H.264 High, AAC)",
    "prores422hq": "QuickTime ProRes 422 HQ",
    "prores422lt": "QuickTime ProRes 422 LT",
    "prores4444": "QuickTime ProRes 4444",
    "dnxhr_hqx": "QuickTime DNxHR HQX 10-bit (Avid finishing)",
    "dnxhr_lb": "QuickTime DNxHR LB (Avid offline proxy)",
    "dnxhr_hqx_mxf": "MXF OP1a DNxHR HQX 10-bit (Avid)",
    "dnxhr_lb_mxf": "MXF OP1a DNxHR LB (Avid proxy)",
    "png": "PNG image sequence + WAV",
    "otio": "OpenTimelineIO (.otio)",
    "fcp7xml": "Final Cut Pro 7 XML (Premiere, Resolve)",
    "fcpxml": "Final Cut Pro X XML (.fcpxml)",
    "edl": "CMX 3600 EDL (Avid)",
    "aaf": "AAF (Avid Media Composer)",
}

SUFFIXES: dict[str, str] = {"mp4": ".mp4", "prores422hq": ".mov", "prores422lt": ".mov", "prores4444": ".mov", "png": "",
                            "dnxhr_hqx": ".mov", "dnxhr_lb": ".mov", "dnxhr_hqx_mxf": ".mxf", "dnxhr_lb_mxf": ".mxf"}
SUFFIXES.update(INTERCHANGE_FORMATS)

MISSING_CHOICES = ("portrait", "slate")
MEDIA_CHOICES = ("export", "takes")


class ExportError(Exception):
    """An export that cannot run or finish; ``hint`` says what the user can do."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message if not hint else f"{message} ({hint})")
        self.message = message
        self.hint = hint


class ExportCancelled(ExportError):
    """The user cancelled; nothing was left at the output path."""

    def __init__(self) -> None:
        super().__init__("export cancelled")


class CancelLike(Protocol):
    """Anything with a ``cancelled`` flag (engine CancelToken, threading wrappers)."""

    @property
    def cancelled(self) -> bool: ...


ProgressCallback = Callable[[float, str], None]
"""``progress(fraction 0..1, message)``; called from the exporting thread."""

StaleCheck = Callable[[Shot, Take], bool]


@dataclass
class ExportOptions:
    """How to export.

    ``frame_range`` is ``(in, out)`` in timeline frames, out exclusive; ``shots`` picks
    shots (ids or names) that are then laid back to back. ``media`` decides what the
    interchange files point at: ``export`` writes one clip per shot into ``media_folder``
    (default ``<output name>_media`` beside the output) in ``media_codec`` (a movie format:
    ``mp4`` or a ProRes flavour); ``takes``
    links the takes and dialogue files already on disk. ``drop_frame`` picks drop-frame
    or non-drop timecode at 29.97 (None: drop-frame, the broadcast convention); other
    rates are always non-drop.
    """

    frame_range: tuple[int, int] | None = None
    shots: Sequence[str] | None = None
    start_timecode: str | None = None
    burn_in: bool = False
    missing: str = "portrait"
    relative_paths: bool = False
    overwrite: bool = False
    media: str = "export"
    media_codec: str = "prores422hq"
    media_folder: Path | None = None
    take_audio: bool = False
    final_delivery: bool = True
    stale_check: StaleCheck | None = None
    drop_frame: bool | None = None

    def validate(self) -> None:
        if self.missing not in MISSING_CHOICES:
            raise ExportError(f"unknown missing-take choice {self.missing!r}", f"use one of {', '.join(MISSING_CHOICES)}")
        if self.media not in MEDIA_CHOICES:
            raise ExportError(f"unknown media choice {self.media!r}", f"use one of {', '.join(MEDIA_CHOICES)}")
        if self.media_codec not in MOVIE_FORMATS:
            raise ExportError(f"unknown clip format {self.media_codec!r}", f"use one of {', '.join(MOVIE_FORMATS)}")
        if self.frame_range is not None:
            a, b = self.frame_range
            if a < 0 or b <= a:
                raise ExportError(f"frame range {a}-{b} is empty or negative", "give IN-OUT with OUT after IN")
        if self.frame_range is not None and self.shots:
            raise ExportError("choose a frame range or a shot selection, not both")


@dataclass
class ExportResult:
    """What was written: the main output, companion files, frames and warnings."""

    format: str
    path: Path
    files: list[Path] = field(default_factory=list)
    frames: int = 0
    duration_s: float = 0.0
    start_timecode: str = ""
    warnings: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
