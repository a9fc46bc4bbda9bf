"""Shots to engine jobs, takes bookkeeping, and the headless renderer."""

from soul_studio.render.planner import (
    FingerprintCache,
    ShotNotRenderable,
    current_hash,
    job_for_shot,
    matching_take,
    render_size,
)
from soul_studio.render.takes import TakeJudge, missing_finals, shot_state, shown_take, take_in_use

__all__ = [
    "FingerprintCache",
    "ShotNotRenderable",
    "TakeJudge",
    "current_hash",
    "job_for_shot",
    "matching_take",
    "missing_finals",
    "render_size",
    "shot_state",
    "shown_take",
    "take_in_use",
]
