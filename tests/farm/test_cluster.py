"""Joining a cluster: clear errors when Ray or Ray Client is missing."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from soul_studio.farm.cluster import FarmError, connect, import_ray


def test_missing_ray_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    with pytest.raises(FarmError) as exc:
        import_ray()
    assert "soul-studio[farm]" in exc.value.hint


@pytest.mark.skipif(importlib.util.find_spec("grpc") is not None, reason="Ray Client is installed here")
def test_ray_client_address_without_grpc_is_refused_before_connecting():
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        pytest.skip("a Ray session is already open in this process")
    with pytest.raises(FarmError, match="Ray Client") as exc:
        connect("ray://127.0.0.1:10001")
    assert "soul-studio[farm]" in exc.value.hint
    assert not ray.is_initialized()
