"""Rendering on a local Ray cluster: real worker processes, real takes decoded back, workers killed mid-job."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from engine.media import probe_video
from soul_studio.farm.dispatcher import FarmDispatcher
from tests.farm.conftest import take_files

pytestmark = pytest.mark.slow


class Recorder:
    """Collects dispatcher events (called from the dispatcher's thread)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str | None, dict]] = []

    def __call__(self, kind, job_id, fields) -> None:
        self.events.append((kind, job_id, fields))

    def kinds(self, job_id: str) -> list[str]:
        return [k for k, j, _ in self.events if j == job_id]


def wait_for(predicate, timeout: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def dispatcher(ray_cluster):
    made: list[FarmDispatcher] = []

    def make(**kwargs) -> tuple[FarmDispatcher, Recorder]:
        rec = Recorder()
        d = FarmDispatcher(on_event=rec, poll_s=0.1, **kwargs)
        d.start()
        made.append(d)
        return d, rec

    yield make
    for d in made:
        d.stop()


def assert_one_good_take(job, frames: int | None = None) -> dict:
    info = probe_video(job.output_path)
    assert info.frame_count == (frames or job.frame_count)
    assert (info.width, info.height) == (job.width, job.height)
    sidecar = json.loads(open(job.output_path.replace(".mp4", ".json")).read())
    assert sidecar["job"]["job_id"] == job.job_id and sidecar["content_hash"] == job.content_hash()
    return sidecar


def test_jobs_spread_over_warm_workers_and_stream_progress(dispatcher, farm_job, tmp_path):
    d, rec = dispatcher(workers=2)
    jobs = [farm_job(f"shot{i}", duration=4.0) for i in range(4)]
    for job in jobs:
        d.submit(job)
    assert d.wait(120)
    for job in jobs:
        assert d.jobs[job.job_id].status == "done", d.jobs[job.job_id].result
        sidecar = assert_one_good_take(job)
        assert sidecar["backend"] == "sketch"
        kinds = rec.kinds(job.job_id)
        assert kinds[0] == "queued" and kinds[-1] == "done" and "started" in kinds
    progress = [f for k, _, f in rec.events if k == "progress"]
    assert progress and all(0.0 <= f["fraction"] <= 1.0 for f in progress)
    assert any(0.0 < f["fraction"] < 1.0 for f in progress), "no progress was streamed mid-job"
    files = take_files(tmp_path / "takes")
    assert len(files["takes"]) == 4 and len(files["sidecars"]) == 4 and files["other"] == []
    # Both workers rendered, each loading the sketch engine once and keeping it warm.
    infos = [ray_info for ray_info in d._ray.get([s.actor.info.remote() for s in d.slots])]
    assert all(i["jobs_run"] >= 1 for i in infos), infos
    assert sum(i["jobs_run"] for i in infos) == 4
    assert all(i["loads"] == 1 and i["warm"] == ["sketch"] for i in infos), infos
    assert len({i["pid"] for i in infos}) == 2


def test_worker_killed_mid_job_renders_it_once_elsewhere(dispatcher, ray_cluster, farm_job, tmp_path):
    d, rec = dispatcher(workers=2, max_restarts=0, max_task_retries=0)
    long_job = farm_job("long", duration=40.0)
    other = farm_job("other", duration=3.0)
    d.submit(long_job)
    d.submit(other)
    wait_for(lambda: d.jobs[long_job.job_id].fraction > 0.0, what="the long job to make progress")
    victim = d.running_on(long_job.job_id)
    assert victim is not None
    assert d.jobs[long_job.job_id].fraction < 0.9
    ray_cluster.kill(victim, no_restart=True)
    assert d.wait(120)
    state = d.jobs[long_job.job_id]
    assert state.status == "done", state.result
    assert state.attempts == 2 and d.replaced == 1
    assert "log" in rec.kinds(long_job.job_id) and rec.kinds(long_job.job_id).count("done") == 1
    assert_one_good_take(long_job)
    assert d.jobs[other.job_id].status == "done"
    files = take_files(tmp_path / "takes")
    assert files["takes"] == ["long.mp4", "other.mp4"]
    assert files["sidecars"] == ["long.json", "other.json"]
    assert files["other"] == [], "partial files of the killed attempt were left behind"


def test_worker_process_crash_restarts_actor_and_retries(dispatcher, farm_job, tmp_path):
    d, rec = dispatcher(workers=1, max_restarts=1, max_task_retries=1)
    job = farm_job("crash", duration=2.0, backend="test", options={"frame_delay": 0.05})
    d.submit(job)
    wait_for(lambda: d.jobs[job.job_id].fraction > 0.0, what="the job to start rendering")
    actor = d.running_on(job.job_id)
    pid = d._ray.get(actor.info.remote())["pid"]
    os.kill(pid, signal.SIGKILL)
    assert d.wait(120)
    state = d.jobs[job.job_id]
    assert state.status == "done", state.result
    assert state.result["pid"] != pid  # finished by the restarted worker process
    assert_one_good_take(job)
    files = take_files(tmp_path / "takes")
    assert files["takes"] == ["crash.mp4"] and files["other"] == []


def test_failures_and_cancel_are_reported_not_retried(dispatcher, farm_job, tmp_path):
    d, rec = dispatcher(workers=2)
    bad = farm_job("bad", backend="test", options={"fail": "the model exploded", "hint": "lower the steps",
                                                   "step_delay": 0.01})
    slow = farm_job("slow", duration=4.0, backend="test", options={"frame_delay": 0.1})
    queued = farm_job("queued", backend="test")
    d.submit(bad)
    d.submit(slow)
    d.submit(queued)
    assert d.cancel(queued.job_id)  # still waiting for a worker: cancelled at once
    wait_for(lambda: d.jobs[slow.job_id].fraction > 0.0, what="the slow job to start")
    assert d.cancel(slow.job_id, "editor changed the shot")
    assert d.wait(60)
    assert d.jobs[bad.job_id].status == "failed"
    assert d.jobs[bad.job_id].result["message"] == "the model exploded"
    assert d.jobs[bad.job_id].result["hint"] == "lower the steps"
    assert d.jobs[bad.job_id].attempts == 1
    assert d.jobs[slow.job_id].status == "cancelled"
    assert d.jobs[slow.job_id].result["reason"] == "editor changed the shot"
    assert d.jobs[queued.job_id].status == "cancelled" and d.jobs[queued.job_id].attempts == 0
    assert take_files(tmp_path / "takes") == {"takes": [], "sidecars": [], "other": []}


@pytest.fixture(scope="module")
def tiny_soul_folder(tmp_path_factory):
    pytest.importorskip("diffusers")
    from engine.backends.soul.testing import build_tiny_soul_folder

    return build_tiny_soul_folder(tmp_path_factory.mktemp("farm-soul") / "tiny", seed=2, trained_adapter=True)


def test_soul_job_survives_its_worker_dying(dispatcher, ray_cluster, farm_job, tiny_soul_folder, tmp_path):
    """The tiny soul model on two workers: the one rendering is killed, the other renders the take once."""
    d, rec = dispatcher(workers=2, max_restarts=0, max_task_retries=0)
    options = {"model_folder": str(tiny_soul_folder), "allow_cpu": True, "render_size": [64, 64], "steps": 12,
               "guidance_text": 1.0, "guidance_audio": 2.0}
    job = farm_job("soul", duration=0.96, backend="soul", quality="final", options=options)
    d.submit(job)
    wait_for(lambda: d.jobs[job.job_id].fraction > 0.0, timeout=120, what="the soul job to start sampling")
    first = d.running_on(job.job_id)
    ray_cluster.kill(first, no_restart=True)
    assert d.wait(180)
    state = d.jobs[job.job_id]
    assert state.status == "done", state.result
    assert state.attempts == 2
    sidecar = assert_one_good_take(job)
    assert sidecar["backend"] == "soul" and sidecar["model"]["hash"]
    files = take_files(tmp_path / "takes")
    assert files["takes"] == ["soul.mp4"] and files["other"] == []
