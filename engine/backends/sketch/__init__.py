"""The sketch backend: an embedded CPU animatic of a portrait speaking its dialogue.

``face`` analyses a portrait (also for the Cast panel: :func:`analyse_portrait`),
``audio`` turns dialogue into per-frame mouth controls, ``motion`` plans blinks and head
motion, ``mouth``/``eyes``/``head`` are the warps, ``framing`` crops the shot and
``backend`` ties them into :class:`~engine.backends.sketch.backend.SketchBackend`.
"""

from engine.backends.sketch.face import Box, FaceAnalysis, FaceNotFoundError, analyse_portrait, require_mouth

__all__ = ["Box", "FaceAnalysis", "FaceNotFoundError", "analyse_portrait", "require_mouth"]
