"""A two-shot from the studio's document to a take on disk: the planner's speakers, the backend's multi adapter,
the movie decoded back (exact frame count, both lines in its sound)."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("engine.backends.infinitetalk.backend")


def test_two_shot_renders_a_take_with_both_speakers(tiny_folder, multi_pipe, tmp_path, make_audio):
    from skimage import data

    from engine.backends.base import RenderContext
    from engine.backends.infinitetalk.backend import InfiniteTalkBackend
    from engine.jobs import with_fingerprints
    from engine.media import load_audio, probe_video, read_frames, save_image
    from engine.takes import write_take
    from soul_studio.project import Character, Project, Shot, save_project
    from soul_studio.project.edits import AddShot, EditHistory, SetShotFields
    from soul_studio.render import job_for_shot

    face = data.astronaut()
    save_image(tmp_path / "both.png", np.concatenate([face, face[:, ::-1]], axis=1))
    make_audio("line.wav", duration=0.2, bursts=[(0.02, 0.18)])  # Ada speaks first, briefly
    make_audio("reply.wav", duration=0.4, bursts=[(0.24, 0.38)])  # Bo answers after her
    project = Project(name="Two", fps=24.0, width=128, height=64)
    project.path = tmp_path / "two.soulproj"
    ada, bo = Character("Ada"), Character("Bo")
    project.characters += [ada, bo]
    history = EditHistory(project)
    history.push(AddShot(Shot(character_id=ada.id, audio="line.wav", audio_length=0.2)))
    shot = project.timeline_shots()[0]
    history.push(SetShotFields(shot.id, {"partner_id": bo.id, "partner_audio": "reply.wav",
                                         "partner_audio_length": 0.4, "two_shot_image": "both.png"}))
    save_project(project)
    project.takes_folder.mkdir()
    options = {"infinitetalk": {"model_folder": str(tiny_folder), "allow_cpu": True, "render_size": [64, 48],
                                "steps": 1, "guidance_text": 1.0, "window_frames": 17, "motion_frames": 5}}
    job = with_fingerprints(job_for_shot(project, shot, "final", backend="infinitetalk", backend_options=options))
    assert [s["character"] for s in job.options["speakers"]] == ["Ada", "Bo"]
    backend = InfiniteTalkBackend()
    # the session's warm two-speaker pipeline of this folder stands in for loading it again
    backend.pipe, backend._folder = multi_pipe, str(tiny_folder)
    backend._key = (str(tiny_folder), *backend._load_options(job.options).key())
    result = write_take(backend, job, RenderContext())

    take = result.take_path
    info = probe_video(take)
    assert info.frame_count == job.frame_count == round(0.4 * 24)
    frames = read_frames(take)
    assert frames[0].shape == (64, 128, 3)
    sound = load_audio(take, 16_000, 1).mono()
    rms = lambda a, b: float(np.sqrt(np.mean(sound[int(a * 16_000):int(b * 16_000)] ** 2)))  # noqa: E731
    assert rms(0.04, 0.16) > 0.02 and rms(0.26, 0.36) > 0.02  # Ada's line, then Bo's, both in the take
    recorded = json.dumps(result.sidecar)
    assert '"speakers": 2' in recorded and '"adapter": "multi"' in recorded
