"""Generators that turn a JobSpec into frames. See :mod:`engine.backends.base`."""

from __future__ import annotations

from engine.backends.base import Backend, BackendError, BackendUnavailable

# name -> "module:Class"; imported lazily so the sketch backend never pays for torch.
BACKENDS: dict[str, str] = {
    "test": "engine.backends.testing:TestBackend",
    "sketch": "engine.backends.sketch.backend:SketchBackend",
    "soul": "engine.backends.soul.backend:SoulBackend",
    "infinitetalk": "engine.backends.infinitetalk.backend:InfiniteTalkBackend",
}


def backend_class(name: str) -> type[Backend]:
    """Import and return the backend class registered as ``name``."""
    import importlib

    try:
        target = BACKENDS[name]
    except KeyError:
        raise BackendUnavailable(
            f"unknown backend {name!r}", hint=f"choose one of {', '.join(sorted(BACKENDS))}"
        ) from None
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise BackendUnavailable(f"backend {name!r} cannot be imported: {exc}") from exc
    return getattr(module, class_name)


__all__ = ["BACKENDS", "Backend", "BackendError", "BackendUnavailable", "backend_class"]
