"""Footage → talking-head dataset: shot cuts, face tracks, framing, active speaker, sync and quality filters.

``soul-studio annotate FOOTAGE_DIR --out DATASET_DIR`` writes ``manifest.jsonl`` (one
shot per line, kept or rejected with the reason) and the kept clips under ``clips/``.
Runs resume where they stopped and spread files over worker processes. No Qt.
"""

from __future__ import annotations

from soul_studio.annotate.pipeline import (
    AnnotateConfig,
    AnnotateSummary,
    annotate_folder,
    annotate_source,
    read_manifest,
)

__all__ = ["AnnotateConfig", "AnnotateSummary", "annotate_folder", "annotate_source", "read_manifest"]
