"""The studio's side of the engine process: start it, talk to it, bring it back when it dies.

:class:`EngineClient` is plain asyncio with no Qt import, so it runs the same under
``qasync`` in the desktop app, under ``asyncio.run`` in the headless renderer and in
tests. The engine runs as ``python -m engine serve --journal DIR`` and speaks
:mod:`engine.protocol` (JSON lines) on its stdio. Pipes are served by small threads that
hand lines to the event loop with ``call_soon_threadsafe``, which works on any loop.

Typical use::

    client = EngineClient(journal_dir=cache / "engine")
    info = await client.start()                 # spawns the engine, handshakes (timeout)
    client.add_listener(lambda ev: print(ev.kind, ev.job_id, ev.data))
    await client.submit(job)                    # JobSpec; returns once the engine queued it
    event = await client.wait_for(job.job_id)   # the job's done / failed / cancelled event
    await client.shutdown()

Events are :class:`engine.protocol.Event` objects (``kind``, ``job_id``, ``data``; see
:mod:`engine.protocol` for the engine's kinds and fields). Listeners run on the event
loop; :meth:`EngineClient.wait_for` gives a job's terminal event.

Recovery: if the engine dies (killed, GPU fault), the client emits ``engine_stopped``
(exit_code, stderr), restarts it with exponential back-off, lets it re-queue its journal
(``resume``), re-submits every job the studio still waits for and emits
``engine_restarted`` (restarts, exit_code, recovered, resubmitted, pid, message). A job
that keeps crashing the engine is failed by the engine after a few tries; an engine that
cannot be brought back yields ``engine_failed`` (message) and ``failed`` for every
waiting job. Requests made while the engine is restarting wait for it.

The journal folder should be stable per studio (e.g. in the user cache): ``start()``
discards what an earlier session left there, ``start(resume=True)`` renders it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar

import engine
import soul_studio
from engine import protocol
from engine.jobs import JobSpec
from engine.protocol import Event, ProtocolError, ProtocolMismatch, RemoteError

log = logging.getLogger(__name__)

ENGINE_STOPPED = "engine_stopped"
ENGINE_RESTARTED = "engine_restarted"
ENGINE_FAILED = "engine_failed"

Listener = Callable[[Event], Any]


class EngineError(RuntimeError):
    """The engine cannot do what was asked; the message says why."""


class EngineStartError(EngineError):
    """The engine process did not come up: it died, printed garbage or did not answer."""


class EngineUnavailable(EngineError):
    """The client was shut down, or the engine could not be restarted."""


class _EngineLost(Exception):
    """Internal: the process died while a request waited; the request is retried."""


@dataclass(frozen=True)
class EngineInfo(Mapping[str, Any]):
    """What the engine said in its ``hello``; also a read-only mapping of the raw reply (``dict(info)``)."""

    engine_version: str
    protocol: int
    pid: int
    backends: list[dict[str, Any]]
    memory: dict[str, Any]
    journal: str | None
    recovered: list[str]
    raw: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.raw[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.raw)

    def __len__(self) -> int:
        return len(self.raw)

    def backend(self, name: str) -> dict[str, Any] | None:
        """Capabilities of backend ``name`` (available, devices, qualities, reason)."""
        return next((b for b in self.backends if b.get("name") == name), None)

    @classmethod
    def from_hello(cls, result: dict[str, Any]) -> EngineInfo:
        return cls(
            engine_version=str(result.get("engine", "?")),
            protocol=int(result.get("protocol", -1)),
            pid=int(result.get("pid", -1)),
            backends=list(result.get("backends", [])),
            memory=dict(result.get("memory", {})),
            journal=result.get("journal"),
            recovered=[j["job_id"] for j in result.get("recovered", [])],
            raw=result,
        )


class EventStream:
    """Async iterator over client events from the moment it was created until shutdown."""

    def __init__(self, client: EngineClient) -> None:
        self._client = client
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue()
        client._streams.add(self._queue)

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Event:
        item = await self._queue.get()
        if item is None:
            self.close()
            raise StopAsyncIteration
        return item

    def close(self) -> None:
        self._client._streams.discard(self._queue)


class _Process:
    """One engine process and the threads that serve its pipes."""

    def __init__(self, gen: int, popen: subprocess.Popen[bytes]) -> None:
        self.gen = gen
        self.popen = popen
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=60)
        self.exit_code: int | None = None
        self._outbox: collections.deque[bytes | None] = collections.deque()
        self._outbox_ready = threading.Condition()
        self._stderr_thread: threading.Thread | None = None

    def send(self, data: bytes | None) -> None:
        with self._outbox_ready:
            self._outbox.append(data)
            self._outbox_ready.notify()

    def writer(self) -> None:
        stdin: IO[bytes] = self.popen.stdin  # type: ignore[assignment]
        while True:
            with self._outbox_ready:
                while not self._outbox:
                    self._outbox_ready.wait()
                data = self._outbox.popleft()
            if data is None:
                break
            try:
                stdin.write(data)
                stdin.flush()
            except (OSError, ValueError):
                break  # the reader notices the death and reports it
        with contextlib.suppress(OSError, ValueError):
            stdin.close()

    def read_stderr(self) -> None:
        for raw in self.popen.stderr:  # type: ignore[union-attr]
            line = raw.decode("utf-8", errors="replace").rstrip()
            self.stderr_tail.append(line)
            log.debug("engine[%s]: %s", self.popen.pid, line)

    def tail(self, lines: int = 12) -> str:
        return "\n".join(list(self.stderr_tail)[-lines:])


class EngineClient:
    """Asyncio client of one engine process; see the module docstring for the life cycle.

    ``env`` entries are added to (and override) this process' environment. ``command``
    replaces the whole engine command line (for a wrapped or remote engine).
    """

    protocol_version: ClassVar[int] = protocol.PROTOCOL_VERSION

    def __init__(
        self,
        journal_dir: str | os.PathLike[str] | None = None,
        python: str = sys.executable,
        env: dict[str, str] | None = None,
        *,
        backends: Sequence[str] | None = None,
        command: Sequence[str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        handshake_timeout: float = 60.0,
        request_timeout: float = 60.0,
        max_restarts: int = 5,
        backoff: tuple[float, float] = (0.5, 30.0),
        restart_window_s: float = 60.0,
        pass_fds: Sequence[int] = (),
    ) -> None:
        self._own_journal = journal_dir is None
        self.journal_dir = Path(journal_dir) if journal_dir is not None else None
        self.python = python
        self.env = dict(env or {})
        self.backends = list(backends) if backends else None
        self.command = list(command) if command else None
        self.cwd = cwd
        self.pass_fds = tuple(pass_fds)  # e.g. the project's lock: held until the engine is gone too
        self.handshake_timeout = handshake_timeout
        self.request_timeout = request_timeout
        self.max_restarts = max_restarts
        self.backoff = backoff
        self.restart_window_s = restart_window_s
        self.info: EngineInfo | None = None
        self.restarts = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._proc: _Process | None = None
        self._gen = 0
        self._next_id = 1
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._handshake: asyncio.Future[dict[str, Any]] | None = None
        self._ready: asyncio.Event | None = None
        self._fatal: BaseException | None = None
        self._closing = False
        self._restart_task: asyncio.Task[None] | None = None
        self._crash_times: collections.deque[float] = collections.deque()
        self._outstanding: dict[str, JobSpec] = {}
        self._terminal: dict[str, Event] = {}
        self._waiters: dict[str, list[asyncio.Future[Event]]] = {}
        self._listeners: list[Listener] = []
        self._streams: set[asyncio.Queue[Event | None]] = set()

    # ================================================================ public API
    @property
    def running(self) -> bool:
        """True while an engine process is up and has answered ``hello``."""
        return self._ready is not None and self._ready.is_set() and self._fatal is None

    @property
    def pid(self) -> int | None:
        return self._proc.popen.pid if self._proc is not None else None

    @property
    def outstanding(self) -> dict[str, JobSpec]:
        """Jobs submitted and not yet done, failed or cancelled, by job id."""
        return dict(self._outstanding)

    async def start(self, resume: bool = False) -> EngineInfo:
        """Spawn the engine and handshake; ``resume`` re-queues what a previous engine left in the journal.

        Raises :class:`EngineStartError` (died, garbage, no answer in ``handshake_timeout``)
        or :class:`ProtocolMismatch`.
        """
        if self._loop is not None:
            raise EngineError("this client was already started")
        self._loop = asyncio.get_running_loop()
        self._ready = asyncio.Event()
        if self.journal_dir is None:
            self.journal_dir = Path(tempfile.mkdtemp(prefix="soul-engine-"))
        try:
            info = await self._spawn(resume)
        except BaseException:
            self._closing = True
            self._cleanup_journal()
            raise
        self._ready.set()
        return info

    async def submit(self, job: JobSpec) -> dict[str, Any]:
        """Queue ``job``; returns ``{"job_id", "position", "duplicate"}`` once the engine holds it.

        The job stays tracked until its terminal event and is re-submitted after a restart.
        Raises :class:`JobSpecError` for an invalid job, :class:`RemoteError` when refused.
        """
        job.validate()
        self._terminal.pop(job.job_id, None)
        self._outstanding[job.job_id] = job
        try:
            return await self._request("submit", job=job.to_dict())
        except BaseException:
            if job.job_id not in self._terminal:
                self._outstanding.pop(job.job_id, None)
            raise

    async def cancel(self, job_id: str) -> bool:
        """Cancel a queued or running job; its ``cancelled`` event follows. False when unknown."""
        result = await self._request("cancel", job_id=job_id)
        if not result.get("found") and job_id in self._outstanding:
            self._outstanding.pop(job_id, None)
            self._dispatch(Event("cancelled", job_id, {"reason": "cancelled"}, 0, time.time()))
            return True
        return bool(result.get("found"))

    async def set_priority(self, job_id: str, priority: int) -> bool:
        """Change a queued job's priority (higher runs sooner, drafts still before finals)."""
        if job_id in self._outstanding:
            self._outstanding[job_id] = self._outstanding[job_id].replace(priority=int(priority))
        result = await self._request("set_priority", job_id=job_id, priority=int(priority))
        return bool(result.get("found"))

    async def status(self) -> dict[str, Any]:
        """The engine's running job with its progress, the queue in run order, warm backends, memory."""
        return await self._request("status")

    async def unload(self) -> dict[str, Any]:
        """Ask the engine to drop its warm models (after the running job, if any)."""
        return await self._request("unload")

    async def wait_for(self, job_id: str, timeout: float | None = None) -> Event:
        """The terminal event (done / failed / cancelled) of ``job_id``, waiting for it if needed."""
        if job_id in self._terminal:
            return self._terminal[job_id]
        if self._fatal is not None and job_id not in self._outstanding:
            raise EngineUnavailable(str(self._fatal))
        assert self._loop is not None
        fut: asyncio.Future[Event] = self._loop.create_future()
        self._waiters.setdefault(job_id, []).append(fut)
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            waiters = self._waiters.get(job_id, [])
            if fut in waiters:
                waiters.remove(fut)

    async def run(self, job: JobSpec, timeout: float | None = None) -> Event:
        """Submit ``job`` and wait for its terminal event."""
        await self.submit(job)
        return await self.wait_for(job.job_id, timeout)

    def events(self) -> AsyncIterator[Event]:
        """An async iterator of every event from now on; it ends when the client shuts down."""
        return EventStream(self)

    def add_listener(self, callback: Listener) -> Callable[[], None]:
        """Call ``callback(event)`` on the event loop for every event; returns a function that removes it."""
        self._listeners.append(callback)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(callback)

        return remove

    async def shutdown(self, keep_queue: bool = False, timeout: float = 15.0) -> None:
        """Stop the engine (cancelling its work unless ``keep_queue``) and end all event streams."""
        if self._closing:
            return
        self._closing = True
        if self._restart_task is not None:
            self._restart_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._restart_task
        proc = self._proc
        asked = False
        if proc is not None and proc.exit_code is None and self.running:
            with contextlib.suppress(EngineError, RemoteError, TimeoutError):
                await self._request("shutdown", keep_queue=keep_queue, timeout=min(timeout, 5.0), retry=False)
                asked = True
        if proc is not None:
            await self._reap(proc, timeout, kill=not asked)
        if self._ready is not None:
            self._ready.clear()
        self._fatal = self._fatal or EngineUnavailable("the engine client was shut down")
        self._fail_pending(EngineUnavailable("the engine client was shut down"), waiters=True)
        for queue in list(self._streams):
            queue.put_nowait(None)
        if not keep_queue:
            self._cleanup_journal()

    # ============================================================ process life
    def _engine_command(self) -> list[str]:
        if self.command:
            return list(self.command)
        cmd = [self.python, "-m", "engine", "serve", "--journal", str(self.journal_dir)]
        if self.backends:
            cmd += ["--backends", ",".join(self.backends)]
        return cmd

    def _engine_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.env)
        env["PYTHONUNBUFFERED"] = "1"
        source_root = str(Path(engine.__file__).resolve().parent.parent)
        paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        if source_root not in paths:
            env["PYTHONPATH"] = os.pathsep.join([source_root, *paths])
        return env

    async def _spawn(self, resume: bool) -> EngineInfo:
        """Start a process and complete the handshake, or raise with a clear reason."""
        assert self._loop is not None
        self._gen += 1
        cmd = self._engine_command()
        try:
            popen = subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env=self._engine_env(), cwd=self.cwd, start_new_session=True, pass_fds=self.pass_fds,
            )
        except OSError as exc:
            raise EngineStartError(f"cannot start the engine ({' '.join(cmd)}): {exc}") from exc
        proc = _Process(self._gen, popen)
        self._proc = proc
        self._handshake = self._loop.create_future()
        proc._stderr_thread = threading.Thread(target=proc.read_stderr, name="engine-stderr", daemon=True)
        proc._stderr_thread.start()
        threading.Thread(target=proc.writer, name="engine-stdin", daemon=True).start()
        threading.Thread(target=self._read_stdout, args=(proc,), name="engine-stdout", daemon=True).start()
        req_id = self._take_id()
        proc.send(protocol.encode(protocol.request(
            req_id, "hello", protocol=self.protocol_version, client=f"soul-studio {soul_studio.__version__}", resume=resume,
        )))
        try:
            msg = await asyncio.wait_for(asyncio.shield(self._handshake), self.handshake_timeout)
        except TimeoutError:
            await self._reap(proc, 2.0, kill=True)
            raise EngineStartError(
                f"the engine did not answer within {self.handshake_timeout:g} s of starting"
                + self._tail_text(proc)
            ) from None
        except BaseException:
            await self._reap(proc, 2.0, kill=True)
            raise
        finally:
            self._handshake = None
        if msg.get("id") != req_id:
            await self._reap(proc, 2.0, kill=True)
            raise EngineStartError(f"the engine answered something other than hello: {protocol.preview_text(str(msg))}")
        if not msg.get("ok"):
            await self._reap(proc, 2.0, kill=True)
            err = msg.get("error", {})
            if err.get("type") == "ProtocolMismatch":
                raise ProtocolMismatch(self.protocol_version, err.get("engine_protocol"), err.get("message", ""))
            raise EngineStartError(f"the engine refused the handshake: {err.get('message')}")
        result = msg.get("result", {})
        if result.get("protocol") != self.protocol_version:
            await self._reap(proc, 2.0, kill=True)
            raise ProtocolMismatch(self.protocol_version, result.get("protocol"))
        self.info = EngineInfo.from_hello(result)
        for item in result.get("recovered", []):
            with contextlib.suppress(Exception):
                self._outstanding.setdefault(item["job_id"], JobSpec.from_dict(item))
        return self.info

    def _read_stdout(self, proc: _Process) -> None:
        """Thread: hand every stdout line to the loop, then the exit code at end of file."""
        stdout: IO[bytes] = proc.popen.stdout  # type: ignore[assignment]
        try:
            for line in protocol.read_lines(stdout):
                if not self._post(self._on_line, proc, line):
                    return
        except (OSError, ValueError):
            pass
        try:
            code = proc.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.popen.kill()
            code = proc.popen.wait()
        if proc._stderr_thread is not None:
            proc._stderr_thread.join(2.0)
        proc.send(None)
        self._post(self._on_exit, proc, code)

    def _post(self, fn: Callable[..., Any], *args: Any) -> bool:
        loop = self._loop
        if loop is None or loop.is_closed():
            return False
        try:
            loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:
            return False
        return True

    def _on_line(self, proc: _Process, line: bytes) -> None:
        if proc.gen != self._gen:
            return
        handshake = self._handshake
        try:
            msg = protocol.decode(line)
            protocol.check_version(msg)
        except ProtocolMismatch as exc:
            if handshake is not None and not handshake.done():
                handshake.set_exception(ProtocolMismatch(self.protocol_version, exc.engine_version, "on its first line"))
            else:
                log.warning("engine sent a message of another protocol version: %s", protocol.preview_text(line))
            return
        except ProtocolError as exc:
            if handshake is not None and not handshake.done():
                handshake.set_exception(EngineStartError(
                    f"the engine printed something that is not a protocol line: {exc}" + self._tail_text(proc)
                ))
            else:
                log.warning("ignored a line from the engine: %s", exc)
            return
        kind = msg.get("type")
        if kind == "reply":
            if handshake is not None and not handshake.done():
                handshake.set_result(msg)
                return
            fut = self._pending.pop(msg.get("id"), None)  # type: ignore[arg-type]
            if fut is not None and not fut.done():
                fut.set_result(msg)
        elif kind == "event":
            try:
                event = Event.from_message(msg)
            except (KeyError, TypeError, ValueError):
                log.warning("ignored a malformed event: %s", protocol.preview_text(line))
                return
            self._dispatch(event)
        else:
            log.warning("ignored a message of unknown type: %s", protocol.preview_text(line))

    def _on_exit(self, proc: _Process, code: int) -> None:
        proc.exit_code = code
        if proc.gen != self._gen:
            return
        handshake = self._handshake
        if handshake is not None and not handshake.done():
            handshake.set_exception(EngineStartError(
                f"the engine exited with code {code} while starting" + self._tail_text(proc)
            ))
            return
        if self._ready is not None:
            self._ready.clear()
        self._fail_pending(_EngineLost())
        if self._closing or self._fatal is not None:
            return
        log.warning("engine (pid %s) stopped with code %s", proc.popen.pid, code)
        self._dispatch(Event(ENGINE_STOPPED, None, {"exit_code": code, "stderr": proc.tail()}, 0, time.time()))
        self._restart_task = asyncio.ensure_future(self._restart(code))

    async def _restart(self, exit_code: int) -> None:
        """Bring the engine back with exponential back-off and hand it the jobs still waiting."""
        now = time.monotonic()
        self._crash_times.append(now)
        while self._crash_times and now - self._crash_times[0] > self.restart_window_s:
            self._crash_times.popleft()
        if len(self._crash_times) > self.max_restarts:
            self._give_up(EngineUnavailable(
                f"the engine stopped {len(self._crash_times)} times within {self.restart_window_s:g} s (last exit code {exit_code})"
            ))
            return
        base, cap = self.backoff
        delay = min(cap, base * 2 ** (len(self._crash_times) - 1))
        failures = 0
        while not self._closing:
            await asyncio.sleep(delay)
            try:
                info = await self._spawn(resume=True)
            except ProtocolMismatch as exc:
                self._give_up(exc)
                return
            except (EngineStartError, OSError, RuntimeError) as exc:
                failures += 1
                log.warning("engine restart %d failed: %s", failures, exc)
                if failures >= self.max_restarts:
                    self._give_up(EngineUnavailable(f"the engine could not be restarted: {exc}"))
                    return
                delay = min(cap, delay * 2)
                continue
            break
        else:
            return
        self.restarts += 1
        resubmitted = []
        known = set(info.recovered) | set(info.raw.get("recovery_failed", []))
        for job_id, job in list(self._outstanding.items()):
            if job_id in known:
                continue
            resubmitted.append(job_id)
            req_id = self._take_id()
            assert self._proc is not None
            self._proc.send(protocol.encode(protocol.request(req_id, "submit", job=job.to_dict())))
        assert self._ready is not None
        self._ready.set()
        self._dispatch(Event(ENGINE_RESTARTED, None, {
            "restarts": self.restarts, "exit_code": exit_code, "recovered": list(info.recovered),
            "resubmitted": resubmitted, "pid": info.pid,
            "message": "The render engine stopped unexpectedly and was restarted; waiting renders were queued again.",
        }, 0, time.time()))

    def _give_up(self, error: BaseException) -> None:
        self._fatal = error
        if self._ready is not None:
            self._ready.set()  # wake waiters so they see the error
        self._fail_pending(error)
        self._dispatch(Event(ENGINE_FAILED, None, {"message": str(error)}, 0, time.time()))
        for job_id in list(self._outstanding):
            self._dispatch(Event("failed", job_id, {
                "error_type": "EngineUnavailable", "message": str(error),
                "hint": "check the engine log, then restart Soul Studio's engine",
            }, 0, time.time()))

    async def _reap(self, proc: _Process, timeout: float, kill: bool = False) -> None:
        """Wait for ``proc`` to exit (killing it if asked or if it overstays)."""
        popen = proc.popen
        if kill and popen.poll() is None:
            with contextlib.suppress(OSError):
                popen.kill()
        deadline = time.monotonic() + timeout
        while popen.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if popen.poll() is None:
            with contextlib.suppress(OSError):
                popen.kill()
            await asyncio.get_running_loop().run_in_executor(None, popen.wait)
        proc.exit_code = popen.returncode
        proc.send(None)

    def _tail_text(self, proc: _Process) -> str:
        if proc._stderr_thread is not None:
            proc._stderr_thread.join(0.5)
        tail = proc.tail()
        return f"\nengine stderr:\n{tail}" if tail else ""

    def _cleanup_journal(self) -> None:
        if self._own_journal and self.journal_dir is not None:
            shutil.rmtree(self.journal_dir, ignore_errors=True)

    # ================================================================ requests
    def _take_id(self) -> int:
        req_id = self._next_id
        self._next_id += 1
        return req_id

    async def _wait_ready(self, timeout: float) -> None:
        if self._ready is None:
            raise EngineUnavailable("the engine client has not been started")
        if self._fatal is not None:
            raise EngineUnavailable(str(self._fatal))
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            raise EngineError(f"the engine did not come back within {timeout:g} s") from None
        if self._fatal is not None:
            raise EngineUnavailable(str(self._fatal))

    async def _request(self, op: str, timeout: float | None = None, retry: bool = True, **fields: Any) -> dict[str, Any]:
        """Send one request and return its result; retried after a restart (all requests are idempotent)."""
        assert self._loop is not None
        timeout = self.request_timeout if timeout is None else timeout
        for _ in range(3 if retry else 1):
            await self._wait_ready(timeout + self.handshake_timeout)
            req_id = self._take_id()
            fut: asyncio.Future[dict[str, Any]] = self._loop.create_future()
            self._pending[req_id] = fut
            assert self._proc is not None
            self._proc.send(protocol.encode(protocol.request(req_id, op, **fields)))
            try:
                msg = await asyncio.wait_for(fut, timeout)
            except _EngineLost:
                continue
            except TimeoutError:
                raise EngineError(f"the engine did not answer {op!r} within {timeout:g} s") from None
            finally:
                self._pending.pop(req_id, None)
            if msg.get("ok"):
                return dict(msg.get("result") or {})
            err = msg.get("error") or {}
            if err.get("type") == "ProtocolMismatch":
                raise ProtocolMismatch(self.protocol_version, err.get("engine_protocol"), err.get("message", ""))
            if err.get("type") == "JobSpecError":
                from engine.jobs import JobSpecError

                raise JobSpecError(err.get("message", ""))
            raise RemoteError(str(err.get("type", "EngineError")), str(err.get("message", "")), str(err.get("hint", "")))
        raise EngineError(f"the engine kept stopping while answering {op!r}")

    def _fail_pending(self, error: BaseException, waiters: bool = False) -> None:
        """Fail requests awaiting replies (and, with ``waiters``, callers of :meth:`wait_for`)."""
        pending, self._pending = self._pending, {}
        for fut in pending.values():
            if not fut.done():
                fut.set_exception(error)
        if waiters:
            for futures in self._waiters.values():
                for fut in futures:
                    if not fut.done():
                        fut.set_exception(EngineUnavailable(str(error)))

    # ================================================================== events
    def _dispatch(self, event: Event) -> None:
        if event.kind == "backends" and self.info is not None:
            backends = list(event.get("backends") or [])
            self.info = dataclasses.replace(self.info, backends=backends, raw={**self.info.raw, "backends": backends})
        if event.job_id and event.terminal:
            if event.job_id in self._terminal and event.job_id not in self._outstanding:
                return  # already reported: a re-run after a crash found the finished take
            self._outstanding.pop(event.job_id, None)
            self._terminal[event.job_id] = event
            for fut in self._waiters.pop(event.job_id, []):
                if not fut.done():
                    fut.set_result(event)
        for callback in list(self._listeners):
            try:
                callback(event)
            except Exception:  # noqa: BLE001 - one broken listener must not silence the others
                log.exception("engine event listener failed")
        for queue in list(self._streams):
            queue.put_nowait(event)
