"""The engine process: a queue of jobs, one render at a time, events on stdout.

``python -m engine serve [--journal DIR]`` speaks :mod:`engine.protocol` on stdio. A
reader thread takes requests from stdin and answers them at once (queue operations are
cheap); one worker thread renders. Backends are loaded once per ``load_key`` and kept
warm until an ``unload`` request, memory pressure, or a job that needs another key.

Queue rules: drafts run before finals, then higher priority, then first submitted. A
newer draft of a shot replaces a queued draft of that shot and cancels a running one.
Cancelling a running job fires its :class:`CancelToken`; backends check it every step or
chunk. A job that fails reports ``failed`` with the error's message and hint, and the
next job runs. With a journal folder every queue change is written to disk, so an
engine restarted after a crash (``hello`` with ``resume``) picks up where it died.

Job options read here (the rest belong to the backend): ``progress_interval_s`` (least
time between progress events, default 0.05; the last one is always sent) and
``preview_size`` (longest side of preview JPEGs, default 256).
"""

from __future__ import annotations

import base64
import errno
import logging
import os
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import IO, Any

import engine
from engine import protocol
from engine.backends import BACKENDS, backend_class
from engine.backends.base import (
    Backend,
    BackendError,
    BackendUnavailable,
    CancelToken,
    JobCancelled,
    Progress,
    RenderContext,
)
from engine.jobs import JobSpec, JobSpecError
from engine.journal import Entry, Journal
from engine.media import MediaError, encode_jpeg
from engine.memory import memory_info, release_cached_gpu_memory
from engine.scheduler import JobQueue
from engine.takes import discard_partials, write_take

# A write stopped because the drive (or the user's quota, or the file-size limit) is full.
_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_READ_ONLY = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})  # EPERM: an immutable folder
log = logging.getLogger("engine.server")

DEFAULT_MAX_CRASHES = 3
DEFAULT_PROGRESS_INTERVAL_S = 0.05
DEFAULT_PREVIEW_SIZE = 256
# How long ``hello`` waits for backend probes; slower ones follow in a ``backends`` event.
DEFAULT_PROBE_WAIT_S = 3.0


def write_problem(output_path: str, exc: OSError) -> tuple[str, str, str] | None:
    """(error type, message, hint) for a full drive or a takes folder that cannot be written, else None."""
    folder = os.path.dirname(os.path.abspath(output_path))
    if exc.errno in _DISK_FULL:
        return ("DiskFull", f"no space left to write the take in {folder} ({exc.strerror})",
                "free disk space on that drive (or move the project to a larger one) and render again")
    written = exc.filename is not None and os.path.dirname(os.path.abspath(str(exc.filename))) == folder
    if exc.errno in _READ_ONLY and written:
        return ("ReadOnly", f"the takes folder {folder} cannot be written ({exc.strerror})",
                "make that folder writable (or save the project somewhere you can write) and render again")
    return None


class RequestError(Exception):
    """A request the engine refuses; becomes an ``ok: false`` reply."""

    def __init__(self, error_type: str, message: str, hint: str = "", **extra: Any) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.hint = hint
        self.extra = extra


@dataclass
class _Warm:
    backend: Backend
    key: tuple[Any, ...]
    loads: int = 1


@dataclass
class _Running:
    entry: Entry
    token: CancelToken
    started: float = field(default_factory=time.monotonic)
    progress: dict[str, Any] = field(default_factory=dict)


class EngineServer:
    """Queue, worker and protocol handling; :meth:`serve` runs it on a pair of streams."""

    def __init__(
        self,
        out: IO[bytes],
        journal_dir: str | os.PathLike[str] | None = None,
        backends: list[str] | None = None,
        min_free_ram_mb: float = 512.0,
        min_free_vram_mb: float = 0.0,
        max_crashes: int = DEFAULT_MAX_CRASHES,
        probe_wait_s: float = DEFAULT_PROBE_WAIT_S,
    ) -> None:
        self._out = out
        self._emit_lock = threading.Lock()
        self._seq = 0
        self._cond = threading.Condition()
        self._queue = JobQueue()
        self._running: _Running | None = None
        self._next_seq = 1
        self._journal = Journal(journal_dir)
        self._recovered: list[Entry] = []
        self._allowed = list(backends) if backends else list(BACKENDS)
        self._warm: dict[str, _Warm] = {}
        self._loads = 0
        self._unload_after_job = False
        self._greeted = False
        self._stopping = False
        self._keep_queue = True
        self._stopped = threading.Event()
        self.min_free_ram_mb = float(min_free_ram_mb)
        self.min_free_vram_mb = float(min_free_vram_mb)
        self.max_crashes = int(max_crashes)
        self.probe_wait_s = float(probe_wait_s)
        self._caps: dict[str, dict[str, Any]] = {}
        self._caps_done = threading.Event()
        self._caps_partial_sent = False

    # ------------------------------------------------------------------ output
    def emit(self, msg: dict[str, Any]) -> None:
        """Write one protocol line; a closed pipe means the studio is gone, so stop."""
        with self._emit_lock:
            if msg.get("type") == "event":
                self._seq += 1
                msg["seq"] = self._seq
            try:
                self._out.write(protocol.encode(msg))
                self._out.flush()
            except (BrokenPipeError, OSError, ValueError):
                if not self._stopping:
                    log.warning("studio closed the engine's stdout; stopping")
                    threading.Thread(target=self.stop, kwargs={"keep_queue": True}, daemon=True).start()

    def event(self, kind: str, job_id: str | None = None, **fields: Any) -> None:
        self.emit(protocol.event(kind, job_id, **fields))

    # ----------------------------------------------------------------- serving
    def serve(self, stdin: IO[bytes], grace_s: float = 30.0) -> int:
        """Run until ``shutdown`` or end of input; returns the process exit code."""
        self._journal.acquire()
        self._recovered = self._journal.load()
        if self._recovered:
            self._next_seq = max(e.seq for e in self._recovered) + 1
        threading.Thread(target=self._probe_backends, name="engine-probe", daemon=True).start()
        worker = threading.Thread(target=self._work, name="engine-worker", daemon=True)
        reader = threading.Thread(target=self._read, args=(stdin,), name="engine-reader", daemon=True)
        worker.start()
        reader.start()
        self._stopped.wait()
        worker.join(grace_s)
        code = 0
        if worker.is_alive():
            log.error("render did not stop within %.0f s of shutdown; exiting anyway", grace_s)
            code = 1
        self._journal.release()
        return code

    def stop(self, keep_queue: bool = True) -> None:
        """Stop after the running job: cancel it, and keep (or drop) the queue in the journal."""
        cancelled: list[Entry] = []
        with self._cond:
            if self._stopping:
                return
            self._stopping = True
            self._keep_queue = keep_queue
            if self._running is not None:
                self._running.token.cancel("shutdown")
            if not keep_queue:
                cancelled = self._queue.clear()
                self._save_journal()
            self._cond.notify_all()
        for entry in cancelled:
            self.event("cancelled", entry.job.job_id, reason="shutdown")
        self._stopped.set()

    def _read(self, stdin: IO[bytes]) -> None:
        try:
            for line in protocol.read_lines(stdin):
                if not line.strip():
                    continue
                self.handle_line(line)
                if self._stopping:
                    return
        except (OSError, ValueError) as exc:
            log.warning("cannot read requests: %s", exc)
        self.stop(keep_queue=True)

    # ----------------------------------------------------------------- requests
    def handle_line(self, line: bytes) -> None:
        try:
            msg = protocol.decode(line)
        except protocol.ProtocolError as exc:
            self.event("log", None, level="error", message=f"ignored a request that is not a protocol line: {exc}")
            return
        req_id = msg.get("id")
        op = msg.get("op")
        if msg.get("v") != protocol.PROTOCOL_VERSION:
            self.emit(self._mismatch(req_id, msg.get("v")))
            return
        handler = getattr(self, f"_op_{op}", None) if op in protocol.REQUESTS else None
        if op == "hello" and not self._greeted:
            self._caps_done.wait(self.probe_wait_s)  # outside the lock: the probe thread needs it
        after: list[dict[str, Any]] = []
        with self._cond:
            try:
                if handler is None:
                    raise RequestError("UnknownRequest", f"unknown request {op!r}", f"use one of {', '.join(protocol.REQUESTS)}")
                if not self._greeted and op != "hello":
                    raise RequestError("HandshakeRequired", f"{op!r} before hello", "send hello first")
                result = handler(msg, after)
                self.emit(protocol.reply(req_id, result))
            except RequestError as exc:
                self.emit(protocol.error_reply(req_id, exc.error_type, str(exc), exc.hint, **exc.extra))
            except (JobSpecError, BackendError) as exc:
                self.emit(protocol.error_reply(req_id, type(exc).__name__, str(exc), getattr(exc, "hint", "")))
            except (KeyError, TypeError, ValueError) as exc:
                self.emit(protocol.error_reply(req_id, "BadRequest", f"malformed {op!r} request: {exc}"))
            for item in after:
                self.emit(item)
            self._cond.notify_all()

    def _mismatch(self, req_id: Any, client_version: Any) -> dict[str, Any]:
        return protocol.error_reply(
            req_id, "ProtocolMismatch",
            f"engine speaks protocol {protocol.PROTOCOL_VERSION}, studio sent {client_version!r}",
            "install the engine that ships with this studio",
            engine_protocol=protocol.PROTOCOL_VERSION, client_protocol=client_version,
        )

    def _op_hello(self, msg: dict[str, Any], after: list[dict[str, Any]]) -> dict[str, Any]:
        client_version = msg.get("protocol")
        if client_version != protocol.PROTOCOL_VERSION:
            mismatch = self._mismatch(msg.get("id"), client_version)["error"]
            raise RequestError(
                "ProtocolMismatch", mismatch["message"], mismatch["hint"],
                engine_protocol=protocol.PROTOCOL_VERSION, client_protocol=client_version,
            )
        recovered, failed = [], []
        if not self._greeted:
            recovered, failed = self._recover(bool(msg.get("resume")), after)
        self._greeted = True
        return {
            "engine": engine.__version__,
            "protocol": protocol.PROTOCOL_VERSION,
            "pid": os.getpid(),
            "python": sys.version.split()[0],
            "backends": self._backend_report(),
            "memory": memory_info(),
            "journal": str(self._journal.directory) if self._journal.directory else None,
            "recovered": recovered,
            "recovery_failed": failed,
        }

    def _recover(self, resume: bool, after: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
        """Re-queue what a dead engine left in the journal (or discard it when not resuming)."""
        recovered: list[dict[str, Any]] = []
        failed: list[str] = []
        for entry in self._recovered:
            job = entry.job
            discard_partials(job.output_path)
            if not resume:
                continue
            if entry.state == "running":
                entry.crashes += 1
            if entry.crashes >= self.max_crashes:
                failed.append(job.job_id)
                after.append(protocol.event(
                    "failed", job.job_id, error_type="EngineCrashed",
                    message=f"the engine stopped {entry.crashes} times while rendering this job",
                    hint="lower the resolution or duration, or try another backend",
                ))
                continue
            self._queue.add(entry)
            recovered.append(job.to_dict())
        self._recovered = []
        self._save_journal()
        for item in recovered:
            jid = item["job_id"]
            if jid in self._queue:
                after.append(self._queued_event(self._queue.get(jid)))  # type: ignore[arg-type]
        return recovered, failed

    def _probe_backends(self) -> None:
        """Thread: ask every enabled backend what it can do here (may import heavy packages)."""
        for name in self._allowed:
            try:
                caps = backend_class(name).capabilities().to_dict()
            except Exception as exc:  # noqa: BLE001 - a broken backend is reported, not fatal
                caps = {"name": name, "available": False, "devices": [], "reason": str(exc)}
            with self._cond:
                self._caps[name] = caps
        with self._cond:
            self._caps_done.set()
            if self._caps_partial_sent:
                self.event("backends", None, backends=self._backend_report())

    def _backend_report(self) -> list[dict[str, Any]]:
        """Capabilities of the enabled backends; those still being probed say so."""
        report = []
        for name in self._allowed:
            caps = self._caps.get(name)
            if caps is None:
                self._caps_partial_sent = True
                caps = {"name": name, "available": False, "devices": [], "probing": True,
                        "reason": "still checking this backend"}
            report.append({**caps, "warm": name in self._warm})
        return report

    def _op_submit(self, msg: dict[str, Any], after: list[dict[str, Any]]) -> dict[str, Any]:
        job = JobSpec.from_dict(msg["job"]).validate()
        if job.backend not in self._allowed:
            raise BackendUnavailable(
                f"backend {job.backend!r} is not enabled in this engine",
                hint=f"enabled: {', '.join(self._allowed)}",
            )
        if job.job_id in self._queue or (self._running and self._running.entry.job.job_id == job.job_id):
            return {"job_id": job.job_id, "duplicate": True, "position": self._queue.position(job.job_id)}
        if self._stopping:
            raise RequestError("ShuttingDown", "the engine is shutting down", "submit again after it restarts")
        entry = Entry(job, self._next_seq)
        self._next_seq += 1
        superseded = self._queue.add(entry)
        running = self._running
        if (
            running is not None and job.quality == "draft" and job.shot_id
            and running.entry.job.quality == "draft" and running.entry.job.shot_id == job.shot_id
        ):
            running.token.cancel("superseded")
        self._save_journal()
        for old in superseded:
            after.append(protocol.event("cancelled", old.job.job_id, reason="superseded", by=job.job_id))
        after.append(self._queued_event(entry))
        return {"job_id": job.job_id, "duplicate": False, "position": self._queue.position(job.job_id)}

    def _queued_event(self, entry: Entry) -> dict[str, Any]:
        job = entry.job
        return protocol.event(
            "queued", job.job_id, shot_id=job.shot_id, quality=job.quality, priority=job.priority,
            position=self._queue.position(job.job_id), backend=job.backend,
        )

    def _op_cancel(self, msg: dict[str, Any], after: list[dict[str, Any]]) -> dict[str, Any]:
        job_id = str(msg["job_id"])
        if self._queue.remove(job_id) is not None:
            self._save_journal()
            after.append(protocol.event("cancelled", job_id, reason="cancelled"))
            return {"job_id": job_id, "found": True, "state": "queued"}
        if self._running is not None and self._running.entry.job.job_id == job_id:
            self._running.token.cancel("cancelled")
            return {"job_id": job_id, "found": True, "state": "running"}
        return {"job_id": job_id, "found": False, "state": None}

    def _op_set_priority(self, msg: dict[str, Any], after: list[dict[str, Any]]) -> dict[str, Any]:
        job_id = str(msg["job_id"])
        found = self._queue.set_priority(job_id, int(msg["priority"]))
        if found:
            self._save_journal()
        running = self._running is not None and self._running.entry.job.job_id == job_id
        return {"job_id": job_id, "found": found or running, "position": self._queue.position(job_id)}

    def _op_status(self, msg: dict[str, Any], after: list[dict[str, Any]]) -> dict[str, Any]:
        running = None
        if self._running is not None:
            job = self._running.entry.job
            running = {
                "job_id": job.job_id, "shot_id": job.shot_id, "quality": job.quality, "backend": job.backend,
                "attempt": self._running.entry.attempts, "elapsed_s": round(time.monotonic() - self._running.started, 3),
                "progress": dict(self._running.progress),
            }
        queued = [
            {"job_id": e.job.job_id, "shot_id": e.job.shot_id, "quality": e.job.quality,
             "priority": e.job.priority, "backend": e.job.backend}
            for e in self._queue.ordered()
        ]
        warm = [{"backend": name, "key": list(map(str, w.key)), "loads": w.loads} for name, w in self._warm.items()]
        return {"running": running, "queued": queued, "warm": warm, "loads": self._loads,
                "memory": memory_info(include_vram=False)}

    def _op_unload(self, msg: dict[str, Any], after: list[dict[str, Any]]) -> dict[str, Any]:
        if self._running is not None:
            self._unload_after_job = True
            return {"unloaded": [], "deferred": True}
        return {"unloaded": self._unload_all("requested"), "deferred": False}

    def _op_shutdown(self, msg: dict[str, Any], after: list[dict[str, Any]]) -> dict[str, Any]:
        keep = bool(msg.get("keep_queue", False))
        threading.Thread(target=self.stop, kwargs={"keep_queue": keep}, daemon=True).start()
        return {"keep_queue": keep}

    # ------------------------------------------------------------------ journal
    def _journal_entries(self) -> list[Entry]:
        entries = list(self._queue.ordered())
        if self._running is not None:
            entries.append(self._running.entry)
        return sorted(entries, key=lambda e: e.seq)

    def _save_journal(self) -> None:
        """Persist the queue (caller holds the lock); a full disk is reported, not fatal."""
        try:
            self._journal.save(self._journal_entries())
        except OSError as exc:
            log.error("cannot write the queue journal: %s", exc)
            self.event("log", None, level="error", message=f"cannot write the queue journal: {exc}")

    # ------------------------------------------------------------------- worker
    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and (not self._greeted or not len(self._queue)):
                    self._cond.wait()
                if self._stopping:
                    return
                entry = self._queue.pop_next()
                assert entry is not None
                entry.state = "running"
                entry.attempts += 1
                token = CancelToken()
                self._running = _Running(entry, token)
                self._save_journal()
                job = entry.job
                self.event("started", job.job_id, shot_id=job.shot_id, quality=job.quality,
                           backend=job.backend, attempt=entry.attempts)
            outcome = self._run(entry, token)
            with self._cond:
                if outcome is None:
                    # Stopped by a shutdown that keeps the queue: journal it for the next engine.
                    entry.state = "queued"
                    self._save_journal()
                    self._running = None
                else:
                    self._running = None
                    self._save_journal()  # off the journal before anyone hears it is over
            if outcome is not None:
                self.emit(outcome)
            self._after_job()

    def _run(self, entry: Entry, token: CancelToken) -> dict[str, Any] | None:
        """Render one job; returns its terminal event (None: stopped by shutdown, keep it queued)."""
        job = entry.job
        try:
            backend = self._backend_for(job)
            token.check()
            result = write_take(backend, job, self._context(job, token))
        except JobCancelled:
            if token.reason == "shutdown" and self._keep_queue:
                return None
            return protocol.event("cancelled", job.job_id, reason=token.reason or "cancelled")
        except BackendError as exc:
            return self._failed(job, type(exc).__name__, str(exc), exc.hint)
        except MediaError as exc:  # the hint travels on its own: the message does not repeat it
            message = f"{exc.path}: {exc.reason}" if exc.path else exc.reason
            return self._failed(job, "MediaError", message, exc.hint)
        except JobSpecError as exc:
            return self._failed(job, "JobSpecError", str(exc), "the studio sent an invalid job")
        except OSError as exc:
            problem = write_problem(job.output_path, exc)
            return self._failed(job, *problem) if problem else self._unexpected(job, exc)
        except MemoryError as exc:
            self._unload_all("out of memory")
            return self._failed(job, "OutOfMemory", str(exc) or "out of memory", "close other programs or lower the resolution")
        except Exception as exc:  # noqa: BLE001 - a bad job must never take the engine down
            return self._unexpected(job, exc)
        return protocol.event("done", job.job_id, **result.to_dict())

    def _unexpected(self, job: JobSpec, exc: Exception) -> dict[str, Any]:
        """An error no backend foresaw: its traceback goes to the log, the job fails, the engine lives."""
        log.error("job %s failed:\n%s", job.job_id, traceback.format_exc())
        hint = "see the engine log for the traceback"
        if "out of memory" in str(exc).lower() or type(exc).__name__ == "OutOfMemoryError":
            self._unload_all("out of GPU memory")
            hint = "the model was unloaded to free memory; lower the resolution or render again"
        return self._failed(job, type(exc).__name__, str(exc), hint)

    def _failed(self, job: JobSpec, error_type: str, message: str, hint: str) -> dict[str, Any]:
        return protocol.event("failed", job.job_id, error_type=error_type, message=message, hint=hint or "")

    def _context(self, job: JobSpec, token: CancelToken) -> RenderContext:
        interval = float(job.options.get("progress_interval_s", DEFAULT_PROGRESS_INTERVAL_S))
        size = int(job.options.get("preview_size", DEFAULT_PREVIEW_SIZE))
        last = [0.0]

        def on_progress(report: Progress, eta: float | None) -> None:
            now = time.monotonic()
            fields = {
                "step": report.step, "total": report.total, "chunk": report.chunk, "chunks": report.chunks,
                "frames_done": report.frames_done, "frames_total": report.frames_total,
                "fraction": round(report.fraction, 4), "eta_s": None if eta is None else round(eta, 2),
                "message": report.message,
            }
            running = self._running
            if running is not None:
                running.progress = fields
            if now - last[0] < interval and report.fraction < 1.0:
                return
            last[0] = now
            self.event("progress", job.job_id, **fields)

        def on_preview(frame: Any) -> None:
            data = encode_jpeg(frame, max_side=size)
            self.event("preview", job.job_id, jpeg=base64.b64encode(data).decode("ascii"),
                       width=int(frame.shape[1]), height=int(frame.shape[0]))

        def on_log(level: str, message: str) -> None:
            self.event("log", job.job_id, level=level, message=message)

        return RenderContext(cancel=token, on_progress=on_progress, on_preview=on_preview, on_log=on_log)

    # ----------------------------------------------------------------- backends
    def _backend_for(self, job: JobSpec) -> Backend:
        """The warm backend for ``job``, (re)loading it when its load key changed."""
        if job.backend not in self._allowed:
            raise BackendUnavailable(f"backend {job.backend!r} is not enabled in this engine")
        warm = self._warm.get(job.backend)
        if warm is not None:
            key = warm.backend.load_key(job)
            if key == warm.key:
                return warm.backend
            self.event("log", job.job_id, level="info", message=f"reloading {job.backend} for {key}")
            self._unload(job.backend)
        cls = backend_class(job.backend)
        caps = cls.capabilities(dict(job.options))
        if not caps.available:
            raise BackendUnavailable(f"backend {job.backend!r} is not available: {caps.reason}", hint=caps.reason)
        self._relieve_memory(keep=job.backend)
        backend = cls()
        key = backend.load_key(job)
        backend.load(dict(job.options))
        with self._cond:  # status requests read the warm set from the reader thread
            self._loads += 1
            self._warm[job.backend] = _Warm(backend, key, (warm.loads + 1) if warm else 1)
        return backend

    def _unload(self, name: str) -> None:
        with self._cond:
            warm = self._warm.pop(name, None)
        if warm is None:
            return
        try:
            warm.backend.unload()
        except Exception as exc:  # noqa: BLE001 - unloading must not fail the engine
            log.warning("unloading %s failed: %s", name, exc)
        release_cached_gpu_memory()

    def _unload_all(self, reason: str, keep: str | None = None) -> list[str]:
        with self._cond:
            names = [n for n in list(self._warm) if n != keep]
        for name in names:
            self._unload(name)
        if names:
            self.event("log", None, level="info", message=f"unloaded {', '.join(names)} ({reason})")
        return names

    def _under_pressure(self) -> bool:
        mem = memory_info(include_vram=self.min_free_vram_mb > 0)
        ram, vram = mem["ram_free_mb"], mem["vram_free_mb"]
        return (ram is not None and ram < self.min_free_ram_mb) or (
            vram is not None and self.min_free_vram_mb > 0 and vram < self.min_free_vram_mb
        )

    def _relieve_memory(self, keep: str | None = None) -> None:
        if self._warm and self._under_pressure():
            self._unload_all("memory pressure", keep=keep)

    def _after_job(self) -> None:
        with self._cond:
            requested, self._unload_after_job = self._unload_after_job, False
        if requested:
            self._unload_all("requested")
        else:
            self._relieve_memory()


def run_server(
    journal_dir: str | None = None,
    backends: list[str] | None = None,
    min_free_ram_mb: float = 512.0,
    min_free_vram_mb: float = 0.0,
    probe_wait_s: float = DEFAULT_PROBE_WAIT_S,
    out: IO[bytes] | None = None,
) -> int:
    """Entry point of ``python -m engine serve``: claim stdout, then serve stdin until told to stop."""
    if out is None:
        out = protocol.claim_stdout()
    logging.basicConfig(
        stream=sys.stderr, level=os.environ.get("SOUL_ENGINE_LOG", "WARNING").upper(),
        format="engine %(levelname)s %(name)s: %(message)s",
    )
    server = EngineServer(out, journal_dir, backends, min_free_ram_mb, min_free_vram_mb, probe_wait_s=probe_wait_s)

    def on_term(signum: int, frame: Any) -> None:  # a polite kill keeps the queue for the next engine
        threading.Thread(target=server.stop, kwargs={"keep_queue": True}, daemon=True).start()

    signal.signal(signal.SIGTERM, on_term)
    try:
        return server.serve(sys.stdin.buffer)
    except Exception as exc:  # noqa: BLE001 - the last word goes to stderr for the studio to show
        print(f"engine failed to start: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
