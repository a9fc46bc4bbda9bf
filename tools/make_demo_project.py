"""Regenerate the demo project (resources/demo/) from resources/demo/scene.fountain.

    python tools/make_demo_project.py [--out FOLDER] [--script FILE]

Builds ``demo.soulproj`` ("The Lighthouse", 24 fps, 1280x720) through the same script
import as File ▸ Import Script: the cast from the script, one shot per line, temp voices
spoken by espeak-ng into ``media/temp_voices/`` (marked temp), and the portraits
``media/ada.png`` / ``media/ben.png`` (painted by engine.media.synthetic when missing).
Ids and the creation date are fixed so a regenerated demo differs only where its
inputs changed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from soul_studio.project import Project, save_project  # noqa: E402
from soul_studio.project.edits import EditHistory  # noqa: E402
from soul_studio.project.model import Voice  # noqa: E402
from soul_studio.script import ImportOptions, import_scene, parse_screenplay  # noqa: E402
from soul_studio.script.temp_voice import TEMP_VOICE_FOLDER  # noqa: E402

PROJECT_NAME = "The Lighthouse"
CREATED = "2026-01-01T00:00:00+00:00"
VOICES = {
    "Ada": Voice(voice="en-gb+f2", pitch=58, rate=150),
    "Ben": Voice(voice="en-us+m3", pitch=40, rate=165),
}
PORTRAIT_SEEDS = {"Ada": (11, "bob"), "Ben": (4, "short")}


def ensure_portrait(media: Path, name: str) -> Path | None:
    """media/<name>.png, painted procedurally when it is not there yet (None if it cannot be)."""
    path = media / f"{name.lower()}.png"
    if path.exists():
        return path
    try:
        from engine.media import save_image
        from engine.media.synthetic import draw_portrait
    except ImportError:
        return None
    seed, hair = PORTRAIT_SEEDS.get(name, (len(name), None))
    image = draw_portrait(seed, size=(512, 512), hair_style=hair)
    save_image(path, image)
    return path


def make_demo(out: Path, script: Path) -> Path:
    """Write the demo project into ``out`` and return the project file."""
    out.mkdir(parents=True, exist_ok=True)
    media = out / "media"
    media.mkdir(exist_ok=True)
    voices_dir = out / TEMP_VOICE_FOLDER
    if voices_dir.is_dir():
        for old in voices_dir.glob("*.wav"):
            old.unlink()
    screenplay = parse_screenplay(script)
    scene = screenplay.scene(1)
    portraits = {}
    for name in scene.characters:
        path = ensure_portrait(media, name)
        if path is not None:
            portraits[name] = path
    project = Project(name=PROJECT_NAME, fps=24.0, width=1280, height=720, created=CREATED)
    project.path = (out / "demo.soulproj").resolve()
    options = ImportOptions(
        portraits=portraits,
        voices={k: v for k, v in VOICES.items() if k in scene.characters},
        temp_voices=True,
    )
    group = import_scene(project, scene, options)
    ids = {}
    for character in group.new_characters:
        ids[character.id] = character.name.lower()
        character.id = character.name.lower()
    for n, shot in enumerate(group.shots, start=1):
        shot.character_id = ids.get(shot.character_id or "", shot.character_id)
        shot.id = f"shot{n:02d}"
    EditHistory(project).push(group)
    return save_project(project, project.path, keep_backups=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "resources" / "demo")
    parser.add_argument("--script", type=Path, default=ROOT / "resources" / "demo" / "scene.fountain")
    args = parser.parse_args(argv)
    path = make_demo(args.out, args.script)
    total = sum(f.stat().st_size for f in (args.out / TEMP_VOICE_FOLDER).glob("*.wav"))
    print(f"{path} (temp voices: {total / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
