"""Audio in/out round trips through real files of every common format."""

from __future__ import annotations

import numpy as np
import pytest

from engine.media import AudioClip, MediaError, load_audio, probe_audio, write_audio
from tests.conftest import tone_bursts


@pytest.mark.parametrize(
    ("suffix", "rate", "channels"),
    [(".wav", 48_000, 1), (".wav", 8_000, 1), (".wav", 96_000, 2), (".flac", 44_100, 2),
     (".m4a", 44_100, 2), (".ogg", 24_000, 1), (".mp3", 22_050, 1)],
)
def test_any_format_resamples_to_model_and_delivery_rates(tmp_path, suffix, rate, channels):
    samples = tone_bursts(1.5, rate, [(0.2, 1.2)], channels=channels)
    path = tmp_path / f"line{suffix}"
    write_audio(path, AudioClip(samples, rate))
    info = probe_audio(path)
    assert abs(info.duration - 1.5) < 0.06
    assert info.channels == channels

    model = load_audio(path, sample_rate=16_000, channels=1)
    delivery = load_audio(path, sample_rate=48_000, channels=2)
    assert model.sample_rate == 16_000 and model.channels == 1
    assert delivery.sample_rate == 48_000 and delivery.channels == 2
    assert abs(model.duration - 1.5) < 0.06
    assert abs(delivery.duration - 1.5) < 0.06
    # Loud in the burst, silent outside: the signal survived encode, decode and resampling.
    loud = model.slice(0.4, 1.0).rms_dbfs()
    quiet = model.slice(1.3, 1.45).rms_dbfs()
    expected = AudioClip(samples, rate).slice(0.4, 1.0).as_channels(1).rms_dbfs()
    assert abs(loud - expected) < 1.5
    assert quiet < loud - 30


def test_range_loading_returns_the_requested_window(make_audio):
    path = make_audio("long.wav", duration=6.0, bursts=[(3.0, 4.0)])
    clip = load_audio(path, 16_000, 1, start=2.5, end=4.5)
    assert abs(clip.duration - 2.0) < 0.02
    env = [clip.slice(t, t + 0.1).rms_dbfs() for t in (0.2, 1.0, 1.7)]
    assert env[0] < -60 and env[1] > -20 and env[2] < -60


def test_silence_is_detected(make_audio):
    path = make_audio("silent.wav", duration=1.0, bursts=[])
    from engine.media import write_audio as write

    write(path, AudioClip.silence(1.0, 48_000))
    assert load_audio(path).is_silent()


@pytest.mark.parametrize("case", ["missing", "empty", "pdf", "folder", "image"])
def test_bad_audio_raises_media_error_naming_the_file(tmp_path, make_portrait, case):
    path = tmp_path / "line.wav"
    if case == "empty":
        path.write_bytes(b"")
    elif case == "pdf":
        path.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    elif case == "folder":
        path.mkdir()
    elif case == "image":
        path = make_portrait("still.png")
    with pytest.raises(MediaError) as info:
        load_audio(path)
    assert str(path) in str(info.value)
    assert info.value.reason


def test_resample_keeps_pitch(tmp_path):
    rate = 8_000
    clip = AudioClip(tone_bursts(1.0, rate, freq=300.0), rate)
    up = clip.resample(48_000).mono()
    spectrum = np.abs(np.fft.rfft(up))
    peak_hz = np.argmax(spectrum) * 48_000 / len(up)
    assert abs(peak_hz - 300.0) < 3.0
