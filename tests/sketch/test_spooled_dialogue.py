"""Long dialogue is spooled to an unlinked file and analysed a window at a time, with the same result.

The speech is the demo scene's recorded temp voices (22.05 kHz WAVs, so the 16 kHz
resampler runs across block boundaries), tiled into long lines and written as files.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from engine.backends.sketch.backend import load_dialogue, plan_mouth
from engine.jobs import JobSpec
from engine.media import AudioClip, load_audio, write_audio
from engine.media.spool import SpooledAudio, sample_source, spool_audio
from soul_studio.resources import demo_dir

ROOT = Path(__file__).resolve().parents[2]
LINES = {  # the demo's temp voices and what they say
    "ben-bcbc4e78b5.wav": "The boat is tied up. The storm is here.",
    "ada-e3178fc319.wav": "Then the lamp stays lit until morning.",
    "ben-9c56ebb48f.wav": "You have not slept in two days, Ada.",
    "ada-f085670b04.wav": "Ships do not care if I sleep.",
}


def demo_speech(path: Path, seconds: float, rate: int | None = None) -> tuple[Path, str, float]:
    """The four demo voices with half a second after each, repeated to at least ``seconds``.

    Returns the file, the script it says and its length in seconds (whole repeats only).
    """
    voices = demo_dir() / "media" / "temp_voices"
    parts, words = [], []
    for name, text in LINES.items():
        clip = load_audio(voices / name, rate)
        parts += [clip.samples, np.zeros((1, clip.sample_rate // 2), np.float32)]
        words.append(text)
        own = clip.sample_rate
    unit = np.concatenate(parts, axis=1)
    reps = int(np.ceil(seconds * own / unit.shape[1]))
    write_audio(path, AudioClip(np.tile(unit, (1, reps)), own))
    return path, " ".join(words * reps), reps * unit.shape[1] / own


def test_a_spool_slices_like_the_array_it_holds(tmp_path):
    x = np.random.default_rng(3).standard_normal(10_000).astype(np.float32)
    with SpooledAudio(16_000, tmp_path) as spool:
        spool.append(x[:4_000])
        spool.append(x[4_000:])
        spool.set_length(12_500)  # 2 500 samples of silence after what was written
        assert os.listdir(tmp_path) == []  # unlinked from the start: a killed engine leaves nothing
        padded = np.concatenate([x, np.zeros(2_500, np.float32)])
        assert len(spool) == spool.size == spool.num_samples == 12_500 and spool.duration == 12_500 / 16_000
        for a, b in [(0, 12_500), (3_999, 4_001), (9_990, 10_010), (11_000, 20_000), (-300, None), (500, 100)]:
            got = spool[a:b]
            assert got.dtype == np.float32 and np.array_equal(got, padded[a:b]), (a, b)
        assert sample_source(spool) is spool and spool.mono() is spool
        spool.set_length(6_000)  # cut short: what was past the end is silence when the length grows again
        spool.set_length(7_000)
        assert np.array_equal(spool[5_990:7_000], np.concatenate([x[5_990:6_000], np.zeros(1_000, np.float32)]))
        with pytest.raises(ValueError, match="contiguous"):
            spool[::2]
    assert np.array_equal(sample_source([[1.0, 2.0]]), np.array([1.0, 2.0], np.float32))


def test_spooled_and_in_memory_mouth_tracks_are_identical_on_real_speech(tmp_path):
    wav, text, seconds = demo_speech(tmp_path / "line.wav", 30.0)  # over 25 s: aligned in pieces
    job = JobSpec(shot_id="s1", portrait_path=str(tmp_path / "p.png"), audio_path=str(wav), audio_in=0.0,
                  duration=round(seconds, 2), fps=25.0, width=64, height=64, output_path=str(tmp_path / "s1.mp4"), text=text)
    held = load_dialogue(job, spool_over=1e9)
    spooled = load_dialogue(job, spool_over=10.0)
    assert isinstance(held, AudioClip) and isinstance(spooled, SpooledAudio)
    assert spooled.num_samples == held.num_samples == round(job.duration * 16_000)
    assert np.array_equal(spooled[:], held.mono())
    a, b = plan_mouth(job, held), plan_mouth(job, spooled)
    assert a.method == b.method == "aligned"  # two pieces, the script aligned in both
    assert len(a.alignment["pieces"]) >= 2
    for name in ("open", "width", "energy", "viseme", "press", "tuck", "shape"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.summary() == b.summary()
    assert isinstance(load_dialogue(job.replace(duration=20.0)), AudioClip)
    spooled.close()


def test_a_spooled_line_keeps_length_silence_and_errors(tmp_path):
    wav, _, seconds = demo_speech(tmp_path / "line.wav", 5.0)
    longer = spool_audio(wav, 16_000, 1.0, None, seconds + 2.0)  # the rest of the line, then 3 s of silence
    assert longer.num_samples == round((seconds + 2.0) * 16_000)
    assert np.abs(longer[: 3 * 16_000]).max() > 0.05 and not np.any(longer[round((seconds - 1.0) * 16_000) + 16:])
    assert np.array_equal(longer[:], load_audio(wav, 16_000, 1, 1.0).fit_duration(seconds + 2.0).mono())
    silent = spool_audio(None, 16_000, 0.0, None, 3.0)
    assert silent.num_samples == 48_000 and not np.any(silent[:])
    from engine.media import MediaError

    with pytest.raises(MediaError, match="holds no samples"):
        spool_audio(wav, 16_000, seconds + 1.0, None, 2.0)  # starts after the file ends
    cancelled: list[int] = []

    def check() -> None:
        cancelled.append(1)
        raise RuntimeError("cancelled")

    with pytest.raises(RuntimeError, match="cancelled"):
        spool_audio(wav, 16_000, 0.0, None, 5.0, check=check)
    assert cancelled == [1]


def test_half_an_hour_line_is_planned_under_a_memory_ceiling(tmp_path):
    """30 minutes of real speech, planned with 90 MB of address space beyond the warm start-up.

    Held whole, the line alone would be 115 MB (16 kHz float32) before any copy; spooled, the
    analysis needs a few blocks. Phone decoding runs with a stand-in decoder that records the
    pieces it was handed (pocketsphinx on 30 minutes would take minutes).
    """
    wav, _, _ = demo_speech(tmp_path / "long.wav", 30 * 60.0, rate=16_000)
    code = textwrap.dedent(f"""
        import resource
        import numpy as np
        from engine.backends.sketch import longform
        from engine.backends.sketch.backend import load_dialogue, plan_mouth
        from engine.backends.sketch.phonemes import PieceResult, Segment
        from engine.jobs import JobSpec

        class Decoder:
            added, pieces = {{}}, []
            def pronunciation(self, text):
                return "AH"
            def recognise(self, pcm, off):
                self.pieces.append(len(pcm) // 2)  # 16-bit PCM bytes
                return PieceResult(phones=[Segment("AH", off, off + len(pcm) / 32000)])

        longform.PhoneDecoder = Decoder  # the stand-in for pocketsphinx

        def job(seconds):
            return JobSpec(shot_id="s", portrait_path="p.png", audio_path={str(wav)!r}, duration=seconds, fps=25.0,
                           width=64, height=64, output_path={str(tmp_path / "s.mp4")!r})

        plan_mouth(job(90.0), load_dialogue(job(90.0)))  # warm: every module and buffer pool in use
        size = int(open("/proc/self/status").read().split("VmSize:")[1].split()[0]) << 10
        budget = size + (90 << 20)
        resource.setrlimit(resource.RLIMIT_AS, (budget, budget))
        Decoder.pieces.clear()
        try:
            track = plan_mouth(job(1800.0), load_dialogue(job(1800.0), spool_over={{spool_over}}))
        except MemoryError:
            print("memory error")
        else:
            print(track.n_frames, int((track.open > 0.3).sum()), len(Decoder.pieces), max(Decoder.pieces),
                  sum(Decoder.pieces), track.method)
    """)

    def plan(spool_over: float) -> str:
        out = subprocess.run([sys.executable, "-c", code.replace("{spool_over}", repr(spool_over))],
                             capture_output=True, text=True, timeout=120, cwd=ROOT,
                             env={**os.environ, "PYTHONPATH": str(ROOT), "MALLOC_ARENA_MAX": "2",
                                  "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
        assert out.returncode == 0, out.stderr[-3000:]
        return out.stdout.strip()

    *counts, method = plan(60.0).split()
    frames, opened, pieces, longest, total = (int(v) for v in counts)
    assert method == "recognised" and frames == 1800 * 25 and opened > 0.2 * frames  # the mouth moves throughout
    assert pieces >= 1800 / 20 and longest <= 20 * 16_000 and total == 1800 * 16_000  # every sample, 20 s at a time
    assert plan(1e9) == "memory error"  # the same line held in memory does not fit the ceiling
