"""Starting the engine: every way it can go wrong ends in a clear error, never a hang."""

from __future__ import annotations

import os
import sys
import textwrap

import pytest

from engine.protocol import PROTOCOL_VERSION, ProtocolMismatch
from soul_studio.engine_client import ENGINE_FAILED, EngineClient, EngineStartError, EngineUnavailable

from .conftest import WAIT, Recorder, run

# A stand-in engine whose behaviour on start is chosen by its first argument.
FAKE_ENGINE = textwrap.dedent(
    """
    import json, sys, time
    mode = sys.argv[1]
    def say(obj):
        sys.stdout.write(json.dumps(obj) + "\\n"); sys.stdout.flush()
    hello = json.loads(sys.stdin.readline())
    if mode == "garbage":
        print("Loading model weights... 42%")
    elif mode == "die":
        print("CUDA driver version is insufficient", file=sys.stderr)
        sys.exit(3)
    elif mode == "silent":
        time.sleep(600)
    elif mode == "future_wire":
        say({"v": 999, "type": "reply", "id": hello["id"], "ok": True, "result": {}})
    elif mode == "future_protocol":
        say({"v": 1, "type": "reply", "id": hello["id"], "ok": True, "result": {"protocol": 2, "engine": "9"}})
    elif mode == "flaky":
        say({"v": 1, "type": "reply", "id": hello["id"], "ok": True,
             "result": {"protocol": 1, "engine": "0", "pid": 1, "backends": [], "recovered": []}})
        request = json.loads(sys.stdin.readline())
        say({"v": 1, "type": "reply", "id": request["id"], "ok": True, "result": {"job_id": "x"}})
        sys.exit(1)
    time.sleep(600)
    """
)


@pytest.fixture
def fake_engine(tmp_path):
    script = tmp_path / "fake_engine.py"
    script.write_text(FAKE_ENGINE, encoding="utf-8")
    return lambda mode: [sys.executable, str(script), mode]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie still answers kill(0): look at its state
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_client_of_another_protocol_gets_a_mismatch_from_the_real_engine(tmp_path):
    class OldClient(EngineClient):
        protocol_version = 0

    async def main():
        client = OldClient(journal_dir=tmp_path / "j", backends=["test"], handshake_timeout=WAIT)
        with pytest.raises(ProtocolMismatch) as info:
            await client.start()
        assert (info.value.client_version, info.value.engine_version) == (0, PROTOCOL_VERSION)
        assert "protocol" in str(info.value)
        assert not _alive(client.pid)

    run(main())


@pytest.mark.parametrize("mode", ["future_wire", "future_protocol"])
def test_engine_of_another_protocol_is_refused(fake_engine, mode):
    async def main():
        client = EngineClient(command=fake_engine(mode), handshake_timeout=WAIT)
        with pytest.raises(ProtocolMismatch) as info:
            await client.start()
        assert info.value.client_version == PROTOCOL_VERSION
        assert info.value.engine_version == (999 if mode == "future_wire" else 2)
        assert not _alive(client.pid)

    run(main())


def test_garbage_on_stdout_during_handshake_is_a_clear_error(fake_engine):
    async def main():
        client = EngineClient(command=fake_engine("garbage"), handshake_timeout=WAIT)
        with pytest.raises(EngineStartError, match="not a protocol line") as info:
            await client.start()
        assert "Loading model weights" in str(info.value)
        assert not _alive(client.pid)

    run(main())


def test_engine_dying_during_handshake_reports_exit_code_and_stderr(fake_engine):
    async def main():
        client = EngineClient(command=fake_engine("die"), handshake_timeout=WAIT)
        with pytest.raises(EngineStartError, match="code 3") as info:
            await client.start()
        assert "CUDA driver version is insufficient" in str(info.value)

    run(main())


def test_silent_engine_times_out_and_is_killed(fake_engine):
    async def main():
        client = EngineClient(command=fake_engine("silent"), handshake_timeout=1.0)
        with pytest.raises(EngineStartError, match="did not answer"):
            await client.start()
        assert not _alive(client.pid)

    run(main())


def test_missing_interpreter_is_a_clear_error(tmp_path):
    async def main():
        client = EngineClient(python=str(tmp_path / "no-python"))
        with pytest.raises(EngineStartError, match="cannot start the engine"):
            await client.start()

    run(main())


def test_second_engine_on_the_same_journal_is_refused(tmp_path):
    async def main():
        first = EngineClient(journal_dir=tmp_path / "j", backends=["test"])
        await first.start()
        try:
            second = EngineClient(journal_dir=tmp_path / "j", backends=["test"], handshake_timeout=WAIT)
            with pytest.raises(EngineStartError, match="another engine is using the journal"):
                await second.start()
            assert first.running and (await first.status())["queued"] == []
        finally:
            await first.shutdown()

    run(main())


def test_engine_that_keeps_dying_is_given_up_with_failed_jobs(fake_engine, make_job):
    async def main():
        client = EngineClient(command=fake_engine("flaky"), max_restarts=2, backoff=(0.05, 0.1),
                              handshake_timeout=WAIT)
        rec = Recorder()
        client.add_listener(rec)
        await client.start()
        job = make_job("doomed")
        await client.submit(job)
        failed = await client.wait_for(job.job_id, WAIT)
        await rec.wait_kind(ENGINE_FAILED)
        assert failed.kind == "failed" and failed.get("error_type") == "EngineUnavailable"
        assert "stopped 3 times" in rec.of(ENGINE_FAILED)[0].get("message")
        assert len(rec.of("engine_restarted")) == 2
        with pytest.raises(EngineUnavailable):
            await client.submit(make_job("too-late"))
        await client.shutdown()

    run(main())
