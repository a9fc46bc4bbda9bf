"""The wire format: versioned JSON lines, clear errors for anything else."""

from __future__ import annotations

import json

import pytest

from engine import protocol
from engine.protocol import Event, ProtocolError, ProtocolMismatch


def test_messages_are_single_versioned_json_lines():
    line = protocol.encode(protocol.event("log", "j1", level="info", message="two\nlines"))
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    msg = protocol.decode(line)
    assert msg["v"] == protocol.PROTOCOL_VERSION
    event = Event.from_message(msg)
    assert (event.kind, event.job_id, event.get("message")) == ("log", "j1", "two\nlines")
    assert not event.terminal and Event("done", "j1").terminal


@pytest.mark.parametrize("line", [b"hello world\n", b"[1, 2]\n", b'{"op": "hello"}\n', b"\xff\xfe\n"])
def test_garbage_lines_raise_protocol_error_quoting_the_line(line):
    with pytest.raises(ProtocolError) as info:
        protocol.decode(line)
    assert not isinstance(info.value, ProtocolMismatch)


def test_version_mismatch_names_both_versions():
    msg = protocol.decode(json.dumps({"v": 99, "type": "reply"}))
    with pytest.raises(ProtocolMismatch) as info:
        protocol.check_version(msg)
    assert info.value.engine_version == 99
    assert info.value.client_version == protocol.PROTOCOL_VERSION
    assert "99" in str(info.value) and str(protocol.PROTOCOL_VERSION) in str(info.value)


def test_unknown_request_is_refused_before_sending():
    with pytest.raises(ProtocolError):
        protocol.request(1, "format_disk")
    assert protocol.request(3, "cancel", job_id="x") == {"id": 3, "op": "cancel", "job_id": "x"}
