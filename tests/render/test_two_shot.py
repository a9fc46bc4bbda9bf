"""Two characters in one shot: the undoable edit, the saved file, the job's speakers and the take's audio."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from engine.jobs import JobSpecError, with_fingerprints
from soul_studio.project import Character, Project, Shot, load_project, save_project
from soul_studio.project.edits import AddShot, EditHistory, RemoveCharacter, SetShotFields
from soul_studio.render import job_for_shot

TWO_SHOT = {"partner_audio": "reply.wav", "partner_audio_in": 0.0, "partner_audio_length": 3.0,
            "two_shot_image": "both.png"}


@pytest.fixture
def project(tmp_path, make_portrait, make_audio) -> Project:
    from skimage import data

    from engine.media import save_image

    face = data.astronaut()
    save_image(tmp_path / "both.png", np.concatenate([face, face[:, ::-1]], axis=1))
    make_portrait("ada.png")
    make_portrait("bo.png")
    make_audio("line.wav", duration=2.5, bursts=[(0.2, 2.0)])
    make_audio("reply.wav", duration=3.0, bursts=[(0.5, 2.8)])
    p = Project(name="Scene", fps=25.0, width=1280, height=720)
    p.path = tmp_path / "scene.soulproj"
    ada, bo = Character("Ada", portrait="ada.png"), Character("Bo", portrait="bo.png")
    p.characters += [ada, bo]
    EditHistory(p).push(AddShot(Shot(character_id=ada.id, text="Hello.", audio="line.wav", audio_length=2.5,
                                     name="sc1-01")))
    save_project(p)
    return p


def _make_two_shot(project: Project, history: EditHistory, **extra) -> Shot:
    shot = project.timeline_shots()[0]
    bo = project.character_by_name("Bo")
    history.push(SetShotFields(shot.id, {"partner_id": bo.id, **TWO_SHOT, **extra}, text="Make Two-Shot"))
    return shot


def test_two_shot_edit_is_undoable_and_saved(project: Project):
    history = EditHistory(project)
    shot = _make_two_shot(project, history)
    assert shot.is_two_shot and shot.duration == pytest.approx(3.0)  # the longer line sets the length
    save_project(project)
    again = load_project(project.path)
    loaded = again.shots[shot.id]
    assert (loaded.partner_id, loaded.partner_audio, loaded.two_shot_image) == (shot.partner_id, "reply.wav", "both.png")
    assert loaded == shot
    history.undo()
    assert not shot.is_two_shot and shot.partner_audio is None and shot.duration == pytest.approx(2.5)
    history.redo()
    assert shot.partner_id == project.character_by_name("Bo").id


def test_removing_the_partner_character_is_undoable(project: Project):
    history = EditHistory(project)
    shot = _make_two_shot(project, history)
    bo = project.character_by_name("Bo")
    history.push(RemoveCharacter(bo.id))
    assert shot.partner_id is None and shot.character_id is not None
    history.undo()
    assert shot.partner_id == bo.id


def test_infinitetalk_job_carries_both_speakers_left_to_right(project: Project):
    shot = _make_two_shot(project, EditHistory(project))
    job = job_for_shot(project, shot, "final", backend="infinitetalk")
    assert job.portrait_path == str(project.resolve("both.png"))
    left, right = job.options["speakers"]
    assert (left["character"], right["character"]) == ("Ada", "Bo")
    assert left["audio_path"] == job.audio_path == str(project.resolve("line.wav"))
    assert right["audio_path"] == str(project.resolve("reply.wav")) and right["fingerprint"]
    assert left["box"][2] <= 0.5 <= right["box"][0]  # each box on its own person of the two-shot
    assert job.duration == pytest.approx(3.0)
    swapped = job_for_shot(project, _make_two_shot(project, EditHistory(project), partner_left=True), "final",
                           backend="infinitetalk")
    assert [s["character"] for s in swapped.options["speakers"]] == ["Bo", "Ada"]
    assert swapped.content_hash() != job.content_hash()
    from soul_studio.render import two_shot
    from soul_studio.render.planner import FingerprintCache

    calls = []
    real = two_shot.detect_boxes
    cache = FingerprintCache()
    try:
        two_shot.detect_boxes = lambda p: calls.append(p) or real(p)
        first = job_for_shot(project, shot, "final", backend="infinitetalk", fingerprints=cache)
        again = job_for_shot(project, shot, "final", backend="infinitetalk", fingerprints=cache)
    finally:
        two_shot.detect_boxes = real
    assert len(calls) == 1 and first.content_hash() == again.content_hash() == swapped.content_hash()
    sketch = job_for_shot(project, shot, "draft", backend="sketch")
    assert "speakers" not in sketch.options  # other backends render the shot's own character


def test_silent_partner_listens(project: Project):
    history = EditHistory(project)
    shot = _make_two_shot(project, history, partner_audio=None, partner_audio_length=None)
    right = job_for_shot(project, shot, "final", backend="infinitetalk").options["speakers"][1]
    assert right["audio_path"] is None and right["character"] == "Bo"


def test_moved_project_keeps_the_same_job_hash(project: Project, tmp_path):
    shot = _make_two_shot(project, EditHistory(project), speaker_boxes=[[0.0, 0.0, 0.5, 1.0], [0.5, 0.0, 1.0, 1.0]])
    before = job_for_shot(project, shot, "final", backend="infinitetalk").content_hash()
    save_project(project)
    moved = tmp_path / "elsewhere"
    shutil.copytree(project.folder, moved)
    copy = load_project(moved / "scene.soulproj")
    after = job_for_shot(copy, copy.shots[shot.id], "final", backend="infinitetalk")
    assert after.options["speakers"][0]["box"] == [0.0, 0.0, 0.5, 1.0]
    assert after.content_hash() == before
    EditHistory(copy).push(SetShotFields(shot.id, {"partner_audio_in": 0.4}))
    assert job_for_shot(copy, copy.shots[shot.id], "final", backend="infinitetalk").content_hash() != before


def test_take_audio_mixes_both_lines(project: Project):
    from engine.takes import load_job_audio

    shot = _make_two_shot(project, EditHistory(project))
    job = with_fingerprints(job_for_shot(project, shot, "final", backend="infinitetalk"))
    clip = load_job_audio(job)
    assert clip.duration == pytest.approx(3.0, abs=1e-3)
    rate = clip.sample_rate
    mono = clip.mono()
    loud = lambda a, b: float(np.sqrt(np.mean(mono[int(a * rate):int(b * rate)] ** 2)))  # noqa: E731
    assert loud(2.85, 3.0) < 1e-3  # both silent at the very end
    assert loud(2.2, 2.7) > 0.05  # only Bo speaks here: his line is in the take
    assert loud(0.25, 0.45) > 0.05  # only Ada speaks here


def test_bad_speakers_are_refused(project: Project):
    job = job_for_shot(project, project.timeline_shots()[0], "final", backend="infinitetalk")
    with pytest.raises(JobSpecError, match="absolute"):
        job.replace(options={"speakers": [{"audio_path": "rel.wav"}]}).validate()
    with pytest.raises(JobSpecError, match="1 to 2"):
        job.replace(options={"speakers": [{}, {}, {}]}).validate()
    with pytest.raises(JobSpecError, match="box"):
        job.replace(options={"speakers": [{"box": [0, 0, 2, 1]}]}).validate()


def test_registered_models_reach_infinitetalk_jobs_locally_and_on_the_farm(project: Project, tmp_path, monkeypatch):
    import asyncio

    from soul_studio.farm.manager import FarmRenderManager
    from soul_studio.models.registry import ModelRegistry
    from soul_studio.models.settings import StudioPaths
    from soul_studio.render.manager import registered_model_options

    monkeypatch.setenv("SOUL_STUDIO_CONFIG_DIR", str(tmp_path / "config"))
    folder, lora = tmp_path / "it-model", tmp_path / "draft.safetensors"
    folder.mkdir()
    lora.write_bytes(b"")
    registry = ModelRegistry(StudioPaths.default())
    registry.add("infinitetalk", "infinitetalk", folder)
    registry.add("draft", "draft-lora", lora)
    options = registered_model_options()
    assert options["infinitetalk"] == {"model_folder": str(folder.resolve()), "draft_lora": str(lora.resolve())}

    submitted = []

    class Dispatcher:
        jobs: dict = {}

        def submit(self, job):
            submitted.append(job)

    async def run():
        manager = FarmRenderManager(project, EditHistory(project).push, backend="infinitetalk",
                                    backend_options=options)
        manager.dispatcher = Dispatcher()
        manager.render([project.timeline_shots()[0].id], "final")
        await asyncio.sleep(0.05)

    asyncio.run(run())
    assert submitted and submitted[0].backend == "infinitetalk"
    assert submitted[0].options["model_folder"] == str(folder.resolve())
    assert submitted[0].options["draft_lora"] == str(lora.resolve())
    soul_job = job_for_shot(project, project.timeline_shots()[0], "final", backend="soul", backend_options=options)
    assert "infinitetalk" not in soul_job.options


def test_exported_dialogue_holds_both_lines(project: Project):
    from soul_studio.export.cut import plan_cut
    from soul_studio.export.options import ExportOptions
    from soul_studio.export.soundtrack import build_soundtrack

    shot = _make_two_shot(project, EditHistory(project))
    clip = build_soundtrack(project, plan_cut(project, ExportOptions()))
    rate = clip.sample_rate
    mono = clip.mono()
    loud = lambda a, b: float(np.sqrt(np.mean(mono[int(a * rate):int(b * rate)] ** 2)))  # noqa: E731
    assert clip.duration == pytest.approx(3.0, abs=0.05)
    assert loud(0.25, 0.45) > 0.05 and loud(2.2, 2.7) > 0.05  # Ada alone, then Bo alone
    EditHistory(project).push(SetShotFields(shot.id, {"audio": None, "audio_length": None}))
    silent_own = build_soundtrack(project, plan_cut(project, ExportOptions())).mono()
    assert float(np.sqrt(np.mean(silent_own[int(2.2 * rate):int(2.7 * rate)] ** 2))) > 0.05  # Bo is still heard
    assert float(np.sqrt(np.mean(silent_own[int(0.25 * rate):int(0.45 * rate)] ** 2))) < 1e-3


def test_timeline_files_of_a_two_shot_link_the_take_that_holds_both_lines(project: Project, tmp_path):
    import opentimelineio as otio

    from engine.media import VideoWriter
    from engine.takes import load_job_audio
    from soul_studio.export import ExportOptions, export_project
    from soul_studio.project import Take
    from soul_studio.render.planner import current_hash

    shot = _make_two_shot(project, EditHistory(project))
    job = with_fingerprints(job_for_shot(project, shot, "final", backend="infinitetalk"))
    project.takes_folder.mkdir(exist_ok=True)
    movie = project.takes_folder / "two.mp4"
    with VideoWriter(movie, 25.0, 64, 36, "h264", audio=load_job_audio(job)) as writer:
        for _ in range(job.frame_count):
            writer.write(np.full((36, 64, 3), 90, np.uint8))
    shot.takes.append(Take("takes/two.mp4", current_hash(project, shot, "final", "infinitetalk"), "infinitetalk",
                           "final"))
    result = export_project(project, "otio", tmp_path / "cut.otio", ExportOptions(media="takes"))
    (audio,) = otio.adapters.read_from_file(str(result.path)).audio_tracks()
    (clip,) = [c for c in audio if isinstance(c, otio.schema.Clip)]
    assert clip.media_reference.target_url.endswith("two.mp4")  # both lines, mixed in the take
    assert not [w for w in result.warnings if "second character" in w]
    shot.takes.clear()  # no take yet: the own line is linked and the missing reply is said
    result = export_project(project, "otio", tmp_path / "bare.otio", ExportOptions(media="takes"))
    assert [w for w in result.warnings if "second character" in w]
