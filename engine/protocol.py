"""The messages that cross the boundary between the studio and the engine process.

Transport: JSON lines over the engine's stdio. Each message is one UTF-8 JSON object on
one line (``json.dumps`` never emits a raw newline), terminated by ``\\n``. The studio
writes requests to the engine's stdin; the engine writes replies and events to its
stdout and nothing else (stray prints and logging go to stderr, see
:func:`claim_stdout`). Every message carries ``"v": PROTOCOL_VERSION``.

Requests (studio → engine), each with a client-chosen integer ``id``::

    {"v": 1, "id": 1, "op": "hello", "protocol": 1, "client": "soul-studio 0.1.0", "resume": false}
    {"v": 1, "id": 2, "op": "submit", "job": {...JobSpec.to_dict()...}}
    {"v": 1, "id": 3, "op": "cancel", "job_id": "..."}
    {"v": 1, "id": 4, "op": "set_priority", "job_id": "...", "priority": 5}
    {"v": 1, "id": 5, "op": "status"}
    {"v": 1, "id": 6, "op": "unload"}
    {"v": 1, "id": 7, "op": "shutdown", "keep_queue": false}

``hello`` must come first. Its reply carries the engine and protocol versions, the
backends with their capabilities and devices, free RAM/VRAM in MiB and the ids of jobs
recovered from the journal (``resume: true`` re-queues what a dead engine left behind).
A ``hello`` whose ``protocol`` differs from the engine's is answered with an error of
type ``ProtocolMismatch`` carrying both versions; the client raises
:class:`ProtocolMismatch`. Submitting a job id the engine already holds is a no-op, so a
client may re-submit freely after a restart.

Replies (engine → studio), exactly one per request::

    {"v": 1, "type": "reply", "id": 2, "ok": true, "result": {...}}
    {"v": 1, "type": "reply", "id": 2, "ok": false, "error": {"type": "JobSpecError", "message": "...", "hint": "..."}}

Events (engine → studio), in the order they happen, numbered by ``seq``::

    {"v": 1, "type": "event", "kind": "progress", "job_id": "...", "seq": 12, "time": 1700000000.0, ...}

Event kinds and their fields:

- ``queued``: shot_id, quality, priority, position (0 = next to run)
- ``started``: shot_id, quality, backend, attempt
- ``progress``: step, total, chunk, chunks, frames_done, frames_total, fraction, eta_s, message
- ``preview``: jpeg (base64 JPEG, a few KiB), width, height
- ``done``: take_path, sidecar_path, frame_count, elapsed_s, reused
- ``failed``: error_type, message, hint
- ``cancelled``: reason (``cancelled``, ``superseded``, ``shutdown``)
- ``log``: level, message (job_id may be null)
- ``backends``: backends (the full list, sent once when probing a slow backend
  outlasted ``hello``, whose list then marks it ``"probing": true``)

The client adds kinds of its own for the process' life: ``engine_stopped``,
``engine_restarted`` and ``engine_failed`` (see :mod:`soul_studio.engine_client`).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

PROTOCOL_VERSION = 1

REQUESTS: tuple[str, ...] = ("hello", "submit", "cancel", "set_priority", "status", "unload", "shutdown")
EVENTS: tuple[str, ...] = ("queued", "started", "progress", "preview", "done", "failed", "cancelled", "log", "backends")
TERMINAL: frozenset[str] = frozenset({"done", "failed", "cancelled"})

# Longest line either side accepts; a preview is a few KiB, a JobSpec well under 64 KiB.
MAX_LINE_BYTES = 8 * 1024 * 1024


class ProtocolError(RuntimeError):
    """A line that is not a valid protocol message."""


class ProtocolMismatch(ProtocolError):
    """The studio and the engine speak different protocol versions."""

    def __init__(self, client_version: int | None, engine_version: int | None, detail: str = "") -> None:
        self.client_version = client_version
        self.engine_version = engine_version
        text = (
            f"engine protocol version {engine_version} does not match the studio's version {client_version}; "
            "install the engine that ships with this studio"
        )
        if detail:
            text += f" ({detail})"
        super().__init__(text)


class RemoteError(RuntimeError):
    """A request the engine answered with ``ok: false``."""

    def __init__(self, error_type: str, message: str, hint: str = "") -> None:
        self.error_type = error_type
        self.hint = hint
        super().__init__(f"{error_type}: {message}" + (f" ({hint})" if hint else ""))
        self.message = message


@dataclass(frozen=True)
class Event:
    """One event as the studio sees it: ``kind``, the job it concerns and its fields."""

    kind: str
    job_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    seq: int = 0
    time: float = 0.0

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    @property
    def terminal(self) -> bool:
        """True for ``done``, ``failed`` and ``cancelled``: the job is over."""
        return self.kind in TERMINAL

    @classmethod
    def from_message(cls, msg: dict[str, Any]) -> Event:
        data = {k: v for k, v in msg.items() if k not in ("v", "type", "kind", "job_id", "seq", "time")}
        return cls(str(msg["kind"]), msg.get("job_id"), data, int(msg.get("seq", 0)), float(msg.get("time", 0.0)))


# --------------------------------------------------------------------- encode
def encode(msg: dict[str, Any]) -> bytes:
    """One message as a line of bytes, stamped with the protocol version."""
    body = {"v": PROTOCOL_VERSION, **msg}
    return (json.dumps(body, separators=(",", ":"), default=_json_default) + "\n").encode("utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if hasattr(value, "__fspath__"):
        return os.fspath(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def request(req_id: int, op: str, **fields: Any) -> dict[str, Any]:
    if op not in REQUESTS:
        raise ProtocolError(f"unknown request {op!r}")
    return {"id": req_id, "op": op, **fields}


def reply(req_id: Any, result: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "reply", "id": req_id, "ok": True, "result": result or {}}


def error_reply(req_id: Any, error_type: str, message: str, hint: str = "", **extra: Any) -> dict[str, Any]:
    return {"type": "reply", "id": req_id, "ok": False, "error": {"type": error_type, "message": message, "hint": hint, **extra}}


def event(kind: str, job_id: str | None = None, **fields: Any) -> dict[str, Any]:
    return {"type": "event", "kind": kind, "job_id": job_id, "time": time.time(), **fields}


# --------------------------------------------------------------------- decode
class OversizedLine(bytes):
    """Stands for a line longer than the limit; its bytes were skipped, never held in memory."""

    length: int = 0

    def __new__(cls, length: int) -> OversizedLine:
        line = super().__new__(cls, b"<oversized line>")
        line.length = length
        return line


def read_lines(stream: IO[bytes], limit: int | None = None) -> Iterator[bytes]:
    """The lines of ``stream``, each at most ``limit`` bytes held at once.

    A longer line is read through in pieces of ``limit`` bytes and dropped; an
    :class:`OversizedLine` takes its place, which :func:`decode` refuses with its length.
    """
    limit = MAX_LINE_BYTES if limit is None else limit
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        if len(line) <= limit or line.endswith(b"\n") and len(line) == limit + 1:
            yield line
            continue
        length = len(line)
        while not line.endswith(b"\n"):
            line = stream.readline(limit + 1)
            if not line:
                break
            length += len(line)
        yield OversizedLine(length)


def decode(line: bytes | str) -> dict[str, Any]:
    """Parse one line; raise :class:`ProtocolError` for anything but a versioned JSON object."""
    if isinstance(line, OversizedLine):
        raise ProtocolError(f"line of {line.length} bytes is longer than {MAX_LINE_BYTES}")
    if isinstance(line, bytes):
        if len(line) > MAX_LINE_BYTES:
            raise ProtocolError(f"line of {len(line)} bytes is longer than {MAX_LINE_BYTES}")
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"line is not UTF-8: {preview_text(line)}") from exc
    text = line.strip()
    try:
        msg = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"not a JSON line: {preview_text(text)}") from exc
    if not isinstance(msg, dict):
        raise ProtocolError(f"not a JSON object: {preview_text(text)}")
    if "v" not in msg:
        raise ProtocolError(f"message has no protocol version: {preview_text(text)}")
    return msg


def check_version(msg: dict[str, Any], ours: int = PROTOCOL_VERSION) -> None:
    """Raise :class:`ProtocolMismatch` when ``msg`` was written for another protocol version."""
    theirs = msg.get("v")
    if theirs != ours:
        raise ProtocolMismatch(ours, theirs if isinstance(theirs, int) else None)


def preview_text(data: bytes | str, limit: int = 120) -> str:
    """A short, printable excerpt of a bad line for error messages."""
    if isinstance(data, bytes):
        data = data.decode("utf-8", errors="replace")
    data = data.strip()
    return repr(data if len(data) <= limit else data[:limit] + "…")


# -------------------------------------------------------------------- stdout
def claim_stdout() -> IO[bytes]:
    """Reserve the real stdout for protocol lines and point fd 1 at stderr.

    Anything a library prints afterwards (Python ``print`` or C code writing to fd 1)
    lands on stderr, so stdout carries nothing but protocol lines. Returns a binary
    stream on the original stdout.
    """
    sys.stdout.flush()
    proto_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(proto_fd, "wb", buffering=0)
