"""Project files under hostile conditions: shared folders, bad values, special files, locks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from soul_studio.project import (
    Character,
    Project,
    ProjectError,
    ProjectFileError,
    Shot,
    TimelineEntry,
    archive_autosave,
    autosave_path,
    last_good_backup,
    list_backups,
    load_project,
    save_project,
    write_autosave,
    write_recovery,
)
from soul_studio.project.lock import ProjectLock, ProjectLocked, lock_path


def make(tmp_path: Path, name: str = "demo") -> Project:
    (tmp_path / "media").mkdir(exist_ok=True)
    (tmp_path / "media" / "line.wav").write_bytes(b"RIFF")
    project = Project(name=name)
    ana = Character("Ana", portrait="media/ana.png")
    project.characters.append(ana)
    shot = Shot(ana.id, text="Hello", audio="media/line.wav", audio_length=1.0, name="one")
    project.shots[shot.id] = shot
    project.timeline.entries.append(TimelineEntry(shot.id))
    save_project(project, tmp_path / f"{name}.soulproj")
    return project


def test_two_projects_in_one_folder_keep_their_own_backups(tmp_path):
    a = make(tmp_path, "demo")
    b = make(tmp_path, "demo.v2")
    for _ in range(3):
        save_project(a, keep_backups=2)
        save_project(b, keep_backups=2)
    ours, theirs = list_backups(a.path), list_backups(b.path)
    assert len(ours) == 2 and len(theirs) == 2 and not set(ours) & set(theirs)
    assert all(p.name.startswith("demo.2") for p in ours)
    for _ in range(4):  # saving one never removes the other's backups
        save_project(a, keep_backups=2)
    assert list_backups(b.path) == theirs
    a.path.write_text("{broken")
    with pytest.raises(ProjectFileError) as info:
        load_project(a.path)
    assert str(list_backups(a.path)[-1]) in str(info.value) and "demo.v2" not in str(info.value)


def test_a_backup_that_does_not_load_is_never_the_last_good_save(tmp_path):
    project = make(tmp_path)
    save_project(project)
    good = list_backups(project.path)[-1]
    empty = good.with_name("demo.29991231T235959999999.soulproj")
    empty.write_bytes(b"")  # what a killed, non-atomic copy leaves
    assert list_backups(project.path)[-1] == empty
    assert last_good_backup(project.path) == good
    project.path.write_text("")
    with pytest.raises(ProjectFileError, match=str(good)):
        load_project(project.path)


def _edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(("change", "field"), [
    (lambda d: d.update(schema_version=float("inf")), "schema_version"),
    (lambda d: d["timeline"]["entries"][0].update(gap_before=-5), "timeline.entries[0].gap_before"),
    (lambda d: d["shots"][0].update(hold_seconds=float("nan")), "shots[0].hold_seconds"),
    (lambda d: d["shots"][0].update(audio_in=[1, 2]), "shots[0].audio_in"),
    (lambda d: d.update(width=100000, height=100000), "width"),
    (lambda d: d["shots"].append(dict(d["shots"][0])), "shots[1].id"),
    (lambda d: d["characters"].append(dict(d["characters"][0])), "characters[1].id"),
    (lambda d: d["shots"][0].update(audio="media"), "shots[0].audio"),
    (lambda d: d["shots"][0].update(audio_length=3 * 3600.0), "shots[0].audio_out"),
    (lambda d: d.update(fps="fast"), "fps"),
])
def test_bad_values_name_the_field_and_leave_the_file_alone(tmp_path, change, field):
    project = make(tmp_path)
    _edit(project.path, change)
    before = project.path.read_bytes()
    with pytest.raises(ProjectFileError) as info:
        load_project(project.path)
    assert field in str(info.value)
    assert project.path.read_bytes() == before


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def test_fifo_and_device_paths_are_refused_without_blocking(tmp_path):
    project = make(tmp_path)
    code = (
        "import sys\nfrom soul_studio.project import load_project, ProjectFileError\n"
        "for p in sys.argv[1:]:\n"
        "    try:\n        load_project(p)\n    except ProjectFileError as e:\n        print('refused', e)\n"
    )
    fifo = _fifo(tmp_path / "pipe.soulproj")
    portrait_fifo = _fifo(tmp_path / "media" / "ana.png")
    dev = project.path.with_name("dev.soulproj")
    dev.symlink_to("/dev/zero")
    audio_dev = tmp_path / "zero.soulproj"
    data = json.loads(project.path.read_text())
    data["shots"][0]["audio"] = "/dev/zero"
    data["characters"][0]["portrait"] = None
    audio_dev.write_text(json.dumps(data))
    out = subprocess.run([sys.executable, "-c", code, str(fifo), str(dev), str(project.path), str(audio_dev)],
                         capture_output=True, text=True, timeout=30, env={**os.environ, "PYTHONPATH": os.getcwd()})
    lines = out.stdout.splitlines()
    assert len(lines) == 4, out.stderr
    assert "pipe (FIFO)" in lines[0] and "device" in lines[1]
    assert "characters[0].portrait" in lines[2] and str(portrait_fifo.name) in lines[2]
    assert "shots[0].audio" in lines[3] and "device" in lines[3]


def test_archive_autosave_moves_it_into_the_backups(tmp_path):
    project = make(tmp_path)
    project.name = "unsaved work"
    write_autosave(project)
    kept = archive_autosave(project.path)
    assert kept is not None and kept.parent.name == ".backups" and not autosave_path(project.path).exists()
    assert json.loads(kept.read_text())["name"] == "unsaved work"
    assert kept not in list_backups(project.path)  # never rotated away as an ordinary backup


def test_failed_save_keeps_the_project_and_writes_a_recovery_file(tmp_path):
    project = make(tmp_path)
    before = project.path.read_bytes()
    (tmp_path / ".backups").write_text("not a folder")
    project.name = "changed"
    with pytest.raises(ProjectFileError, match=r"\.backups is a file"):
        save_project(project)
    assert project.path.read_bytes() == before
    where = write_recovery(project)
    assert where.parent == tmp_path and load_project(where).name == "changed"


def test_lone_surrogate_names_the_field_and_recovery_keeps_it(tmp_path):
    project = make(tmp_path)
    before = project.path.read_bytes()
    next(iter(project.shots.values())).text = "bad \udc80 byte"
    with pytest.raises(ProjectFileError, match=r"shots\[0\]\.text"):
        save_project(project)
    assert project.path.read_bytes() == before
    where = write_recovery(project)
    assert "\\udc80" in where.read_text()


def test_second_writer_is_refused_with_who_holds_it(tmp_path):
    project = make(tmp_path)
    with ProjectLock(project.path, "soul-studio render"):
        holder = json.loads(lock_path(project.path).read_text())
        assert holder["pid"] == os.getpid() and holder["host"]
        with pytest.raises(ProjectLocked, match="soul-studio render"):
            ProjectLock(project.path, "soul-studio export").acquire()
        started = time.monotonic()
        with pytest.raises(ProjectLocked):
            ProjectLock(project.path, wait_s=0.5, poll_s=0.1).acquire()
        assert time.monotonic() - started >= 0.5
    assert not lock_path(project.path).exists()


def test_lock_of_a_killed_process_is_taken_over(tmp_path):
    project = make(tmp_path)
    code = ("import sys, time\nfrom soul_studio.project.lock import ProjectLock\n"
            "ProjectLock(sys.argv[1], 'holder').acquire()\nprint('held', flush=True)\ntime.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(project.path)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(ProjectLocked, match=f"pid {proc.pid}"):
            ProjectLock(project.path).acquire()
    finally:
        proc.kill()
        proc.wait()
    assert json.loads(lock_path(project.path).read_text())["pid"] == proc.pid  # left behind
    with ProjectLock(project.path) as lock:
        assert lock.held


def test_failed_save_as_leaves_the_open_project_as_it_was(tmp_path, read_only):
    (tmp_path / "scene").mkdir()
    project = make(tmp_path / "scene")
    original = project.path
    shot = next(iter(project.shots.values()))
    links = [project.resolve(project.characters[0].portrait), project.resolve(shot.audio)]
    locked = tmp_path / "locked"
    locked.mkdir()
    read_only(locked)  # really unwritable (chattr +i as root)
    with pytest.raises(ProjectFileError, match="read-only"):
        save_project(project, locked / "moved.soulproj")
    assert project.path == original and shot.audio == "media/line.wav"
    assert [project.resolve(project.characters[0].portrait), project.resolve(shot.audio)] == links
    shot.text = "bad \udc80"  # a value that cannot be written, to another folder: nothing rebased either
    (tmp_path / "other").mkdir()
    with pytest.raises(ProjectFileError, match="surrogate"):
        save_project(project, tmp_path / "other" / "x.soulproj")
    assert project.path == original and shot.audio == "media/line.wav" and not list((tmp_path / "other").iterdir())


def test_recovery_from_a_read_only_folder_goes_to_the_fallback_with_working_links(tmp_path, read_only):
    (tmp_path / "scene").mkdir()
    project = make(tmp_path / "scene")
    project.name = "unsaved"
    read_only(project.path.parent)
    where = write_recovery(project, tmp_path / "data" / "recovered")
    assert where.parent == tmp_path / "data" / "recovered"
    rescued = load_project(where)
    assert rescued.name == "unsaved"
    assert rescued.resolve(next(iter(rescued.shots.values())).audio) == (tmp_path / "scene" / "media" / "line.wav")
    assert project.path.parent == tmp_path / "scene" and project.characters[0].portrait == "media/ana.png"


def test_archiving_an_autosave_in_a_read_only_folder_leaves_it_in_place(tmp_path, read_only):
    project = make(tmp_path)
    write_autosave(project)
    read_only(tmp_path)
    with pytest.raises(ProjectFileError, match="left where it is"):
        archive_autosave(project.path)
    assert autosave_path(project.path).exists()


def test_save_as_elsewhere_keeps_every_kind_of_media_link(tmp_path):
    """Portrait, lines, two-shot picture, takes, bin items and music all still name their files."""
    from soul_studio.project import MediaItem, Take
    from soul_studio.project.model import MusicClip

    (tmp_path / "scene").mkdir()
    project = make(tmp_path / "scene")
    shot = next(iter(project.shots.values()))
    shot.partner_audio, shot.two_shot_image = "media/other.wav", "media/both.png"
    shot.takes.append(Take(file="takes/t1.mp4", job_hash="h", backend="sketch"))
    project.media.append(MediaItem(path="media/ana.png", kind="image"))
    project.timeline.music.append(MusicClip(path="media/score.wav"))
    save_project(project)

    def links(p: Project) -> list[Path]:
        s = next(iter(p.shots.values()))
        rels = [p.characters[0].portrait, s.audio, s.partner_audio, s.two_shot_image, s.takes[0].file,
                p.media[0].path, p.timeline.music[0].path]
        return [p.resolve(r) for r in rels]

    before = links(project)
    (tmp_path / "b" / "deep").mkdir(parents=True)
    copy = save_project(project, tmp_path / "b" / "deep" / "copy.soulproj")
    assert links(load_project(copy)) == before == [tmp_path / "scene" / r for r in (
        "media/ana.png", "media/line.wav", "media/other.wav", "media/both.png", "takes/t1.mp4", "media/ana.png",
        "media/score.wav")]


def _in_the_way(path: Path, kind: str, victim: Path) -> None:
    if kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to(victim)


@pytest.mark.parametrize("kind", ["folder", "fifo", "symlink"])
def test_something_in_the_way_of_the_lock_is_a_clear_refusal_and_is_left_alone(tmp_path, kind):
    project = make(tmp_path)
    victim = tmp_path / "elsewhere.txt"
    victim.write_text("the user's notes")
    _in_the_way(lock_path(project.path), kind, victim)
    with pytest.raises(ProjectError) as info:
        ProjectLock(project.path).acquire()
    assert "in the way of the project's lock" in str(info.value) and "remove it" in str(info.value)
    assert victim.read_text() == "the user's notes"
    assert os.path.lexists(lock_path(project.path))


@pytest.mark.parametrize("kind", ["folder", "fifo", "symlink"])
def test_render_and_export_say_what_is_in_the_way_without_a_traceback(tmp_path, kind):
    project = make(tmp_path)
    victim = tmp_path / "elsewhere.txt"
    victim.write_text("the user's notes")
    _in_the_way(lock_path(project.path), kind, victim)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    for args in (["render", str(project.path), "--quiet"],
                 ["export", str(project.path), "-f", "edl", "-o", str(tmp_path / "out.edl")]):
        done = subprocess.run([sys.executable, "-m", "soul_studio.cli", *args], capture_output=True, text=True,
                              timeout=120, env=env)
        assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
        assert "in the way of the project's lock" in done.stderr, done.stderr
    assert victim.read_text() == "the user's notes"
