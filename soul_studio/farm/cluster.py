"""Joining a Ray cluster: a local one started here, or an existing one by address.

``local`` starts a private single-machine cluster (bounded CPUs, no dashboard);
``ray://HOST:PORT`` connects through Ray Client; ``auto`` or ``HOST:PORT`` joins a
cluster this machine is part of. Workers on other machines need Soul Studio's engine
installed (or ``ship_engine=True``, which uploads the ``engine`` package with the job)
and must see the project's folder at the same path (shared storage).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class FarmError(RuntimeError):
    """The farm cannot be used; the message says why and ``hint`` what to do."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


@dataclass
class ClusterInfo:
    """What the driver learned when it joined the cluster."""

    address: str
    owned: bool
    cpus: float = 0.0
    gpus: float = 0.0
    nodes: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"address": self.address, "owned": self.owned, "cpus": self.cpus, "gpus": self.gpus,
                "nodes": self.nodes, **self.extra}


def import_ray() -> Any:
    """The ``ray`` module, or a :class:`FarmError` saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise FarmError("Ray is not installed", hint="install the farm extra: pip install 'soul-studio[farm]'") from exc
    return ray


def _engine_package_dir() -> str:
    import engine

    return str(Path(engine.__file__).resolve().parent)


def connect(address: str = "local", num_cpus: int | None = None, num_gpus: int | None = None,
            ship_engine: bool = False) -> ClusterInfo:
    """Join (or start) the cluster named by ``address``; reuses a Ray session already open."""
    ray = import_ray()
    owned = False
    if address.startswith("ray://") and not ray.is_initialized() and importlib.util.find_spec("grpc") is None:
        raise FarmError("connecting to ray:// addresses needs Ray Client (grpcio), which is not installed",
                        hint="install the farm extra: pip install 'soul-studio[farm]' (or 'ray[client]')")
    if not ray.is_initialized():
        runtime_env: dict[str, Any] = {}
        if ship_engine:
            runtime_env["py_modules"] = [_engine_package_dir()]
        kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": "warning",
                                  "configure_logging": True, "log_to_driver": False}
        if runtime_env:
            kwargs["runtime_env"] = runtime_env
        try:
            if address in ("local", ""):
                cpus = num_cpus if num_cpus is not None else max(1, min(os.cpu_count() or 1, 8))
                ray.init(num_cpus=cpus, num_gpus=num_gpus, **kwargs)
            else:
                ray.init(address=address, **kwargs)
        except Exception as exc:  # noqa: BLE001 - any failure to join is reported the same way
            raise FarmError(f"cannot join the Ray cluster at {address!r}: {exc}",
                            hint="start it with `ray start --head` and pass ray://HOST:10001, or use --farm local") from exc
        owned = True
    resources = ray.cluster_resources()
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    return ClusterInfo(address=address, owned=owned, cpus=float(resources.get("CPU", 0.0)),
                       gpus=float(resources.get("GPU", 0.0)), nodes=len(nodes))


def disconnect(info: ClusterInfo) -> None:
    """Leave the cluster if this driver started the Ray session."""
    if not info.owned:
        return
    ray = import_ray()
    if ray.is_initialized():
        ray.shutdown()
