"""``soul-studio render`` names the face it animated in a group portrait and obeys the Cast choice."""

from __future__ import annotations

import json

import engine.media.samples as samples
from engine.media import save_image
from soul_studio.cli import main
from soul_studio.demo import working_copy
from soul_studio.project import load_project, save_project


def test_render_says_which_face_spoke_and_follows_the_characters_choice(tmp_path, capsys):
    demo = working_copy(tmp_path / "demo")
    project = load_project(demo)
    shot = project.timeline_shots()[0]
    character = project.character(shot.character_id)
    group = project.folder / "media" / "group.png"
    save_image(group, samples.group_photo([samples.astronaut(), samples.grace_hopper()], height=360))
    character.portrait = "media/group.png"
    save_project(project)

    assert main(["render", str(demo), "--shots", "1", "--quality", "draft", "--quiet"]) == 0
    out = capsys.readouterr().out
    name = shot.name or shot.id
    assert f"Shot '{name}': animated face " in out and " of 2 " in out and "--face N or in the Cast panel" in out

    project = load_project(demo)
    project.character(shot.character_id).face_index = 1
    save_project(project)
    assert main(["render", str(demo), "--shots", "1", "--quality", "draft", "--quiet"]) == 0
    assert f"Shot '{name}': animated face 2 of 2" in capsys.readouterr().out
    take = load_project(demo).timeline_shots()[0].takes[-1]
    sidecar = json.loads(project.resolve(take.file).with_suffix(".json").read_text())
    face = sidecar["metadata"]["face"]
    assert face["index"] == 1 and face["count"] == 2 and face["source"] == "mesh"
    # The right-hand face (Grace Hopper) is the one that spoke: its box lies right of the seam.
    assert face["box"][0] > samples.astronaut().shape[1] * 360 / 512 * 0.9
