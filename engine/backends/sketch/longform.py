"""Phones for a whole shot: cut long audio at pauses, share the script out, align each piece.

The aligner's memory grows with the audio it searches (about 3.5 MB a second), so a
ten-minute line is cut at its pauses into pieces of at most ~20 s. Each piece gets the
words whose share of the script's phones matches its share of the speech, with the cut
moved to nearby punctuation; when a piece does not align, the cut is shifted a word or
two either way, and a piece that still fails takes the recognised phones instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.backends.sketch.phonemes import (
    FRAME_S,
    RATE,
    AlignmentFailed,
    PhoneDecoder,
    PieceResult,
    Segment,
    check_fit,
    to_pcm,
)
from engine.backends.sketch.textnorm import Word
from engine.media.spool import SampleSource, sample_source

HOP = int(RATE * FRAME_S)
MAX_PIECE_S = 20.0
MIN_PIECE_S = 6.0
SINGLE_PIECE_S = 25.0  # shorter lines are aligned in one go
_SHIFTS = (0, -1, 1, -2, 2, -3, 3)


@dataclass
class ShotPhones:
    """Phones (and words, when aligned) covering a shot, and how they were found."""

    method: str  # "aligned" when every piece with words aligned, else "recognised"
    phones: list[Segment]
    words: list[Segment] = field(default_factory=list)
    pieces: list[dict[str, Any]] = field(default_factory=list)
    spelled: dict[str, str] = field(default_factory=dict)

    @property
    def aligned_fraction(self) -> float:
        total = sum(p["end"] - p["start"] for p in self.pieces) or 1.0
        return sum(p["end"] - p["start"] for p in self.pieces if p["method"] == "aligned") / total

    def to_dict(self) -> dict[str, Any]:
        return {
            "aligned_fraction": round(self.aligned_fraction, 3),
            "words": [w.to_list() for w in self.words],
            "phones": [p.to_list() for p in self.phones],
            "pieces": self.pieces,
            "spelled_words": self.spelled,
        }


def frame_db(samples: np.ndarray | SampleSource) -> np.ndarray:
    """Level of every 10 ms frame in dBFS, read and computed a minute at a time (flat memory)."""
    x = sample_source(samples)
    n = x.size // HOP
    out = np.empty(n, np.float64)
    step = 6000  # frames per block
    for a in range(0, n, step):
        b = min(n, a + step)
        block = x[a * HOP:b * HOP].reshape(b - a, HOP).astype(np.float64)
        out[a:b] = 10 * np.log10(np.mean(block * block, axis=1) + 1e-12)
    return out


def loud_frames(db: np.ndarray) -> np.ndarray:
    """Frames that are clearly speech: within 25 dB of the line's loud level, above -50 dBFS."""
    voiced = db[db > -60]
    ref = float(np.percentile(voiced, 95)) if voiced.size else 0.0
    return (db > ref - 25.0) & (db > -50.0)


def audible_frames(db: np.ndarray) -> np.ndarray:
    """Frames that may hold speech at all (quiet consonants included): within 35 dB of the loud level."""
    voiced = db[db > -60]
    ref = float(np.percentile(voiced, 95)) if voiced.size else 0.0
    return (db > ref - 35.0) & (db > -55.0)


def _gate(phones: list[Segment], audible: np.ndarray) -> list[Segment]:
    """Recognised phones over inaudible audio are noise: call them silence."""
    out = []
    for p in phones:
        a, b = int(round(p.start / FRAME_S)), int(round(p.end / FRAME_S))
        if p.label != "SIL" and not audible[max(0, a):max(a + 1, b)].any():
            p = Segment("SIL", p.start, p.end)
        out.append(p)
    return out


def cut_pieces(db: np.ndarray, max_s: float = MAX_PIECE_S, min_s: float = MIN_PIECE_S) -> list[tuple[int, int]]:
    """Split ``len(db)`` frames into pieces of at most ``max_s``, cutting in the quietest pauses."""
    n = len(db)
    max_f, min_f = int(max_s / FRAME_S), int(min_s / FRAME_S)
    if n <= max_f:
        return [(0, n)]
    # Quietness of each frame smoothed over 0.3 s, so a cut lands inside a real pause.
    k = 31
    smooth = np.convolve(np.pad(db, (k // 2, k // 2), mode="edge"), np.ones(k) / k, mode="valid")
    pieces: list[tuple[int, int]] = []
    start = 0
    while n - start > max_f:
        lo, hi = start + min_f, min(n - min_f // 2, start + max_f)
        if hi <= lo:
            hi = start + max_f
            lo = start + max_f // 2
        cut = lo + int(np.argmin(smooth[lo:hi]))
        pieces.append((start, cut))
        start = cut
    pieces.append((start, n))
    return pieces


def share_words(words: list[Word], weights: list[int], speech: list[int]) -> list[int]:
    """First word index of every piece: a piece's share of the phones follows its share of speech.

    ``weights`` are the phone counts of the words, ``speech`` the loud-frame counts of the
    pieces. A boundary moves to punctuation up to three words away.
    """
    total_speech = float(sum(speech)) or 1.0
    cum = np.cumsum([0, *weights]).astype(np.float64)
    total = cum[-1] or 1.0
    starts = [0]
    done = 0.0
    for s in speech[:-1]:
        done += s
        target = done / total_speech * total
        idx = int(np.argmin(np.abs(cum - target)))
        best = idx
        for d in (0, -1, 1, -2, 2, -3, 3):
            j = idx + d
            if 0 < j < len(words) and words[j - 1].pause_after:
                best = j
                break
        starts.append(max(starts[-1], min(len(words), best)))
    return starts


def _piece_record(a: int, b: int, method: str, n_words: int, reason: str = "") -> dict[str, Any]:
    rec: dict[str, Any] = {"start": round(a * FRAME_S, 2), "end": round(b * FRAME_S, 2), "method": method,
                           "words": n_words}
    if reason:
        rec["reason"] = reason
    return rec


def shot_phones(samples: np.ndarray | SampleSource, words: list[Word], check: Callable[[], None] | None = None,
                decoder: PhoneDecoder | None = None, piece_s: float = MAX_PIECE_S,
                single_s: float = SINGLE_PIECE_S, report: Callable[[str], None] | None = None) -> ShotPhones:
    """Phones for mono 16 kHz ``samples`` (an array or a spool): aligned to ``words`` where they fit, else recognised.

    Lines up to ``single_s`` are aligned whole, longer ones in pieces of at most ``piece_s``;
    ``check`` is called before each piece (a cancel raises there), ``report`` gets a line of progress.
    """
    dec = decoder or PhoneDecoder()
    samples = sample_source(samples)  # each piece is read on its own, so a spool stays on disk
    db = frame_db(samples)
    loud = loud_frames(db)
    audible = audible_frames(db)
    n_frames = len(db)
    single = n_frames * FRAME_S <= single_s
    pieces = [(0, n_frames)] if single else cut_pieces(db, piece_s, min(MIN_PIECE_S, 0.4 * piece_s))
    texts = [w.text for w in words]
    weights = [len(dec.pronunciation(t).split()) for t in texts] if texts else []
    starts = share_words(words, weights, [int(loud[a:b].sum()) for a, b in pieces]) if words else [0] * len(pieces)
    out = ShotPhones("aligned" if words else "recognised", [])
    k = 0  # next word to place
    for i, (a, b) in enumerate(pieces):
        if check is not None:
            check()
        if report is not None and len(pieces) > 1:
            report(f"timing mouth shapes: {'aligning the script' if words else 'recognising phones'} "
                   f"({i + 1}/{len(pieces)})")
        pcm = to_pcm(samples[a * HOP:b * HOP])
        off = a * FRAME_S
        recognised = dec.recognise(pcm, off)
        last = i == len(pieces) - 1
        end_guess = len(texts) if last else max(k, starts[i + 1])
        result: PieceResult | None = None
        reason = ""
        if words and (end_guess > k or last):
            shifts = (0,) if last else _SHIFTS
            for d in shifts:
                end = min(len(texts), max(k + 1, end_guess + d))
                try:
                    candidate = dec.align(pcm, texts[k:end], off)
                    check_fit(candidate, recognised, loud[a:b], off)
                except AlignmentFailed as exc:
                    reason = reason or str(exc)
                    continue
                result, reason = candidate, ""
                k = end
                break
        if result is None:
            if words and end_guess > k:
                k = end_guess  # these words are lost to recognition; keep the rest in step
            out.phones.extend(_gate(recognised.phones, audible))
            has_speech = bool(loud[a:b].any())
            out.pieces.append(_piece_record(a, b, "recognised" if has_speech else "silent", 0, reason))
            if words and has_speech:
                out.method = "recognised"
        else:
            out.phones.extend(result.phones)
            out.words.extend(result.words)
            out.pieces.append(_piece_record(a, b, "aligned", len(result.words)))
    out.spelled = dict(dec.added)
    return out


__all__ = ["MAX_PIECE_S", "ShotPhones", "cut_pieces", "frame_db", "loud_frames", "share_words", "shot_phones"]
