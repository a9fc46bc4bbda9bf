"""The real engine process, driven through the studio's client."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from PIL import Image

from engine import protocol
from engine.backends.testing import decode_frame_index
from engine.jobs import JobSpecError
from engine.media import probe_video, read_frame_at
from engine.protocol import RemoteError
from soul_studio.engine_client import ENGINE_RESTARTED, ENGINE_STOPPED, EngineClient

from .conftest import WAIT, Recorder, run


async def _client(tmp_path, **kwargs):
    client = EngineClient(journal_dir=tmp_path / "journal", backends=["test"], **kwargs)
    await client.start()
    recorder = Recorder()
    client.add_listener(recorder)
    return client, recorder


def test_hello_reports_versions_backends_and_memory(tmp_path):
    async def main():
        client, _ = await _client(tmp_path)
        try:
            info = client.info
            assert info.protocol == protocol.PROTOCOL_VERSION and info.engine_version
            assert dict(info)["protocol"] == info.protocol and info["pid"] == info.pid
            test = info.backend("test")
            assert test["available"] and test["devices"] == ["cpu"]
            assert [b["name"] for b in info.backends] == ["test"]
            assert info.memory["ram_free_mb"] > 0 and info.pid == client.pid != os.getpid()
            assert (await client.status())["queued"] == []
        finally:
            await client.shutdown()
        assert client.pid is not None

    run(main())


def test_take_round_trip_decodes_with_audio_and_previews(tmp_path, make_job, takes):
    async def main():
        client, rec = await _client(tmp_path)
        try:
            job = make_job("shot1", options={"steps": 3, "step_delay": 0.05, "chunks": 2})
            await client.submit(job)
            done = await client.wait_for(job.job_id, WAIT)
        finally:
            await client.shutdown()
        assert done.kind == "done", done
        assert rec.kinds(job.job_id)[:2] == ["queued", "started"] and rec.kinds(job.job_id)[-1] == "done"
        info = probe_video(done.get("take_path"))
        assert info.frame_count == job.frame_count and info.audio_codec == "aac"
        assert info.audio_duration == pytest.approx(job.duration, abs=0.05)
        assert decode_frame_index(read_frame_at(done.get("take_path"), 17)) == 17
        sidecar = json.loads(open(done.get("sidecar_path")).read())
        assert sidecar["job"]["job_id"] == job.job_id and sidecar["frame_count"] == job.frame_count
        progress = rec.of("progress", job.job_id)
        assert progress and progress[-1].get("fraction") == 1.0
        assert all(p.get("total") == 3 for p in progress)
        preview = rec.of("preview", job.job_id)[0]
        image = Image.open(io.BytesIO(base64.b64decode(preview.get("jpeg"))))
        assert image.format == "JPEG" and image.size == (64, 48)
        assert sorted(p.name for p in takes.iterdir()) == ["shot1.json", "shot1.mp4"]

    run(main())


def test_draft_submitted_after_three_finals_runs_next(tmp_path, make_job):
    async def main():
        client, rec = await _client(tmp_path)
        try:
            finals = [make_job(f"final{i}", "final", options={"steps": 4, "step_delay": 0.1}) for i in range(3)]
            for job in finals:
                await client.submit(job)
            await rec.wait_kind("started", finals[0].job_id)
            draft = make_job("draft", "draft", options={"steps": 1})
            reply = await client.submit(draft)
            assert reply["position"] == 0
            for job in [*finals, draft]:
                assert (await client.wait_for(job.job_id, WAIT)).kind == "done"
        finally:
            await client.shutdown()
        order = [e.job_id for e in rec.of("started")]
        assert order == [finals[0].job_id, draft.job_id, finals[1].job_id, finals[2].job_id]

    run(main())


def test_priority_reorders_the_queue(tmp_path, make_job):
    async def main():
        client, rec = await _client(tmp_path)
        try:
            blocker = make_job("blocker", options={"steps": 6, "step_delay": 0.1})
            a, b = make_job("a"), make_job("b")
            for job in (blocker, a, b):
                await client.submit(job)
            await rec.wait_kind("started", blocker.job_id)
            assert await client.set_priority(b.job_id, 10)
            assert [q["job_id"] for q in (await client.status())["queued"]] == [b.job_id, a.job_id]
            await client.wait_for(a.job_id, WAIT)
        finally:
            await client.shutdown()
        assert [e.job_id for e in rec.of("started")] == [blocker.job_id, b.job_id, a.job_id]

    run(main())


def test_cancel_stops_a_running_job_within_a_step_and_leaves_no_file(tmp_path, make_job, takes):
    async def main():
        client, rec = await _client(tmp_path)
        try:
            job = make_job("long", options={"steps": 2000, "step_delay": 0.02, "progress_interval_s": 0})
            queued_job = make_job("queued")
            blocker_wait = make_job("waits", options={"steps": 1})
            await client.submit(job)
            await client.submit(queued_job)
            await rec.wait(lambda e: e.kind == "progress" and e.job_id == job.job_id and e.get("step", 0) >= 3)
            assert await client.cancel(queued_job.job_id)
            assert await client.cancel(job.job_id)
            sent_at = len(rec.of("progress", job.job_id))
            event = await client.wait_for(job.job_id, WAIT)
            assert event.kind == "cancelled" and event.get("reason") == "cancelled"
            assert (await client.wait_for(queued_job.job_id, WAIT)).kind == "cancelled"
            # The engine is free again: the next job runs.
            assert (await client.run(blocker_wait, WAIT)).kind == "done"
        finally:
            await client.shutdown()
        steps = [e.get("step") for e in rec.of("progress", job.job_id)]
        # Stopped at the first step check after the request, far from the 2000 it asked for.
        assert len(steps) - sent_at <= 25 and max(steps) < 200
        assert "started" not in rec.kinds(queued_job.job_id)
        assert not any(p.name.startswith(("long", ".long")) for p in takes.iterdir())

    run(main())


def test_failing_job_reports_why_and_the_queue_goes_on(tmp_path, make_job, takes):
    async def main():
        client, rec = await _client(tmp_path)
        try:
            bad = make_job("bad", options={"fail": "the model ran out of patience", "hint": "give it coffee"})
            missing = make_job("missing", portrait_path=str(tmp_path / "nobody.png"))
            good = make_job("good")
            for job in (bad, missing):
                await client.submit(job)
            with pytest.raises(RemoteError) as refused:
                await client.submit(make_job("elsewhere", backend="sketch"))
            assert refused.value.error_type == "BackendUnavailable" and "test" in refused.value.hint
            with pytest.raises(JobSpecError, match="absolute"):
                await client.submit(make_job("relative", output_path="takes/relative.mp4"))
            assert set(client.outstanding) <= {bad.job_id, missing.job_id}
            await client.submit(good)
            failed = await client.wait_for(bad.job_id, WAIT)
            media_failed = await client.wait_for(missing.job_id, WAIT)
            done = await client.wait_for(good.job_id, WAIT)
        finally:
            await client.shutdown()
        assert failed.kind == "failed" and failed.get("error_type") == "BackendError"
        assert failed.get("message") == "the model ran out of patience" and failed.get("hint") == "give it coffee"
        assert media_failed.kind == "failed" and media_failed.get("error_type") == "MediaError"
        assert "nobody.png" in media_failed.get("message") and media_failed.get("hint")
        assert done.kind == "done"
        assert sorted(p.name for p in takes.iterdir()) == ["good.json", "good.mp4"]

    run(main())


def test_newer_draft_replaces_a_queued_draft_of_the_same_shot(tmp_path, make_job, takes):
    async def main():
        client, rec = await _client(tmp_path)
        try:
            blocker = make_job("blocker", "draft", shot_id="other", options={"steps": 20, "step_delay": 0.05})
            await client.submit(blocker)
            await rec.wait_kind("started", blocker.job_id)
            v1 = make_job("v1", "draft", shot_id="s1")
            final = make_job("s1-final", "final", shot_id="s1")
            v2 = make_job("v2", "draft", shot_id="s1")
            for job in (v1, final, v2):
                await client.submit(job)
            results = {job.job_id: await client.wait_for(job.job_id, WAIT) for job in (blocker, v1, final, v2)}
        finally:
            await client.shutdown()
        assert results[v1.job_id].kind == "cancelled"
        assert results[v1.job_id].get("reason") == "superseded" and results[v1.job_id].get("by") == v2.job_id
        assert "started" not in rec.kinds(v1.job_id)
        assert results[blocker.job_id].kind == results[final.job_id].kind == results[v2.job_id].kind == "done"
        assert [e.job_id for e in rec.of("started")] == [blocker.job_id, v2.job_id, final.job_id]
        names = sorted(p.name for p in takes.iterdir())
        assert names == ["blocker.json", "blocker.mp4", "s1-final.json", "s1-final.mp4", "v2.json", "v2.mp4"]

    run(main())


def test_newer_draft_cancels_the_running_draft_of_the_same_shot(tmp_path, make_job, takes):
    async def main():
        client, rec = await _client(tmp_path)
        try:
            v1 = make_job("v1", "draft", shot_id="s1", options={"steps": 2000, "step_delay": 0.02})
            await client.submit(v1)
            await rec.wait_kind("progress", v1.job_id)
            v2 = make_job("v2", "draft", shot_id="s1")
            await client.submit(v2)
            first = await client.wait_for(v1.job_id, WAIT)
            second = await client.wait_for(v2.job_id, WAIT)
        finally:
            await client.shutdown()
        assert first.kind == "cancelled" and first.get("reason") == "superseded"
        assert max(e.get("step") for e in rec.of("progress", v1.job_id)) < 2000
        assert second.kind == "done"
        assert sorted(p.name for p in takes.iterdir()) == ["v2.json", "v2.mp4"]

    run(main())


def test_kill_9_mid_job_restarts_and_completes_exactly_once(tmp_path, make_job, takes):
    async def main():
        client, rec = await _client(tmp_path, backoff=(0.2, 2.0))
        try:
            job = make_job("survivor", options={"steps": 2, "chunks": 5, "frame_delay": 0.04})
            after = make_job("after")
            await client.submit(job)
            await client.submit(after)
            # Kill while frames are being encoded, so a partial movie sits in the takes folder.
            await rec.wait(lambda e: e.kind == "progress" and e.job_id == job.job_id and e.get("frames_done", 0) > 0)
            first_pid = client.pid
            partials = [p.name for p in takes.iterdir() if ".partial" in p.name]
            os.kill(first_pid, signal.SIGKILL)
            done = await client.wait_for(job.job_id, WAIT)
            done_after = await client.wait_for(after.job_id, WAIT)
            restarted = rec.of(ENGINE_RESTARTED)
            second_pid = client.pid
        finally:
            await client.shutdown()
        assert partials, "the kill should have hit a half-written take"
        assert rec.of(ENGINE_STOPPED) and rec.of(ENGINE_STOPPED)[0].get("exit_code") == -signal.SIGKILL
        assert len(restarted) == 1 and job.job_id in restarted[0].get("recovered")
        assert second_pid != first_pid
        assert done.kind == "done" and not done.get("reused") and done_after.kind == "done"
        assert len(rec.of("done", job.job_id)) == 1
        assert [e.get("attempt") for e in rec.of("started", job.job_id)] == [1, 2]
        assert sorted(p.name for p in takes.iterdir()) == ["after.json", "after.mp4", "survivor.json", "survivor.mp4"]
        info = probe_video(takes / "survivor.mp4")
        assert info.frame_count == job.frame_count and info.audio_codec == "aac"

    run(main())


def test_warm_backend_loads_once_and_unloads_on_request(tmp_path, make_job):
    async def main():
        client, _ = await _client(tmp_path)
        try:
            for name in ("w1", "w2", "w3"):
                assert (await client.run(make_job(name, options={"load_delay": 0.2}), WAIT)).kind == "done"
            status = await client.status()
            assert status["loads"] == 1 and status["warm"][0]["backend"] == "test"
            assert (await client.unload())["unloaded"] == ["test"]
            assert (await client.status())["warm"] == []
            other = make_job("w4", options={"model_folder": "/models/other"})
            assert (await client.run(other, WAIT)).kind == "done"
            assert (await client.status())["loads"] == 2
        finally:
            await client.shutdown()

    run(main())


def test_shutdown_keeping_the_queue_resumes_in_the_next_engine(tmp_path, make_job, takes):
    async def main():
        journal = tmp_path / "journal"
        client, rec = await _client(tmp_path)
        slow = make_job("slow", options={"steps": 2000, "step_delay": 0.02})
        later = make_job("later")
        await client.submit(slow)
        await client.submit(later)
        await rec.wait_kind("progress", slow.job_id)
        await client.shutdown(keep_queue=True)
        assert "cancelled" not in rec.kinds(slow.job_id)
        saved = json.loads((journal / "queue.json").read_text())
        assert {j["job"]["job_id"] for j in saved["jobs"]} == {slow.job_id, later.job_id}
        assert all(j["state"] == "queued" for j in saved["jobs"])

        client2 = EngineClient(journal_dir=journal, backends=["test"])
        rec2 = Recorder()
        client2.add_listener(rec2)
        info = await client2.start(resume=True)
        try:
            assert set(info.recovered) == {slow.job_id, later.job_id}
            assert set(client2.outstanding) == {slow.job_id, later.job_id}
            await rec2.wait_kind("progress", slow.job_id)
            assert await client2.cancel(slow.job_id)
            assert (await client2.wait_for(slow.job_id, WAIT)).kind == "cancelled"
            assert (await client2.wait_for(later.job_id, WAIT)).kind == "done"
        finally:
            await client2.shutdown()
        assert json.loads((journal / "queue.json").read_text())["jobs"] == []

    run(main())


def test_stdout_carries_only_protocol_lines(tmp_path, make_job):
    """Drive the process by hand: a backend that prints must not corrupt the stream."""
    job = make_job("noisy", options={"print": "a careless library says hi"})
    requests = [
        protocol.request(1, "hello", protocol=protocol.PROTOCOL_VERSION),
        protocol.request(2, "submit", job=job.to_dict()),
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine", "serve", "--backends", "test"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    for req in requests:
        proc.stdin.write(protocol.encode(req))
    proc.stdin.flush()
    lines = []
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        assert line, "engine closed stdout early"
        lines.append(protocol.decode(line))  # raises on anything but a protocol line
        if lines[-1].get("kind") in ("done", "failed"):
            break
    proc.stdin.write(protocol.encode({"id": 3, "op": "bogus_op"}))
    proc.stdin.write(protocol.encode(protocol.request(4, "shutdown")))
    proc.stdin.flush()
    rest, err = proc.communicate(timeout=WAIT)
    lines += [protocol.decode(line) for line in rest.splitlines()]
    assert proc.returncode == 0
    assert lines[-2]["ok"] is False and lines[-2]["error"]["type"] == "UnknownRequest"
    assert lines[-1] == {"v": 1, "type": "reply", "id": 4, "ok": True, "result": {"keep_queue": False}}
    assert any(m.get("kind") == "done" for m in lines)
    assert err.decode().count("a careless library says hi") == 2


def test_slow_backend_probe_does_not_hold_up_the_handshake(tmp_path, make_job):
    async def main():
        command = [sys.executable, "-m", "engine", "serve", "--backends", "test", "--probe-wait", "0.05",
                   "--journal", str(tmp_path / "journal")]
        client = EngineClient(command=command, env={"SOUL_TEST_BACKEND_PROBE_S": "1.0"})
        rec = Recorder()
        client.add_listener(rec)
        await client.start()
        try:
            probing = client.info.backend("test")
            assert probing["probing"] is True and probing["available"] is False
            job = make_job("early")
            assert (await client.run(job, WAIT)).kind == "done"
            event = await rec.wait_kind("backends")
            assert [b["name"] for b in event.get("backends")] == ["test"]
            assert client.info.backend("test")["available"] is True and "probing" not in client.info.backend("test")
        finally:
            await client.shutdown()

    run(main())


def test_sigterm_keeps_the_running_job_for_the_restarted_engine(tmp_path, make_job, takes):
    async def main():
        client, rec = await _client(tmp_path, backoff=(0.2, 2.0))
        try:
            job = make_job("polite", options={"steps": 40, "step_delay": 0.05})
            await client.submit(job)
            await rec.wait_kind("progress", job.job_id)
            os.kill(client.pid, signal.SIGTERM)
            stopped = await rec.wait_kind(ENGINE_STOPPED)
            done = await client.wait_for(job.job_id, WAIT)
        finally:
            await client.shutdown()
        assert stopped.get("exit_code") == 0
        assert "cancelled" not in rec.kinds(job.job_id)
        assert done.kind == "done" and [e.get("attempt") for e in rec.of("started", job.job_id)] == [1, 2]
        assert sorted(p.name for p in takes.iterdir()) == ["polite.json", "polite.mp4"]

    run(main())


def test_memory_pressure_unloads_the_warm_backend_after_each_job(tmp_path, make_job):
    async def main():
        command = [sys.executable, "-m", "engine", "serve", "--backends", "test", "--min-free-ram-mb", "1e12",
                   "--journal", str(tmp_path / "journal")]
        client = EngineClient(command=command)
        rec = Recorder()
        client.add_listener(rec)
        await client.start()
        try:
            for name in ("m1", "m2"):
                assert (await client.run(make_job(name), WAIT)).kind == "done"
            # The unload follows the ``done`` event; give the worker a moment to get there.
            for _ in range(100):
                status = await client.status()
                if not status["warm"]:
                    break
                await asyncio.sleep(0.05)
        finally:
            await client.shutdown()
        assert status["loads"] == 2 and status["warm"] == []
        assert any("memory pressure" in e.get("message", "") for e in rec.of("log"))

    run(main())


def test_one_shot_render_command_writes_the_take(make_job, takes, tmp_path):
    job = make_job("oneshot", options={"steps": 2})
    spec = tmp_path / "job.json"
    spec.write_text(job.to_json(), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "engine", "render", str(spec)], capture_output=True, text=True,
                          timeout=WAIT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == job.output_path
    assert probe_video(job.output_path).frame_count == job.frame_count
    again = subprocess.run([sys.executable, "-m", "engine", "render", str(spec.with_name("missing.json"))],
                           capture_output=True, text=True, timeout=WAIT)
    assert again.returncode == 1 and "render failed" in again.stderr
