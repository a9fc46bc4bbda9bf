"""FarmWorker without Ray: renders through write_take, keeps its backend warm, reports progress."""

from __future__ import annotations

import threading

from engine.farm_worker import FarmWorker
from engine.media import probe_video


def test_worker_renders_jobs_with_one_warm_backend(farm_job):
    worker = FarmWorker()
    first = worker.run(farm_job("a", duration=1.0).to_dict())
    second = worker.run(farm_job("b", duration=1.5).to_dict())
    assert first["status"] == "done" and second["status"] == "done"
    assert probe_video(second["take_path"]).frame_count == 36
    info = worker.info()
    assert info["loads"] == 1 and info["jobs_run"] == 2 and info["warm"] == ["sketch"]
    # The same job again reuses its finished take instead of writing a second one.
    again = worker.run(farm_job("a", duration=1.0).to_dict() | {"job_id": first["job_id"]})
    assert again["status"] == "done" and again["reused"] is True and again["take_path"] == first["take_path"]
    assert worker.unload() == ["sketch"] and worker.info()["warm"] == []


def test_progress_and_cancel_from_another_thread(farm_job):
    worker = FarmWorker()
    job = farm_job("slow", duration=1.0, backend="test", options={"steps": 40, "step_delay": 0.05})
    out: dict = {}
    thread = threading.Thread(target=lambda: out.update(worker.run(job.to_dict())))
    thread.start()
    seen = None
    while thread.is_alive() and not (seen and seen["fraction"] > 0):
        seen = worker.progress(job.job_id)
        thread.join(0.02)
    assert seen is not None and 0 < seen["fraction"] < 1
    assert worker.cancel(job.job_id, "stop")
    thread.join(30)
    assert out["status"] == "cancelled" and out["reason"] == "stop"
    assert worker.progress(job.job_id) is None and not worker.cancel(job.job_id)


def test_bad_jobs_fail_with_a_message(farm_job):
    worker = FarmWorker()
    data = farm_job("x").to_dict() | {"backend": "nonesuch"}
    result = worker.run(data)
    assert result["status"] == "failed" and "nonesuch" in result["message"] and result["hint"]
    result = worker.run(farm_job("y").to_dict() | {"width": -4})
    assert result["status"] == "failed" and result["error_type"] == "JobSpecError"
