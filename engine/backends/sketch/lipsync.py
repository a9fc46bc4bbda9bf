"""The sketch engine's lip sync: the best mouth track the inputs allow, and which path made it.

1. ``aligned``: the shot's script is force-aligned to the dialogue, so every word's
   phones land where they are spoken (the usual case for a studio shot);
2. ``recognised``: without a script, or where it does not fit the audio, phones are
   recognised from the audio alone;
3. ``spectral``: when no phone decoder is available (or it finds nothing), the mouth
   follows the spectrum of the audio.
Whatever path runs, the reason for falling back is recorded with the track.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from engine.backends.sketch.audio import MouthTrack, audio_features, mouth_track
from engine.backends.sketch.longform import shot_phones
from engine.backends.sketch.phonemes import RATE, SpeechUnavailable
from engine.backends.sketch.shapes import SHAPE_X
from engine.backends.sketch.shapetrack import track_from_phones
from engine.backends.sketch.textnorm import script_words
from engine.media.spool import SampleSource, sample_source

METHODS: tuple[str, ...] = ("aligned", "recognised", "spectral")


def _resample(samples: np.ndarray | SampleSource, sample_rate: int) -> np.ndarray | SampleSource:
    """The phone decoder's 16 kHz samples; a spool at that rate is passed on unread."""
    if sample_rate == RATE:
        return sample_source(samples)
    x = sample_source(samples)[:]  # other rates are resampled whole (arrays from callers, not the engine's spool)
    n = int(round(x.size * RATE / sample_rate))
    return np.interp(np.arange(n) * (sample_rate / RATE), np.arange(x.size), x).astype(np.float32)


def plan_lipsync(samples: np.ndarray | SampleSource, sample_rate: int, fps: float, n_frames: int, text: str = "",
                 phones: bool = True, check: Callable[[], None] | None = None,
                 report: Callable[[str], None] | None = None) -> MouthTrack:
    """Per-frame mouth track for mono ``samples``; ``text`` is the line as written in the script.

    ``samples`` is an array or a :class:`~engine.media.spool.SpooledAudio`, read a window at a time.
    ``phones=False`` skips the phone decoder (the spectral path only); ``check`` is called
    between pieces of long audio so a cancel stops the analysis, ``report`` hears how far it got.
    """
    features = audio_features(samples, sample_rate, fps, n_frames)
    spectral = mouth_track(features, fps)
    if not phones:
        return spectral
    if not np.any(features.energy > 0):
        spectral.alignment = {"reason": "the dialogue is silent"}
        return spectral
    words = script_words(text or "")
    try:
        found = shot_phones(_resample(samples, sample_rate), words, check, report=report)
    except SpeechUnavailable as exc:
        spectral.alignment = {"reason": str(exc)}
        return spectral
    speech = [p for p in found.phones if p.label != "SIL"]
    if not speech:
        spectral.alignment = {"reason": "no phones were found in the dialogue"}
        return spectral
    details = found.to_dict()
    if not words:
        details["reason"] = "the shot has no script text"
    elif found.method != "aligned":
        reasons = [p["reason"] for p in found.pieces if p.get("reason")]
        details["reason"] = reasons[0] if reasons else "the script did not fit the dialogue"
    track = track_from_phones(found.phones, fps, n_frames, features.energy, found.method, details)
    track.energy = spectral.energy  # head emphasis keeps following the loudness as before
    if found.method == "recognised":
        fill_gaps(track, spectral)
    return track


def fill_gaps(track: MouthTrack, spectral: MouthTrack, level: float = 0.25) -> int:
    """Where recognition heard no phone but the audio is clearly speech, take the spectral mouth.

    Free phone recognition misses soft onsets and mumbles; the spectral track never
    misses loudness. Returns the number of frames filled.
    """
    assert track.shape is not None and spectral.shape is not None
    assert track.press is not None and spectral.press is not None
    gap = (track.shape == SHAPE_X) & (spectral.energy > level) & (spectral.shape != SHAPE_X)
    for name in ("open", "width", "viseme", "shape", "press"):
        getattr(track, name)[gap] = getattr(spectral, name)[gap]
    return int(gap.sum())


__all__ = ["METHODS", "fill_gaps", "plan_lipsync"]
