"""Script text for the aligner, long lines aligned in pieces, shapes held and anticipated."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from speech_helpers import RATE, espeak, frames_of, mono16

from engine.backends.sketch import longform
from engine.backends.sketch.phonemes import Segment
from engine.backends.sketch.shapes import SHAPE_A, SHAPE_B, SHAPE_D, SHAPE_X, SHAPES, phone_shapes
from engine.backends.sketch.shapetrack import frame_shapes, hold_shapes, shape_events, track_from_phones
from engine.backends.sketch.textnorm import Word, number_words, script_words, spell_phones


def test_script_words_spell_numbers_and_mark_pauses():
    words = script_words("It's 9:30, Dr. Lee - 42% done! Café in 1984.")
    assert [w.text for w in words] == ["it's", "nine", "thirty", "doctor", "lee", "forty", "two", "percent", "done",
                                       "cafe", "in", "nineteen", "eighty", "four"]
    pauses = [w.text for w in words if w.pause_after]
    assert pauses == ["thirty", "lee", "done", "four"]
    assert number_words(1_000_007) == ["one", "million", "seven"]
    assert script_words("?!  ...") == []


def test_unknown_words_get_a_plausible_spelling():
    assert spell_phones("zorblax") == "Z AA R B L AE K S"
    assert spell_phones("shmoo") == "SH M UW"
    assert spell_phones("qxz").split() == ["K", "W", "K", "S", "Z"] or spell_phones("qxz")
    assert all(p.isalpha() and p.isupper() for p in spell_phones("Łódź-123").split())


def test_every_phone_has_a_shape():
    assert phone_shapes("AA1") == (SHAPE_D,)
    assert phone_shapes("M") == (SHAPE_A,)
    assert phone_shapes("+NSN+") == (SHAPE_X,)
    assert len(phone_shapes("AY")) == 2


def test_a_closure_between_frames_still_gets_a_frame_and_short_shapes_hold():
    # A 30 ms "m" between two vowels falls between the 40 ms frames at 25 fps.
    phones = [Segment("SIL", 0.0, 0.2), Segment("AA", 0.2, 0.5), Segment("M", 0.5, 0.53), Segment("AA", 0.53, 0.8),
              Segment("IY", 0.8, 0.83), Segment("AA", 0.83, 1.2), Segment("SIL", 1.2, 1.6)]
    times = np.arange(40) / 25.0
    raw = frame_shapes(shape_events(phones), times, 25.0)
    assert (raw == SHAPE_A).sum() == 1
    held = hold_shapes(raw)
    assert (held == SHAPE_A).sum() == 1  # closures are never merged away
    # The 30 ms "ee" between two "aa" is no flicker: it joins its neighbours.
    assert SHAPE_B not in held[18:25]
    # Anticipation: the mouth opens for the vowel a frame before the sound.
    first_open = int(np.argmax(held != SHAPE_X))
    assert times[first_open] < 0.2 and times[first_open] >= 0.2 - 0.08
    track = track_from_phones(phones, 25.0, 40, np.full(40, 0.8), "aligned")
    i = int(np.flatnonzero(track.shape == SHAPE_A)[0])
    assert track.press[i] == 1.0 and track.open[i] == 0.0
    assert track.open[i - 2] > 0.5 and track.open[i + 2] > 0.5
    assert "".join(SHAPES[s] for s in track.shape) == track.shape_letters()


def test_cut_pieces_cut_in_pauses():
    db = np.full(6000, -20.0)  # 60 s of speech ...
    for t in (14.0, 27.0, 33.0, 48.0):  # ... with four half-second pauses
        db[int(t * 100):int(t * 100) + 50] = -90.0
    pieces = longform.cut_pieces(db, max_s=20.0, min_s=6.0)
    assert pieces[0][0] == 0 and pieces[-1][1] == 6000
    assert all(b - a <= 2000 for a, b in pieces)
    for _, cut in pieces[:-1]:
        assert db[cut] == -90.0  # every cut lies inside a pause


def test_share_words_follows_speech_and_snaps_to_punctuation():
    words = [Word(f"w{i}", pause_after=(i == 9)) for i in range(20)]
    starts = longform.share_words(words, [3] * 20, [100, 100])
    assert starts == [0, 10]  # half the speech -> half the words, cut after the full stop
    starts = longform.share_words(words, [3] * 20, [25, 75])
    assert starts[1] == 5


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_long_lines_align_in_pieces(tmp_path):
    text = ("Bob bought a map in the morning. Then he walked home in the rain. "
            "Who knew the weather would turn so cold? We should have stayed inside with a book.")
    x = mono16(espeak(text, tmp_path / "long.wav"), 0.3)
    # Small pieces, so a short line runs the long-form path.
    said: list[str] = []
    found = longform.shot_phones(x, script_words(text), piece_s=4.0, single_s=2.0, report=said.append)
    assert len(said) == len(found.pieces) and said[-1].endswith(f"({len(said)}/{len(said)})")
    assert len(found.pieces) >= 3
    assert found.aligned_fraction > 0.6
    aligned_words = [w.label for w in found.words]
    expected = iter(w.text for w in script_words(text))
    assert all(any(w == e for e in expected) for w in aligned_words)  # in script order, none twice
    assert len(aligned_words) >= 0.6 * len(script_words(text))
    starts = [w.start for w in found.words]
    assert starts == sorted(starts)
    ends = [p.end for p in found.phones]
    assert ends == sorted(ends) and ends[-1] == pytest.approx(x.size / RATE, abs=0.05)
    track = track_from_phones(found.phones, 25.0, frames_of(x.size, 25.0), np.ones(frames_of(x.size, 25.0)),
                              found.method, found.to_dict())
    assert track.n_frames == frames_of(x.size, 25.0)
