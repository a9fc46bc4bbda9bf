"""The sketch backend: an embedded CPU animatic of a portrait speaking its dialogue.

``face`` analyses a portrait (also for the Cast panel: :func:`analyse_portrait`) from
MediaPipe's face mesh (``mesh``, cached by ``mesh_cache``; ``haar`` as the last fallback),
``audio`` turns dialogue into per-frame mouth controls, ``motion`` plans blinks and head
motion, ``lips``/``lids`` are the mesh-driven warps (``mouth``/``eyes`` the box-driven
ones for pictures without a mesh), ``head`` moves the head, ``framing`` crops the shot and
``backend`` ties them into :class:`~engine.backends.sketch.backend.SketchBackend`.
"""

from engine.backends.sketch.box import Box
from engine.backends.sketch.face import FaceAnalysis, FaceNotFoundError, analyse_portrait, require_mouth

__all__ = ["Box", "FaceAnalysis", "FaceNotFoundError", "analyse_portrait", "require_mouth"]
