"""Evaluation of rendered takes: lip-sync, identity, temporal stability, picture quality, text alignment.

``soul-studio bench RENDERS_DIR`` scores a folder of takes and writes ``results.json``,
PNG plots and an HTML page. The weight-free measures always run; SyncNet, ArcFace,
CLIP, FID and FVD scores join in when the user supplies their weights. Nothing here imports
Qt, and matplotlib is imported only when a report is drawn.
"""

from __future__ import annotations

from soul_studio.bench.errors import BenchError
from soul_studio.bench.evaluate import TakeScores, evaluate_folder, evaluate_take, write_results
from soul_studio.bench.models import Models
from soul_studio.bench.sync import SyncResult, audio_envelope, cross_correlate, mouth_opening

__all__ = [
    "BenchError",
    "Models",
    "SyncResult",
    "TakeScores",
    "audio_envelope",
    "cross_correlate",
    "evaluate_folder",
    "evaluate_take",
    "mouth_opening",
    "write_results",
]
