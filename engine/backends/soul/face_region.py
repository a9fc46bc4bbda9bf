"""Where the face is in a frame, for the position-aware codebook (normalised x0, y0, x1, y1).

Uses the sketch backend's face analysis (MediaPipe face mesh, with its own fallbacks)
through its public function; any failure means "no face known", never an error, since
the codebook then simply treats every token alike.
"""

from __future__ import annotations

import numpy as np

Box = tuple[float, float, float, float]


def find_face_box(frame: np.ndarray) -> Box | None:
    """Normalised (x0, y0, x1, y1) of the surest face in ``frame`` (H×W×3 uint8), or None."""
    try:
        from engine.backends.sketch.face import analyse_portrait

        analysis = analyse_portrait(np.ascontiguousarray(frame), use_cache=False)
    except Exception:  # noqa: BLE001 - a missing detector or odd picture only loses the face region
        return None
    if analysis.face is None:
        return None
    x, y, w, h = analysis.face.normalised(analysis.width, analysis.height)
    return (max(0.0, x), max(0.0, y), min(1.0, x + w), min(1.0, y + h))
