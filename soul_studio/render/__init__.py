"""Shots to engine jobs, takes bookkeeping, and the headless renderer."""

from soul_studio.render.planner import (
    FingerprintCache,
    ShotNotRenderable,
    current_hash,
    job_for_shot,
    matching_take,
    render_size,
    shot_state,
)

__all__ = [
    "FingerprintCache",
    "ShotNotRenderable",
    "current_hash",
    "job_for_shot",
    "matching_take",
    "render_size",
    "shot_state",
]
