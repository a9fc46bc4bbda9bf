"""Mouth shapes: the Preston Blair / Rhubarb set and the lip pose each one stands for.

Animators draw speech with nine mouths. Each phone of the CMU (ARPAbet) set maps to one
of them, and each mouth to a pose the renderer can reach with the lips of a photograph:
how far the jaw drops (``open``), whether the corners spread or purse (``width``), whether
the lips press shut (``press``, M/B/P) and whether the lower lip tucks under the teeth
(``tuck``, F/V). Diphthongs glide from one mouth to the next.
"""

from __future__ import annotations

from dataclasses import dataclass

# X rest, A closed (M B P), B slightly open (most consonants, EE), C open (EH AE),
# D wide open (AA), E rounded (AO ER), F puckered (UW OW W), G F/V, H L.
SHAPES: tuple[str, ...] = ("X", "A", "B", "C", "D", "E", "F", "G", "H")
SHAPE_X, SHAPE_A, SHAPE_B, SHAPE_C, SHAPE_D, SHAPE_E, SHAPE_F, SHAPE_G, SHAPE_H = range(9)


@dataclass(frozen=True)
class Pose:
    """Lip controls of one mouth shape (same ranges as :class:`MouthTrack`)."""

    open: float = 0.0  # 0 shut .. 1 jaw fully dropped
    width: float = 0.0  # -1 pursed/round .. +1 spread
    press: float = 0.0  # 1: lips pressed together
    tuck: float = 0.0  # 1: lower lip under the upper teeth


POSES: dict[int, Pose] = {
    SHAPE_X: Pose(0.0, 0.0),
    SHAPE_A: Pose(0.0, 0.0, press=1.0),
    SHAPE_B: Pose(0.22, 0.45),
    SHAPE_C: Pose(0.55, 0.3),
    SHAPE_D: Pose(0.95, 0.1),
    SHAPE_E: Pose(0.5, -0.45),
    SHAPE_F: Pose(0.22, -0.95),
    SHAPE_G: Pose(0.1, 0.1, tuck=1.0),
    SHAPE_H: Pose(0.42, 0.15),
}

# ARPAbet phone (stress digits stripped) -> shapes it passes through (two for diphthongs).
PHONE_SHAPES: dict[str, tuple[int, ...]] = {
    "AA": (SHAPE_D,), "AE": (SHAPE_C,), "AH": (SHAPE_C,), "AO": (SHAPE_E,),
    "AW": (SHAPE_D, SHAPE_F), "AY": (SHAPE_D, SHAPE_B), "EH": (SHAPE_C,), "ER": (SHAPE_E,),
    "EY": (SHAPE_C, SHAPE_B), "IH": (SHAPE_B,), "IY": (SHAPE_B,), "OW": (SHAPE_E, SHAPE_F),
    "OY": (SHAPE_E, SHAPE_B), "UH": (SHAPE_F,), "UW": (SHAPE_F,),
    "B": (SHAPE_A,), "M": (SHAPE_A,), "P": (SHAPE_A,),
    "F": (SHAPE_G,), "V": (SHAPE_G,),
    "L": (SHAPE_H,),
    "W": (SHAPE_F,), "R": (SHAPE_E,),
    "CH": (SHAPE_B,), "JH": (SHAPE_B,), "SH": (SHAPE_B,), "ZH": (SHAPE_B,),
    "D": (SHAPE_B,), "T": (SHAPE_B,), "N": (SHAPE_B,), "S": (SHAPE_B,), "Z": (SHAPE_B,),
    "K": (SHAPE_B,), "G": (SHAPE_B,), "NG": (SHAPE_B,), "TH": (SHAPE_B,), "DH": (SHAPE_B,),
    "Y": (SHAPE_B,), "HH": (SHAPE_C,),
}
# Phones that borrow the mouth of the sound that follows (the lips get there early).
TRANSPARENT: frozenset[str] = frozenset({"HH"})
VOWELS: frozenset[str] = frozenset({"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY",
                                    "OW", "OY", "UH", "UW"})


def base_phone(name: str) -> str:
    """``"AH0"`` -> ``"AH"``; noise and silence markers (``SIL``, ``+NSN+``) come back as ``"SIL"``."""
    p = name.strip().upper().rstrip("012")
    return p if p in PHONE_SHAPES else "SIL"


def phone_shapes(name: str) -> tuple[int, ...]:
    """The mouth shapes a phone passes through; rest (``X``) for silence and noise."""
    return PHONE_SHAPES.get(base_phone(name), (SHAPE_X,))


def shape_string(codes: object) -> str:
    """One letter per frame, e.g. ``"XXXAABBCCX"`` (compact for the take sidecar)."""
    return "".join(SHAPES[int(c)] for c in codes)  # type: ignore[attr-defined]


__all__ = ["PHONE_SHAPES", "POSES", "SHAPES", "SHAPE_A", "SHAPE_B", "SHAPE_C", "SHAPE_D", "SHAPE_E", "SHAPE_F",
           "SHAPE_G", "SHAPE_H", "SHAPE_X", "TRANSPARENT", "VOWELS", "Pose", "base_phone", "phone_shapes",
           "shape_string"]
