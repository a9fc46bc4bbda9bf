"""Cut one long dialogue recording into the scene's lines by its pauses and the script.

Speech is found by frame energy (10 ms frames, a threshold between the noise floor and
the speech level). Pauses of at least ``min_silence`` are the natural cuts. When there
are more such pauses than line breaks, the pauses that best reproduce the expected line
lengths (from word counts) are kept and the rest bridged; when there are fewer, shorter
pauses are considered and then the quiet dips inside the speech.
The choice is one dynamic programme over the candidate cuts, so it is globally best for
the whole scene rather than greedy. Each line gets ``padding`` either side, never past
the middle of the pause it shares with its neighbour.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.media import AudioClip, load_audio, probe_audio
from soul_studio.project.edits import Edit, SetShotFields
from soul_studio.project.model import Project, Shot
from soul_studio.script.errors import ScriptError

ANALYSIS_RATE = 16_000
FRAME = 0.010
WORDS_PER_MINUTE = 160.0
_WORD = re.compile(r"\w+(?:['’]\w+)?")


def expected_duration(text: str, words_per_minute: float = WORDS_PER_MINUTE) -> float:
    """Rough spoken length of a line in seconds, from its words and its commas."""
    words = len(_WORD.findall(text))
    pauses = len(re.findall(r"[,;:—–]|\.\.\.|…", text))
    return 0.25 + 60.0 * words / words_per_minute + 0.2 * pauses


@dataclass
class Region:
    """A stretch of speech in seconds."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


def frame_levels(samples: np.ndarray, rate: int, frame: float = FRAME) -> np.ndarray:
    """RMS level of each ``frame``-second frame in dBFS (silence floors at -120)."""
    hop = max(1, int(round(frame * rate)))
    n = len(samples) // hop
    if n == 0:
        return np.zeros(0)
    frames = samples[: n * hop].astype(np.float64).reshape(n, hop)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-6))


def speech_threshold(levels: np.ndarray) -> float:
    """A level between the room's noise floor and the voice."""
    floor = float(np.percentile(levels, 10))
    peak = float(np.percentile(levels, 98))
    if peak - floor < 20:
        return (floor + peak) / 2
    return max(floor + 12.0, peak - 38.0)


def edge_threshold(levels: np.ndarray) -> float:
    """A lower level for the soft edges of words (a final "t" or "s"), above the noise floor."""
    floor = float(np.percentile(levels, 10))
    peak = float(np.percentile(levels, 98))
    return max(floor + 6.0, peak - 60.0)


def _extend(runs: list[list[int]], above: np.ndarray, hang: int) -> None:
    """Widen each run over quiet word edges: frames above the edge level no more than ``hang`` apart."""
    n = len(above)
    for i, run in enumerate(runs):
        left_limit = runs[i - 1][1] if i > 0 else 0
        right_limit = runs[i + 1][0] if i + 1 < len(runs) else n
        a = run[0]
        k = a - 1
        while k >= left_limit and a - k <= hang:
            if above[k]:
                a = k
            k -= 1
        b = run[1]
        k = b
        while k < right_limit and k - b < hang:
            if above[k]:
                b = k + 1
            k += 1
        run[0], run[1] = a, b


def detect_speech(
    clip: AudioClip,
    threshold_db: float | None = None,
    bridge: float = 0.03,
    min_speech: float = 0.04,
) -> tuple[list[Region], np.ndarray]:
    """Speech regions of ``clip`` (pauses shorter than ``bridge`` joined, blips under ``min_speech`` dropped).

    Also returns the frame levels for callers that look for quiet points inside regions.
    """
    mono = clip.mono()
    levels = frame_levels(mono, clip.sample_rate)
    if levels.size == 0:
        return [], levels
    threshold = speech_threshold(levels) if threshold_db is None else threshold_db
    voiced = levels > threshold
    edges = np.diff(np.concatenate([[0], voiced.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    runs: list[list[int]] = []
    for a, b in zip(starts, ends):
        if runs and (a - runs[-1][1]) * FRAME < bridge:
            runs[-1][1] = int(b)
        else:
            runs.append([int(a), int(b)])
    _extend(runs, levels > edge_threshold(levels), hang=int(round(0.08 / FRAME)))
    regions = [Region(a * FRAME, min(b * FRAME, clip.duration)) for a, b in runs if (b - a) * FRAME >= min_speech]
    return regions, levels


def _split_at_dips(regions: list[Region], levels: np.ndarray, needed: int) -> list[Region]:
    """Offer the quietest dips inside regions (local minima of the level) as extra cut points.

    Used when a recording has fewer pauses than line breaks; the cut choice then picks
    the dips that best match the expected line lengths.
    """
    edge = int(round(0.1 / FRAME))
    smooth = np.convolve(levels, np.ones(5) / 5, mode="same")
    dips: list[tuple[float, int]] = []
    for r in regions:
        a = int(round(r.start / FRAME)) + edge
        b = int(round(r.end / FRAME)) - edge
        for k in range(max(a, 1), min(b, len(smooth) - 1)):
            if smooth[k] <= smooth[k - 1] and smooth[k] < smooth[k + 1]:
                dips.append((float(smooth[k]), k))
    dips.sort()
    chosen = sorted(k for _, k in dips[: max(4 * needed, 16)])
    out: list[Region] = []
    for r in regions:
        start = r.start
        for k in chosen:
            cut = k * FRAME + FRAME / 2
            if start < cut < r.end:
                out.append(Region(start, cut))
                start = cut
        out.append(Region(start, r.end))
    return out


def _choose_cuts(regions: list[Region], expected: list[float], min_silence: float) -> list[int]:
    """Indices g (cut between region g and g+1) for the N-1 line breaks, by dynamic programming.

    Cost = Σ (log(line length / expected length))² − ½ Σ log(1 + pause / min_silence).
    """
    n_lines = len(expected)
    k = len(regions)
    gaps = np.array([regions[g + 1].start - regions[g].end for g in range(k - 1)])
    span = regions[-1].end - regions[0].start
    biggest = np.sort(gaps)[::-1][: n_lines - 1].sum() if len(gaps) else 0.0
    speech = max(1e-3, span - biggest)
    weights = np.asarray(expected, dtype=np.float64)
    target = speech * weights / weights.sum()
    reward = 0.5 * np.log1p(np.maximum(gaps, 0.0) / max(min_silence, 1e-3))
    starts = np.array([r.start for r in regions])
    ends = np.array([r.end for r in regions])
    # boundary b in 0..k: line runs from region b_prev to region b-1; b=0 is the start, b=k the end
    inf = math.inf
    cost = np.full((n_lines + 1, k + 1), inf)
    back = np.zeros((n_lines + 1, k + 1), dtype=np.int64)
    cost[0, 0] = 0.0
    for line in range(1, n_lines + 1):
        for b in range(line, k + 1):
            prev = np.arange(line - 1, b)
            prev_cost = cost[line - 1, prev]
            ok = np.isfinite(prev_cost)
            if not ok.any():
                continue
            length = np.maximum(ends[b - 1] - starts[prev], 1e-3)
            fit = np.log(length / target[line - 1]) ** 2
            gain = reward[b - 1] if b < k else 0.0
            total = np.where(ok, prev_cost + fit, inf) - gain
            j = int(np.argmin(total))
            cost[line, b] = total[j]
            back[line, b] = prev[j]
    if not np.isfinite(cost[n_lines, k]):
        raise ScriptError("cannot divide the recording into that many lines")
    cuts: list[int] = []
    b = k
    for line in range(n_lines, 0, -1):
        prev = int(back[line, b])
        if line > 1:
            cuts.append(prev - 1)
        b = prev
    return sorted(cuts)


def split_clip(
    clip: AudioClip,
    texts: Sequence[str],
    min_silence: float = 0.30,
    padding: float = 0.05,
    threshold_db: float | None = None,
) -> list[tuple[float, float]]:
    """(start, end) seconds of each line of ``texts`` in ``clip``, in script order."""
    if not texts:
        return []
    regions, levels = detect_speech(clip, threshold_db)
    if not regions:
        raise ScriptError("no speech found in the recording (is it silent, or the wrong file?)")
    n = len(texts)
    needed = n - 1
    strong = [g for g in range(len(regions) - 1) if regions[g + 1].start - regions[g].end >= min_silence]
    if len(strong) >= needed:
        # bridge the short pauses: only real pauses can be line breaks
        merged: list[Region] = [Region(regions[0].start, regions[0].end)]
        for g in range(len(regions) - 1):
            if g in strong:
                merged.append(Region(regions[g + 1].start, regions[g + 1].end))
            else:
                merged[-1].end = regions[g + 1].end
        regions = merged
    elif len(regions) - 1 < needed:
        regions = _split_at_dips(regions, levels, needed)
        if len(regions) - 1 < needed:
            raise ScriptError(f"the recording holds too little speech for {n} lines")
    expected = [expected_duration(t) for t in texts]
    cuts = _choose_cuts(regions, expected, min_silence) if n > 1 else []
    bounds = [0, *[c + 1 for c in cuts], len(regions)]
    spans = [(regions[bounds[i]].start, regions[bounds[i + 1] - 1].end) for i in range(n)]
    out: list[tuple[float, float]] = []
    for i, (start, end) in enumerate(spans):
        lo = 0.0 if i == 0 else (spans[i - 1][1] + start) / 2
        hi = clip.duration if i == n - 1 else (end + spans[i + 1][0]) / 2
        out.append((round(max(lo, start - padding), 4), round(min(hi, end + padding), 4)))
    return out


def split_recording(
    path: str | os.PathLike[str],
    texts: Sequence[str],
    min_silence: float = 0.30,
    padding: float = 0.05,
    threshold_db: float | None = None,
) -> list[tuple[float, float]]:
    """Where each line of ``texts`` lies in the recording at ``path``, as (start, end) seconds."""
    clip = load_audio(path, sample_rate=ANALYSIS_RATE, channels=1)
    return split_clip(clip, texts, min_silence, padding, threshold_db)


def recording_fields(
    project: Project, path: str | os.PathLike[str], span: tuple[float, float], length: float
) -> dict[str, object]:
    """Shot fields that point a shot at its part of a recording."""
    return {
        "audio": project.relative(path),
        "audio_in": float(span[0]),
        "audio_out": float(span[1]),
        "audio_length": round(length, 6),
        "temp_audio": False,
    }


def recording_edits(
    project: Project,
    shots: Sequence[Shot],
    path: str | os.PathLike[str],
    min_silence: float = 0.30,
    padding: float = 0.05,
) -> list[Edit]:
    """Split ``path`` across ``shots`` (in order) and return the edits that set their audio ranges."""
    spans = split_recording(path, [s.text for s in shots], min_silence, padding)
    length = probe_audio(path).duration
    return [
        SetShotFields(shot.id, recording_fields(project, path, span, length), text="Split Recording")
        for shot, span in zip(shots, spans)
    ]
