"""Delivery: conformed movies (MP4, ProRes, PNG sequence), per-shot clips and timelines
for other editors (OTIO, FCP 7 XML, FCPXML, CMX 3600 EDL)."""

from soul_studio.export.api import export_project, export_shot_clips, output_path
from soul_studio.export.cut import Cut, Segment, plan_cut
from soul_studio.export.options import (
    FORMAT_LABELS,
    FORMATS,
    INTERCHANGE_FORMATS,
    MOVIE_FORMATS,
    ExportCancelled,
    ExportError,
    ExportOptions,
    ExportResult,
)

__all__ = [
    "FORMATS",
    "FORMAT_LABELS",
    "INTERCHANGE_FORMATS",
    "MOVIE_FORMATS",
    "Cut",
    "ExportCancelled",
    "ExportError",
    "ExportOptions",
    "ExportResult",
    "Segment",
    "export_project",
    "export_shot_clips",
    "output_path",
    "plan_cut",
]
