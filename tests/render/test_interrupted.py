"""``soul-studio render`` killed, interrupted, doubled or unable to save: nothing finished is lost."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from soul_studio.cli import main
from soul_studio.project import autosave_path, load_project, save_project, write_autosave
from tests.render.tiny import cli, leftovers, one_take_per_shot, recorded_takes, tiny_demo, wait_until


@pytest.fixture
def scene(tmp_path: Path) -> Path:
    return tiny_demo(tmp_path / "scene", seconds=3.0)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killed_render_keeps_finished_takes_and_the_next_run_reuses_them(scene, tmp_path, sig):
    tmpdir = tmp_path / "tmp"
    proc = cli("render", str(scene), "--quality", "draft", "--quiet", tmpdir=tmpdir)
    try:
        assert wait_until(lambda: len(recorded_takes(scene)) >= 1), proc.communicate()
        os.kill(proc.pid, sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    first = recorded_takes(scene)
    assert 1 <= len(first) < 4, "the run finished before it could be interrupted"
    if sig == signal.SIGTERM:
        assert proc.returncode == 143
        assert "interrupted (SIGTERM)" in err and "run the same command again" in err and "Traceback" not in err
        assert leftovers(scene, tmpdir) == []  # cleaned on exit, not only on the next start
    rerun = cli("render", str(scene), "--quality", "draft", "--quiet", tmpdir=tmpdir)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    final = recorded_takes(scene)
    assert set(first) <= set(final) and len(final) == 4  # the finished ones were reused, not rendered again
    assert one_take_per_shot(scene)
    assert leftovers(scene, tmpdir) == []
    load_project(scene)


def test_two_renders_of_one_project_the_second_is_refused(scene, tmp_path):
    tmpdir = tmp_path / "tmp"
    first = cli("render", str(scene), "--quality", "draft", "--quiet", tmpdir=tmpdir)
    try:
        assert wait_until(lambda: Path(scene).with_name(f".{scene.name}.lock").exists())
        second = cli("render", str(scene), "--quality", "draft", "--quiet", tmpdir=tmpdir)
        _, err2 = second.communicate(timeout=60)
        _, err1 = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, err1
    assert second.returncode == 2 and "open for writing in soul-studio render" in err2
    assert one_take_per_shot(scene) and leftovers(scene, tmpdir) == []
    # A second render that waits joins in after the first: everything is reused.
    waiting = cli("render", str(scene), "--quality", "draft", "--quiet", "--wait", "60", tmpdir=tmpdir)
    assert waiting.communicate(timeout=120)[1] is not None and waiting.returncode == 0


def test_newer_autosave_is_kept_and_explained(scene, capsys):
    project = load_project(scene)
    project.name = "unsaved edits"
    write_autosave(project)
    os.utime(autosave_path(scene), None)
    assert main(["render", str(scene), "--shots", "1", "--quality", "draft", "--quiet"]) == 0
    err = capsys.readouterr().err
    kept = [p for p in (scene.parent / ".backups").iterdir() if ".autosave-" in p.name]
    assert len(kept) == 1 and json.loads(kept[0].read_text())["name"] == "unsaved edits"
    assert str(kept[0]) in err and "copy it over" in err


@pytest.mark.parametrize("fault", ["backups-file", "surrogate"])
def test_failed_final_save_keeps_the_project_and_writes_recovery(scene, capsys, fault):
    if fault == "surrogate":
        data = json.loads(scene.read_text())
        data["shots"][0]["notes"] = "\udc80"
        scene.write_text(json.dumps(data))
    before = scene.read_bytes()
    if fault == "backups-file":
        (scene.parent / ".backups").write_text("in the way")
    code = main(["render", str(scene), "--shots", "1", "2", "--quality", "draft", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert scene.read_bytes() == before
    recovered = [p for p in scene.parent.iterdir() if ".recovered-" in p.name]
    assert len(recovered) == 1 and str(recovered[0]) in err
    listed = [t for s in json.loads(recovered[0].read_text())["shots"] for t in s.get("takes", [])]
    assert len(listed) == 2 and all((scene.parent / t["file"]).exists() for t in listed)


def test_project_folder_turning_read_only_mid_render_keeps_every_take(scene, tmp_path, capsys, monkeypatch,
                                                                       read_only):
    """The folder really refuses writes (chmod, or chattr +i as root) once the first take is saved."""
    from soul_studio.render.headless import RunSaver

    data_dir = tmp_path / "user-data"
    monkeypatch.setenv("SOUL_STUDIO_DATA_DIR", str(data_dir))
    real_save = RunSaver.save
    states: list[bytes] = []

    def save_then_lock_folder(self):
        ok = real_save(self)
        if ok and not states:
            states.append(scene.read_bytes())
            read_only(scene.parent)
        return ok

    monkeypatch.setattr(RunSaver, "save", save_then_lock_folder)
    code = main(["render", str(scene), "--shots", "1", "2", "--quality", "draft", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and "read-only" in err
    assert scene.read_bytes() == states[0]  # the last save that worked is what the project file holds
    assert len(recorded_takes(scene)) == 1
    assert not [p for p in scene.parent.iterdir() if ".recovered-" in p.name or p.name.endswith(".tmp")]
    recovered = list((data_dir / "recovered").iterdir())
    assert len(recovered) == 1 and str(recovered[0]) in err and "data folder" in err
    rescued = load_project(recovered[0])  # paths rebased: the copy finds the project's media from there
    takes = [t for s in rescued.shots.values() for t in s.takes]
    assert len(takes) == 2 and all(rescued.resolve(t.file).is_file() for t in takes)
    assert all(rescued.resolve(c.portrait).is_file() for c in rescued.characters if c.portrait)
    read_only.restore(scene.parent)  # writable again: the next run reuses both takes and saves them
    assert main(["render", str(scene), "--shots", "1", "2", "--quality", "draft", "--quiet"]) == 0
    again = load_project(scene)
    assert sorted(again.resolve(t.file) for s in again.shots.values() for t in s.takes) == \
        sorted(rescued.resolve(t.file) for t in takes)


def test_render_of_a_project_in_a_read_only_folder_is_refused_up_front(scene, capsys, read_only):
    before = sorted((p.name, p.stat().st_mtime_ns) for p in scene.parent.rglob("*"))
    read_only(scene.parent)
    assert main(["render", str(scene), "--shots", "1", "--quality", "draft", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "is not writable" in err and "copy the project to a folder you can write to" in err
    assert "Traceback" not in err
    assert sorted((p.name, p.stat().st_mtime_ns) for p in scene.parent.rglob("*")) == before


def test_engine_dying_during_start_up_is_retried_then_named(scene, capsys, monkeypatch):
    from soul_studio import engine_client

    starts = []
    real = engine_client.EngineClient._engine_command

    def flaky(self):
        starts.append(1)
        if real is None or len(starts) < 3:
            return ["python3", "-c", "import sys; sys.stderr.write('cuda init failed\\n'); sys.exit(3)"]
        return real(self)

    monkeypatch.setattr(engine_client.EngineClient, "_engine_command", flaky)
    assert main(["render", str(scene), "--shots", "1", "--quality", "draft", "--quiet"]) == 0
    assert len(starts) == 3
    starts.clear()
    real = None  # every start fails from now on
    assert main(["render", str(scene), "--shots", "1", "--quality", "draft", "--quiet", "--force"]) == 1
    err = capsys.readouterr().err
    assert "did not start (3 tries)" in err and "cuda init failed" in err and "Traceback" not in err
    assert len(starts) == 3


def test_save_as_you_go_records_each_take_before_the_next(scene, monkeypatch):
    from soul_studio.project import storage

    seen: list[int] = []
    real = storage.save_project

    def spy(project, *a, **kw):
        seen.append(sum(len(s.takes) for s in project.shots.values()))
        return real(project, *a, **kw)

    monkeypatch.setattr("soul_studio.render.headless.save_project", spy)
    assert main(["render", str(scene), "--quality", "draft", "--quiet"]) == 0
    assert seen[:4] == [1, 2, 3, 4]
    save_project(load_project(scene))


def test_takes_finished_but_never_saved_are_adopted_not_rendered_again(scene, capsys):
    assert main(["render", str(scene), "--shots", "1", "2", "--quality", "draft", "--quiet"]) == 0
    movies = sorted(p.name for p in (scene.parent / "takes").glob("*.mp4"))
    data = json.loads(scene.read_text())
    for shot in data["shots"]:  # the CLI died after the engine wrote these takes, before it saved
        shot["takes"] = []
    scene.write_text(json.dumps(data))
    # A draft of the same inputs is not a final: the final render makes its own takes.
    assert main(["render", str(scene), "--shots", "1", "--quality", "final", "--quiet"]) == 0
    assert len(list((scene.parent / "takes").glob("*.mp4"))) == len(movies) + 1
    assert main(["render", str(scene), "--shots", "1", "2", "--quality", "draft", "--quiet"]) == 0
    assert sorted(p.name for p in (scene.parent / "takes").glob("*.mp4")) != movies  # the final is there too
    listed = [t["file"] for s in json.loads(scene.read_text())["shots"] for t in s["takes"] if t["quality"] == "draft"]
    assert sorted(f.split("/")[-1] for f in listed) == movies  # the same files, recorded once each
