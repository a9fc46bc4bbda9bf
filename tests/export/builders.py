"""Tiny real projects for the export tests: portraits, tones and colour-coded takes.

Each take frame is a flat colour: red says which shot, green says which frame
(``10 + 8 × index``), so a decoded export tells exactly where every cut landed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.media import AudioClip, VideoWriter, save_image, write_audio
from soul_studio.project import Character, Marker, Project, Shot, Take, TimelineEntry, save_project

WIDTH, HEIGHT = 128, 72
SHOT_RED = {0: 220, 1: 120}
PORTRAIT_RGB = (40, 200, 90)
TONES = {0: 440.0, 1: 660.0, 2: 880.0}


def take_colour(shot_index: int, frame: int) -> tuple[int, int, int]:
    return SHOT_RED[shot_index], 10 + 8 * frame, 128


def tone(freq: float, seconds: float, rate: int = 48_000) -> AudioClip:
    t = np.arange(int(round(seconds * rate))) / rate
    return AudioClip((0.4 * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate)


def write_take(path: Path, shot_index: int, frames: int, width: int, height: int, fps: float) -> None:
    with VideoWriter(path, fps, width, height, "h264", start_timecode="01:00:00:00") as w:
        for i in range(frames):
            w.write(np.full((height, width, 3), take_colour(shot_index, i), np.uint8))


DEFAULT_NAMES = ("Ana asks", "Ben answers", "Ana again")
# Names an editor's file must survive: quotes, apostrophes, ampersands, markup, non-ASCII.
NASTY_NAMES = ("Ana's \"cue\" & <go>", "Ben — Zoë's reply", "Łódź 東京 café")


def build_project(folder: Path, fps: float = 24.0, width: int = WIDTH, height: int = HEIGHT,
                  names: tuple[str, str, str] = DEFAULT_NAMES, characters: tuple[str, str] = ("Ana", "Ben"),
                  gap_marker: bool = False) -> Project:
    """Three shots: a final take, a half-size draft after a gap, and a shot with no take.

    At 24 fps: shot A [0, 24), black [24, 30), shot B [30, 48), shot C [48, 60). With
    ``gap_marker`` a second marker sits in the gap.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "media").mkdir(exist_ok=True)
    (folder / "takes").mkdir(exist_ok=True)
    portrait = np.zeros((64, 64, 3), np.uint8)
    portrait[:] = PORTRAIT_RGB
    save_image(folder / "media" / "ana.png", portrait)
    save_image(folder / "media" / "ben.png", np.full((64, 64, 3), 90, np.uint8))
    # Each line sits inside a longer recording: silence, the tone, silence.
    for i, f in TONES.items():
        pad = np.zeros((1, 12_000), np.float32)
        line = tone(f, 1.0).samples
        write_audio(folder / "media" / f"line{i}.wav", AudioClip(np.concatenate([pad, line, pad], axis=1), 48_000))
    project = Project(name="Scene", fps=fps, width=width, height=height)
    ana = Character(characters[0], portrait="media/ana.png")
    ben = Character(characters[1], portrait="media/ben.png")
    project.characters += [ana, ben]
    a = Shot(ana.id, text="Where were you?", audio="media/line0.wav", audio_in=0.25, audio_out=1.25,
             audio_length=1.5, name=names[0])
    b = Shot(ben.id, text="Out.", audio="media/line1.wav", audio_in=0.25, audio_out=1.0, audio_length=1.5,
             name=names[1])
    c = Shot(ana.id, text="Liar.", audio="media/line2.wav", audio_in=0.25, audio_out=0.75, audio_length=1.5,
             name=names[2], temp_audio=True)
    for s in (a, b, c):
        project.shots[s.id] = s
    project.timeline.entries = [TimelineEntry(a.id), TimelineEntry(b.id, gap_before=project_gap(fps)),
                                TimelineEntry(c.id)]
    project.timeline.markers.append(Marker(frame=a.frames(fps) + project_gap(fps) + 3, name="Beat", note="pause"))
    if gap_marker:
        project.timeline.markers.append(Marker(frame=a.frames(fps) + 2, name="Gap note", note="hold black",
                                               colour="#4f8fd8"))
    save_project(project, folder / "scene.soulproj")
    write_take(folder / "takes" / "a_final.mp4", 0, a.frames(fps), width, height, fps)
    # takes are rendered from the shots as they are (fresh), like a studio render would record them
    a.takes.append(Take("takes/a_final.mp4", job_hash=_hash(project, a, "final"), backend="sketch", quality="final"))
    write_take(folder / "takes" / "b_draft.mp4", 1, b.frames(fps), width // 2, height // 2, fps)
    b.takes.append(Take("takes/b_draft.mp4", job_hash=_hash(project, b, "draft"), backend="sketch", quality="draft"))
    save_project(project, folder / "scene.soulproj", keep_backups=0)
    return project


def _hash(project: Project, shot: Shot, quality: str) -> str:
    from soul_studio.render.planner import current_hash

    value = current_hash(project, shot, quality, "sketch")
    assert value is not None
    return value


def project_gap(fps: float) -> int:
    return 6 if fps < 26 else 8


def not_stale(shot: Shot, take: Take) -> bool:
    return False
