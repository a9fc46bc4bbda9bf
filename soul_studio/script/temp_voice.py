"""Temporary dialogue spoken by espeak-ng, so a scene can be cut before anyone records it.

Every line is rendered offline through a subprocess with the character's voice, pitch
and rate, trimmed to its speech, and written as 16-bit mono WAV into the project's
``media/temp_voices/``. Shots using it carry ``temp_audio = True`` so the exporter can
warn before a temp line reaches a delivery. File names hash the text and the voice:
the same line in the same voice is rendered once, a changed line gets a new file.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.media import AudioClip, MediaError, load_audio, write_audio
from soul_studio.project.edits import Edit, SetShotFields
from soul_studio.project.model import Character, Project, Shot, Voice
from soul_studio.script.errors import ScriptError, TempVoiceUnavailable

TEMP_VOICE_FOLDER = "media/temp_voices"
ENGINES = ("espeak-ng", "espeak")
HEAD_PAD = 0.05
TAIL_PAD = 0.10
TRIM_LEVEL = 10 ** (-50 / 20)
INSTALL_HINT = "install espeak-ng (Debian/Ubuntu: apt install espeak-ng; macOS: brew install espeak-ng) or record the lines"

Progress = Callable[[int, int, str], None]


@dataclass
class TempLine:
    """A rendered temp line: the WAV file and its length in seconds."""

    path: Path
    duration: float


def espeak_executable(engine: str = "espeak-ng") -> str | None:
    """Path of the speech synthesiser, or None when it is not installed."""
    for name in (engine, *ENGINES):
        found = shutil.which(name)
        if found:
            return found
    return None


def espeak_available() -> bool:
    return espeak_executable() is not None


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:24] or "line"


def temp_voice_name(text: str, voice: Voice, label: str = "") -> str:
    """Stable file name for ``text`` spoken by ``voice``."""
    key = "\x1f".join([" ".join(text.split()), voice.engine, voice.voice, str(voice.pitch), str(voice.rate)])
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]
    return f"{_slug(label)}-{digest}.wav"


def _trim(clip: AudioClip) -> AudioClip:
    """Cut espeak's leading and trailing silence down to a short breath either side."""
    mono = clip.mono()
    loud = np.flatnonzero(np.abs(mono) > TRIM_LEVEL)
    if loud.size == 0:
        return clip
    start = max(0.0, loud[0] / clip.sample_rate - HEAD_PAD)
    end = min(clip.duration, (loud[-1] + 1) / clip.sample_rate + TAIL_PAD)
    return clip.slice(start, end)


def render_temp_voice(
    text: str, voice: Voice, folder: str | os.PathLike[str], label: str = "", timeout: float = 60.0
) -> TempLine:
    """Speak ``text`` with ``voice`` into ``folder`` (reusing an identical earlier render)."""
    spoken = " ".join(text.split())
    if not spoken:
        raise ScriptError("a temp voice needs some text to speak")
    if voice.engine not in ENGINES:
        raise TempVoiceUnavailable(f"temp voice engine {voice.engine!r} is not supported (use espeak-ng)")
    exe = espeak_executable(voice.engine)
    if exe is None:
        raise TempVoiceUnavailable(f"espeak-ng is not installed, so temp voices cannot be made: {INSTALL_HINT}")
    out_dir = Path(folder)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / temp_voice_name(spoken, voice, label)
    if target.exists():
        try:
            return TempLine(target, load_audio(target).duration)
        except MediaError:
            target.unlink(missing_ok=True)  # a broken earlier render: make it again
    pitch = min(99, max(0, int(voice.pitch)))
    rate = min(450, max(80, int(voice.rate)))
    fd, raw_name = tempfile.mkstemp(prefix=".espeak-", suffix=".wav", dir=out_dir)
    os.close(fd)
    raw = Path(raw_name)
    tmp = out_dir / f".{target.name}.tmp.wav"
    try:
        cmd = [exe, "-v", voice.voice or "en", "-p", str(pitch), "-s", str(rate), "-w", str(raw), "--stdin"]
        try:
            result = subprocess.run(cmd, input=spoken.encode("utf-8"), capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise TempVoiceUnavailable(f"espeak-ng took longer than {timeout:.0f} s on one line") from exc
        message = result.stderr.decode("utf-8", "replace").strip()
        if result.returncode != 0 or raw.stat().st_size == 0 or "does not exist" in message:
            raise TempVoiceUnavailable(
                f"espeak-ng could not speak with voice {voice.voice!r}: {message or f'exit code {result.returncode}'}"
            )
        clip = _trim(load_audio(raw).as_channels(1))
        write_audio(tmp, clip)
        os.replace(tmp, target)
        return TempLine(target, clip.duration)
    finally:
        raw.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)


def temp_voice_folder(project: Project) -> Path:
    """``media/temp_voices`` beside the project file; the project must have been given a path."""
    if project.folder is None:
        raise ScriptError("save the project first: temp voices are written into its media folder")
    return project.folder / TEMP_VOICE_FOLDER


def needs_temp_voice(shot: Shot, replace_temp: bool = True) -> bool:
    """A shot with text and no real recording (an earlier temp line is replaced)."""
    if not shot.text.strip():
        return False
    if shot.audio and not shot.temp_audio:
        return False
    return replace_temp or not shot.audio


def temp_voice_fields(project: Project, line: TempLine) -> dict[str, object]:
    """Shot fields that point a shot at a rendered temp line."""
    return {
        "audio": project.relative(line.path),
        "audio_in": 0.0,
        "audio_out": None,
        "audio_length": round(line.duration, 6),
        "temp_audio": True,
    }


def render_for_shots(
    project: Project,
    shots: Iterable[Shot],
    characters: Iterable[Character] = (),
    replace_temp: bool = True,
    progress: Progress | None = None,
) -> list[tuple[Shot, TempLine]]:
    """Render the temp line of every shot that needs one; ``characters`` adds cast not yet in the project.

    ``progress(done, total, text)`` is called before each line; raising from it cancels.
    """
    cast = {c.id: c for c in project.characters}
    cast.update({c.id: c for c in characters})
    todo = [s for s in shots if needs_temp_voice(s, replace_temp)]
    folder = temp_voice_folder(project)
    out: list[tuple[Shot, TempLine]] = []
    for i, shot in enumerate(todo):
        character = cast.get(shot.character_id or "")
        voice = character.voice if character is not None else Voice()
        label = character.name if character is not None else "line"
        if progress is not None:
            progress(i, len(todo), shot.text)
        out.append((shot, render_temp_voice(shot.text, voice, folder, label=label)))
    if progress is not None:
        progress(len(todo), len(todo), "")
    return out


def generate_temp_voices(
    project: Project,
    shots: Iterable[Shot],
    characters: Iterable[Character] = (),
    replace_temp: bool = True,
    progress: Progress | None = None,
) -> list[Edit]:
    """Render temp lines for ``shots`` already in the project; returns the edits that attach them.

    Shots with a real recording are left alone. Push the edits (or an EditGroup of them)
    to make the change undoable.
    """
    rendered = render_for_shots(project, shots, characters, replace_temp, progress)
    return [
        SetShotFields(shot.id, temp_voice_fields(project, line), text="Generate Temp Voice") for shot, line in rendered
    ]
