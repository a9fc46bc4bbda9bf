"""Hostile media and sizes are refused before anything big is allocated or anything blocks."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import textwrap
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

from engine import protocol
from engine.jobs import JobSpec, JobSpecError
from engine.media import MediaError, load_portrait
from engine.media.audio import AudioClip, iter_audio_blocks, load_audio, write_audio

ROOT = Path(__file__).resolve().parents[2]


def sparse_wav(path: Path, seconds: float, rate: int = 8000) -> Path:
    """A mono 16-bit WAV of ``seconds`` of silence that takes no disk space (a sparse file)."""
    data = int(seconds * rate) * 2
    header = b"RIFF" + struct.pack("<I", 36 + data) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    with open(path, "wb") as handle:
        handle.write(header + b"data" + struct.pack("<I", data))
        handle.truncate(44 + data)
    return path


def bomb_png(path: Path, side: int = 12000) -> Path:
    """A few hundred bytes that claim to be a 12000x12000 PNG (decoding it would need 432 MB)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" + b"\x00" * (side * 3), 9)  # one row; the rest would decode as zeros
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def run_limited(code: str, limit_mb: int, env: dict[str, str] | None = None, timeout: float = 120) -> str:
    """Run ``code`` in a child whose address space is capped at ``limit_mb`` (the test's memory ceiling)."""
    prelude = textwrap.dedent(f"""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, ({limit_mb} << 20, {limit_mb} << 20))
    """)
    out = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], capture_output=True, text=True,
                         timeout=timeout, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_three_hour_wav_streams_under_a_memory_ceiling_and_is_refused_whole(tmp_path):
    wav = sparse_wav(tmp_path / "long.wav", 3 * 3600)
    project = tmp_path / "scene.soulproj"
    project.write_text(json.dumps({
        "format": "soul-studio-project", "schema_version": 1, "name": "long", "fps": 24.0, "width": 128, "height": 72,
        "characters": [{"id": "c1", "name": "Ana"}],
        "shots": [{"id": "s1", "character_id": "c1", "audio": "long.wav", "audio_in": 0.0, "audio_out": 10800.0}],
        "timeline": {"entries": [{"shot_id": "s1"}]},
    }))
    out = run_limited(f"""
        import numpy as np
        from engine.media import MediaError
        from engine.media.audio import iter_audio_blocks, load_audio
        from soul_studio.project import ProjectFileError, load_project
        try:
            load_project({str(project)!r})
        except ProjectFileError as exc:
            print("project:", exc)
        try:
            load_audio({str(wav)!r}, 48000, 2)
        except MediaError as exc:
            print("whole:", exc)
        n = peak = 0
        for block in iter_audio_blocks({str(wav)!r}, None, 1, start=5400.0, end=9000.0, block_seconds=60.0):
            n += block.num_samples
            peak = max(peak, float(np.abs(block.samples).max()))
        print("streamed:", n, peak)
    """, limit_mb=1500)
    lines = dict(line.split(": ", 1) for line in out.splitlines())
    assert "shots[0].audio_out" in lines["project"] and "10800 s" in lines["project"]
    assert "more than the 7200 s" in lines["whole"]
    samples, peak = lines["streamed"].split()
    assert int(samples) == 3600 * 8000 and float(peak) == 0.0  # an hour from the middle, streamed


def test_longer_shots_can_be_allowed_by_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("SOUL_MAX_SHOT_SECONDS", str(4 * 3600))
    job = JobSpec("s", "/p.png", duration=3 * 3600, fps=24, width=64, height=36, output_path="/t.mp4")
    assert job.validate() is job
    monkeypatch.delenv("SOUL_MAX_SHOT_SECONDS")
    with pytest.raises(JobSpecError, match="SOUL_MAX_SHOT_SECONDS"):
        job.validate()


@pytest.mark.parametrize(("width", "height", "message"), [
    (100_000, 100_000, "larger than 4K DCI"), (4098, 2160, "larger than 4K DCI"), (4096, 2162, "larger than 4K DCI"),
    (64, 35, "even"), (2**40, 16, "4K DCI"),
])
def test_resolution_is_refused_in_the_job_before_the_engine_allocates(width, height, message):
    job = JobSpec("s", "/p.png", duration=1.0, fps=24, width=width, height=height, output_path="/t.mp4")
    with pytest.raises(JobSpecError, match=message):
        job.validate()
    JobSpec("s", "/p.png", duration=1.0, fps=24, width=4096, height=2160, output_path="/t.mp4").validate()
    JobSpec("s", "/p.png", duration=1.0, fps=24, width=2160, height=4096, output_path="/t.mp4").validate()


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1.0])
def test_non_finite_durations_and_ranges_are_refused(bad):
    with pytest.raises(JobSpecError):
        JobSpec("s", "/p.png", duration=bad, fps=24, width=64, height=36, output_path="/t.mp4").validate()
    with pytest.raises(JobSpecError):
        JobSpec("s", "/p.png", duration=1.0, fps=24, width=64, height=36, output_path="/t.mp4",
                audio_path="/a.wav", audio_in=bad).validate()


def test_decompression_bomb_is_refused_from_its_header(tmp_path):
    bomb = bomb_png(tmp_path / "bomb.png")
    assert bomb.stat().st_size < 2000
    tracemalloc.start()
    with pytest.raises(MediaError, match="12000x12000 pixels"):
        load_portrait(bomb)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 20 << 20


def test_bomb_portrait_in_an_export_is_a_clear_error(tmp_path):
    from soul_studio.export import ExportError, ExportOptions, export_project
    from tests.export.builders import build_project, not_stale

    project = build_project(tmp_path / "p")
    bomb_png(project.folder / "media" / "ana.png")  # shot C (no take) shows Ana's portrait
    with pytest.raises(ExportError, match="12000x12000"):
        export_project(project, "mp4", tmp_path / "cut.mp4", ExportOptions(stale_check=not_stale))
    assert not (tmp_path / "cut.mp4").exists()


def test_fifo_and_devices_are_refused_by_type_without_blocking(tmp_path):
    fifo = tmp_path / "line.wav"
    os.mkfifo(fifo)
    still = tmp_path / "face.png"
    os.mkfifo(still)
    out = run_limited(f"""
        from engine.media import MediaError, load_audio, load_portrait, probe_audio
        for fn, path in ((load_audio, {str(fifo)!r}), (probe_audio, {str(fifo)!r}), (load_portrait, {str(still)!r}),
                         (load_audio, "/dev/zero"), (load_portrait, "/dev/zero")):
            try:
                fn(path)
            except MediaError as exc:
                print(exc.reason)
    """, limit_mb=4000, timeout=30)
    lines = out.splitlines()
    assert len(lines) == 5
    assert all("pipe (FIFO)" in line for line in lines[:3]) and all("device" in line for line in lines[3:])


def test_truncated_mp3_warns_with_the_time_it_stopped(tmp_path):
    rate = 48_000
    t = np.arange(4 * rate) / rate
    full = tmp_path / "line.mp3"
    write_audio(full, AudioClip((0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate))
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    clip = load_audio(full, rate, 1)
    assert not clip.warnings
    short = load_audio(cut, rate, 1)
    assert short.warnings and "truncated" in short.warnings[0] and "ends at" in short.warnings[0]
    stopped = float(short.warnings[0].split("ends at ")[1].split(" s")[0])
    assert abs(stopped - short.duration) < 0.1 and 1.0 < stopped < 3.0
    warnings: list[str] = []
    blocks = list(iter_audio_blocks(cut, rate, 1, block_seconds=0.5, warnings=warnings))
    assert sum(b.num_samples for b in blocks) == short.num_samples and warnings == short.warnings


def test_overlong_protocol_line_is_skipped_while_reading():
    class Endless(io.RawIOBase):
        """40 MB of one line, then a good line: produced on demand, never held."""

        def __init__(self) -> None:
            self.left = 40 << 20
            self.tail = protocol.encode(protocol.request(1, "status"))

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            if self.left > 0:
                n = min(len(buffer), self.left)
                buffer[:n] = b"a" * n
                self.left -= n
                if self.left == 0:
                    buffer[n - 1 : n] = b"\n"
                return n
            n = min(len(buffer), len(self.tail))
            buffer[:n], self.tail = self.tail[:n], self.tail[n:]
            return n

    tracemalloc.start()
    lines = list(protocol.read_lines(io.BufferedReader(Endless(), 1 << 16), limit=1 << 20))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 8 << 20
    assert len(lines) == 2 and isinstance(lines[0], protocol.OversizedLine) and lines[0].length == 40 << 20
    with pytest.raises(protocol.ProtocolError, match="longer than"):
        protocol.decode(lines[0])
    assert protocol.decode(lines[1])["op"] == "status"
