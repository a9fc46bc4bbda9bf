"""Phones with times from dialogue audio, offline, with pocketsphinx's en-us model.

Two ways: force-align the script's words to the audio (exact words, exact timing), or
recognise phones from the audio alone (no script, or one that does not match). An
alignment is only trusted when it fits the audio about as well as free phone
recognition does and leaves no loud speech under silence; otherwise the caller falls
back to the recognised phones. pocketsphinx works in 10 ms frames at 16 kHz; the
search keeps every frame's back-pointers, so long audio is aligned in pieces (see
``longform``).

Note: pocketsphinx 5.1.1 crashes on ``Decoder.hyp()`` after a sub-word alignment, so
scores are read from the alignment itself and ``hyp()`` is never called.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.backends.sketch.shapes import base_phone, phone_shapes
from engine.backends.sketch.textnorm import spell_phones

RATE = 16_000  # pocketsphinx's en-us model is trained on 16 kHz audio
FRAME_S = 0.01  # one pocketsphinx frame
_LOG_BASE = math.log(1.0001)  # pocketsphinx's log-math base; the API returns base ** score
# An alignment is trusted when its mouth shapes agree with those of free phone recognition
# on enough of the speech. Measured (share of speech frames with the same shape): recorded
# speech with its own words 0.89-0.91, with other words 0.21-0.25; espeak-ng with its words
# 0.52-0.62 (0.42 with an invented name), shuffled or another text 0.00-0.07.
MIN_SHAPE_AGREEMENT = 0.33
# Acoustic cost per frame (log-1.0001 units) of the dictionary words over free recognition
# of the same frames: recorded speech with its words about 0, espeak-ng with its words
# 14-28, wrong words 20-74. Only gross misfits are rejected on this alone.
MAX_EXCESS_COST = 45.0
MIN_KNOWN_WORDS = 0.5  # share of the script's words the dictionary must know (else: another language)
MAX_SPEECH_UNDER_SILENCE = 0.35  # share of loud frames an alignment may leave as silence
# Wide beams: the default ones prune the true path on lines longer than about 8 s.
_ALIGN_BEAMS: dict[str, Any] = {"beam": 1e-200, "wbeam": 1e-200, "pbeam": 1e-200, "maxwpf": -1, "maxhmmpf": -1}
_PHONE_BEAMS: dict[str, Any] = {"beam": 1e-40, "pbeam": 1e-40, "lw": 2.0, "pip": 0.3}


class SpeechUnavailable(RuntimeError):
    """pocketsphinx or its model is missing: the caller uses the spectral mouth."""


class AlignmentFailed(RuntimeError):
    """The script does not fit the audio (wrong words, wrong language, too short or long)."""


@dataclass(frozen=True)
class Segment:
    """A labelled stretch of audio in seconds (a word, or an ARPAbet phone without stress)."""

    label: str
    start: float
    end: float

    def to_list(self) -> list[Any]:
        return [self.label, round(self.start, 3), round(self.end, 3)]


@dataclass
class PieceResult:
    """Words and phones of one piece of audio, and how well they fit it."""

    words: list[Segment] = field(default_factory=list)
    phones: list[Segment] = field(default_factory=list)
    cost_per_frame: float = 0.0  # minus the mean acoustic log-score, log-1.0001 units
    frame_costs: np.ndarray | None = None  # recognition: the cost of every 10 ms frame of the piece
    word_costs: list[tuple[int, int, float, bool]] = field(default_factory=list)  # alignment: frame, frames, cost, spelled


def model_dir() -> str:
    """Folder of the en-us acoustic model and dictionary shipped in the pocketsphinx wheel."""
    try:
        from pocketsphinx import get_model_path
    except ImportError as exc:  # pragma: no cover - pocketsphinx is a dependency
        raise SpeechUnavailable("pocketsphinx is not installed") from exc
    path = get_model_path()
    if not os.path.isfile(os.path.join(path, "en-us", "cmudict-en-us.dict")):
        raise SpeechUnavailable(f"the pocketsphinx en-us model is missing from {path}")
    return path


def to_pcm(samples: np.ndarray) -> bytes:
    """Float audio (-1..1) as little-endian 16-bit PCM, the decoder's input."""
    x = np.clip(np.asarray(samples, np.float32) * 32767.0, -32768, 32767)
    return x.astype("<i2").tobytes()


def _strip_alt(word: str) -> str:
    return word.split("(", 1)[0]


class PhoneDecoder:
    """One pocketsphinx decoder per job: aligns and recognises pieces of 16 kHz audio."""

    def __init__(self) -> None:
        from pocketsphinx import Decoder

        path = model_dir()
        # lm=None: no word language model (26 MB, never used here; the app bundle leaves it out)
        self._aligner = Decoder(samprate=RATE, bestpath=False, lm=None, loglevel="FATAL", **_ALIGN_BEAMS)
        self._phones = Decoder(samprate=RATE, allphone=os.path.join(path, "en-us", "en-us-phone.lm.bin"),
                               lm=None, loglevel="FATAL", **_PHONE_BEAMS)
        self.added: dict[str, str] = {}  # words spelled by rule, with the phones used

    def pronunciation(self, word: str) -> str:
        """Dictionary phones of ``word``, adding a rule-based spelling when it is missing."""
        phones = self._aligner.lookup_word(word)
        if phones is None:
            phones = spell_phones(word)
            self._aligner.add_word(word, phones, True)
            self.added[word] = phones
        return phones

    def recognise(self, pcm: bytes, offset_s: float = 0.0) -> PieceResult:
        """Free phone recognition (no words): the fallback and the yardstick for alignments."""
        d = self._phones
        d.start_utt()
        d.process_raw(pcm, full_utt=True)
        d.end_utt()
        phones: list[Segment] = []
        segs = [(seg.word, seg.start_frame, seg.end_frame, float(seg.ascore)) for seg in d.seg()]
        n_frames = max([len(pcm) // 320] + [end + 1 for _, _, end, _ in segs])
        costs = np.zeros(n_frames, np.float64)
        for word, start, end, ascore in segs:
            costs[start:end + 1] = -math.log(max(ascore, 1e-300)) / _LOG_BASE / (end - start + 1)
            phones.append(Segment(base_phone(word), offset_s + start * FRAME_S, offset_s + (end + 1) * FRAME_S))
        return PieceResult([], phones, float(costs.mean()) if n_frames else 0.0, frame_costs=costs)

    def align(self, pcm: bytes, words: list[str], offset_s: float = 0.0) -> PieceResult:
        """Force-align ``words`` to the audio; raises :class:`AlignmentFailed` when no path fits."""
        if not words:
            raise AlignmentFailed("no words to align")
        for w in words:
            self.pronunciation(w)
        d = self._aligner
        try:
            d.set_align_text(" ".join(words))
            d.start_utt()
            d.process_raw(pcm, full_utt=True)
            d.end_utt()
            d.set_alignment()
            d.start_utt()
            d.process_raw(pcm, full_utt=True)
            d.end_utt()
            alignment = d.get_alignment()
        except RuntimeError as exc:
            raise AlignmentFailed(f"the words do not fit the audio ({exc})") from exc
        out = PieceResult()
        score = 0
        frames = 0
        for word in alignment:
            score += int(word.score)
            frames += int(word.duration)
            name = _strip_alt(word.name)
            if not name.startswith("<") and not name.startswith("+") and name != "sil":
                out.word_costs.append((int(word.start), int(word.duration), -float(word.score), name in self.added))
                out.words.append(Segment(name, offset_s + word.start * FRAME_S,
                                         offset_s + (word.start + word.duration) * FRAME_S))
            for phone in word:
                out.phones.append(Segment(base_phone(phone.name), offset_s + phone.start * FRAME_S,
                                          offset_s + (phone.start + phone.duration) * FRAME_S))
        if not out.words:
            raise AlignmentFailed("the aligner placed no words")
        out.cost_per_frame = -score / max(1, frames)
        return out


def speech_under_silence(result: PieceResult, loud: np.ndarray, offset_s: float = 0.0) -> float:
    """Share of loud 10 ms frames (``loud`` from ``offset_s``) that the alignment calls silence."""
    if not loud.any():
        return 0.0
    covered = np.zeros(loud.shape, bool)
    for p in result.phones:
        if p.label != "SIL":
            a = int(round((p.start - offset_s) / FRAME_S))
            b = int(round((p.end - offset_s) / FRAME_S))
            covered[max(0, a):max(0, b)] = True
    return float(np.mean(~covered[loud]))


def excess_cost(aligned: PieceResult, recognised: PieceResult) -> float | None:
    """Mean extra cost per frame of the aligned dictionary words over free recognition of the same frames."""
    if recognised.frame_costs is None:
        return None
    rc = recognised.frame_costs
    total, frames = 0.0, 0
    for start, n, cost, spelled in aligned.word_costs:
        if spelled or n <= 0:
            continue  # a rule-based spelling fits worse even when the word is right
        total += cost - float(rc[start:start + n].sum())
        frames += n
    return total / frames if frames else None


def _shape_frames(phones: list[Segment], n: int, offset_s: float) -> np.ndarray:
    out = np.full(n, -1, np.int16)  # -1: silence
    for p in phones:
        if p.label == "SIL":
            continue
        a = max(0, int(round((p.start - offset_s) / FRAME_S)))
        b = min(n, int(round((p.end - offset_s) / FRAME_S)))
        out[a:b] = phone_shapes(p.label)[0]
    return out


def shape_agreement(aligned: PieceResult, recognised: PieceResult, n: int, offset_s: float = 0.0) -> float:
    """Share of the speech frames (either side speaking) where both give the same mouth shape."""
    a = _shape_frames(aligned.phones, n, offset_s)
    r = _shape_frames(recognised.phones, n, offset_s)
    speech = (a >= 0) | (r >= 0)
    return float(np.mean(a[speech] == r[speech])) if speech.any() else 1.0


def check_fit(aligned: PieceResult, recognised: PieceResult, loud: np.ndarray, offset_s: float = 0.0) -> None:
    """Raise :class:`AlignmentFailed` when the aligned words do not explain the audio."""
    if aligned.word_costs:
        known = sum(1 for *_, spelled in aligned.word_costs if not spelled) / len(aligned.word_costs)
        if known < MIN_KNOWN_WORDS:
            raise AlignmentFailed(f"only {known:.0%} of the words are in the English dictionary (another language?)")
    agree = shape_agreement(aligned, recognised, len(loud), offset_s)
    if agree < MIN_SHAPE_AGREEMENT:
        raise AlignmentFailed(f"the words do not match the sounds heard ({agree:.0%} of mouth shapes agree)")
    excess = excess_cost(aligned, recognised)
    if excess is not None and excess > MAX_EXCESS_COST:
        raise AlignmentFailed(f"the words fit the audio poorly (cost {excess:.1f} over free phones)")
    missing = speech_under_silence(aligned, loud, offset_s)
    if missing > MAX_SPEECH_UNDER_SILENCE:
        raise AlignmentFailed(f"{missing:.0%} of the speech is left without words (is the script shorter?)")


__all__ = ["FRAME_S", "RATE", "AlignmentFailed", "PhoneDecoder", "PieceResult", "Segment", "SpeechUnavailable",
           "check_fit", "excess_cost", "model_dir", "shape_agreement", "speech_under_silence", "to_pcm"]
