"""Procedural media made from nothing but a seed: painted portraits, still lifes, speech.

Demos, tests and benchmarks need faces and dialogue without downloading anything or
shipping licensed photos. The portraits are painted with soft-shaded layers (skin form,
eye sockets, nose and lip shading) so that OpenCV's frontal-face Haar cascade finds
them the way it finds a photographed face; the speech is a glottal pulse train filtered
by formant resonances, so its loudness, voicing and spectral shape behave like a voice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from engine.media.audio import AudioClip

# ------------------------------------------------------------------ palettes
_SKINS = [(236, 200, 170), (224, 178, 142), (198, 146, 108), (160, 110, 78), (120, 80, 56), (245, 214, 190)]
_HAIRS = [(40, 28, 22), (86, 56, 34), (150, 104, 58), (196, 160, 100), (24, 22, 24), (120, 50, 30), (170, 170, 170)]
_IRISES = [(70, 110, 160), (90, 70, 40), (60, 110, 70), (110, 80, 50), (50, 40, 30), (100, 130, 140)]
_CLOTHES = [(40, 60, 110), (120, 40, 50), (60, 90, 60), (200, 190, 170), (50, 50, 55), (150, 110, 60)]
_BACKDROPS = [
    ((70, 90, 120), (20, 30, 50)),
    ((150, 140, 120), (70, 60, 50)),
    ((90, 120, 100), (30, 45, 40)),
    ((130, 100, 110), (50, 35, 45)),
    ((170, 170, 175), (90, 90, 100)),
]
HAIR_STYLES = ("short", "long", "bob")


@dataclass
class PortraitLandmarks:
    """Where the painter put the features, in pixels: the ground truth for tests."""

    face_box: tuple[int, int, int, int]  # x, y, w, h of the skin oval (chin to hairline)
    left_eye: tuple[float, float]
    right_eye: tuple[float, float]
    mouth: tuple[float, float]  # centre of the lip seam
    mouth_size: tuple[float, float]  # lip width, lip height (both lips)
    nose_tip: tuple[float, float]
    extras: dict[str, object] = field(default_factory=dict)


# ------------------------------------------------------------------ painting helpers
def _soft_mask(shape: tuple[int, int], draw: object, blur: float) -> np.ndarray:
    """Rasterise with ``draw(mask)`` at 255 and feather it: a float mask in [0, 1]."""
    mask = np.zeros(shape, np.uint8)
    draw(mask)  # type: ignore[operator]
    m = mask.astype(np.float32) / 255.0
    if blur > 0:
        m = cv2.GaussianBlur(m, (0, 0), blur)
    return m


def _paint(canvas: np.ndarray, mask: np.ndarray, colour: object, strength: float = 1.0) -> None:
    """Alpha-blend ``colour`` (RGB triple or H×W×3 field) into ``canvas`` through ``mask``."""
    a = (mask * strength)[..., None]
    col = np.asarray(colour, np.float32)
    canvas *= 1.0 - a
    canvas += a * col


def _shade(canvas: np.ndarray, mask: np.ndarray, factor: float) -> None:
    """Multiply ``canvas`` by ``factor`` where ``mask`` is 1 (darken < 1 < lighten)."""
    canvas *= (1.0 + (factor - 1.0) * mask)[..., None]


def _ellipse(center: tuple[float, float], axes: tuple[float, float], angle: float = 0.0) -> object:
    c = (int(round(center[0])), int(round(center[1])))
    ax = (max(1, int(round(axes[0]))), max(1, int(round(axes[1]))))
    return lambda m: cv2.ellipse(m, c, ax, angle, 0, 360, 255, -1, cv2.LINE_AA)


def _poly(points: np.ndarray) -> object:
    pts = np.round(points).astype(np.int32).reshape(-1, 1, 2)
    return lambda m: cv2.fillPoly(m, [pts], 255, cv2.LINE_AA)


def _polyline(points: np.ndarray, thickness: float) -> object:
    pts = np.round(points).astype(np.int32).reshape(-1, 1, 2)
    t = max(1, int(round(thickness)))
    return lambda m: cv2.polylines(m, [pts], False, 255, t, cv2.LINE_AA)


def _strands(shape: tuple[int, int], rng: np.random.Generator, crown: tuple[float, float], spread: float,
             count: int, step: float, steps: tuple[int, int]) -> np.ndarray:
    """Hair strands combed out from the crown and bending down under gravity: a mask in [0, 1]."""
    canvas = np.zeros(shape, np.uint8)
    for _ in range(count):
        phi = float(rng.uniform(-1.5, 1.5))  # direction from straight down, radians
        x = crown[0] + float(rng.normal(0, 0.08)) * spread
        y = crown[1] + abs(float(rng.normal(0, 0.04))) * spread
        pts = [(x, y)]
        for _k in range(int(rng.integers(*steps))):
            x, y = x + step * np.sin(phi), y + step * np.cos(phi)
            phi *= 0.93  # gravity pulls every strand towards vertical
            pts.append((x, y))
        arr = np.round(np.array(pts)).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(canvas, [arr], False, int(rng.integers(60, 255)), 1, cv2.LINE_AA)
    return cv2.GaussianBlur(canvas.astype(np.float32) / 255.0, (0, 0), 0.5)


def _jitter(rng: np.random.Generator, colour: tuple[int, int, int], amount: float) -> np.ndarray:
    return np.clip(np.asarray(colour, np.float32) + rng.normal(0, amount, 3), 0, 255)


# ------------------------------------------------------------------ portrait
def draw_portrait(
    seed: int,
    size: tuple[int, int] = (512, 512),
    hair_style: str | None = None,
    return_landmarks: bool = False,
) -> np.ndarray | tuple[np.ndarray, PortraitLandmarks]:
    """Paint a head-and-shoulders portrait (RGB uint8, ``size`` = (W, H)); each seed a new look.

    With ``return_landmarks`` the painter's feature positions come back too.
    """
    W, H = int(size[0]), int(size[1])
    rng = np.random.default_rng(seed)
    s = min(W, H)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    shape = (H, W)

    skin = _jitter(rng, _SKINS[rng.integers(len(_SKINS))], 6)
    hair = _jitter(rng, _HAIRS[rng.integers(len(_HAIRS))], 8)
    iris = _jitter(rng, _IRISES[rng.integers(len(_IRISES))], 10)
    cloth = _jitter(rng, _CLOTHES[rng.integers(len(_CLOTHES))], 10)
    bg_top, bg_bottom = _BACKDROPS[rng.integers(len(_BACKDROPS))]
    style = hair_style or HAIR_STYLES[rng.integers(len(HAIR_STYLES))]
    lip_tint = float(rng.uniform(0.25, 0.55))

    fa = 0.165 * s * float(rng.uniform(0.92, 1.06))  # half width of the skull
    fb = fa * float(rng.uniform(1.30, 1.40))  # half height, crown to chin
    cx = W / 2 + float(rng.uniform(-0.02, 0.02)) * s
    cy = H * 0.46 + float(rng.uniform(-0.015, 0.015)) * s

    # ---- background: vertical gradient, a light pool behind the head, soft bokeh
    t = (yy / max(1, H - 1))[..., None]
    canvas = (1 - t) * np.asarray(bg_top, np.float32) + t * np.asarray(bg_bottom, np.float32)
    glow = np.exp(-(((xx - cx) / (0.6 * s)) ** 2 + ((yy - cy) / (0.55 * s)) ** 2))
    canvas *= (0.8 + 0.35 * glow)[..., None]
    for _ in range(int(rng.integers(3, 7))):
        bx, by = rng.uniform(0, W), rng.uniform(0, H * 0.6)
        br = rng.uniform(0.03, 0.09) * s
        _paint(canvas, _soft_mask(shape, _ellipse((bx, by), (br, br)), br * 0.4), (235, 230, 210), 0.12)

    hair_seen = np.zeros(shape, np.float32)  # where hair shows, for the strand texture

    def cover(mask: np.ndarray, is_hair: bool) -> None:
        nonlocal hair_seen
        hair_seen = hair_seen * (1 - mask) + (mask if is_hair else 0)

    # ---- long hair falls behind the shoulders
    if style == "long":
        yb = np.linspace(cy - 0.35 * fb, cy + 1.75 * fb, 24)
        spread = 1.08 + 0.22 * np.clip((yb - (cy - 0.35 * fb)) / (1.6 * fb), 0, 1) ** 0.7
        ends = cy + 1.75 * fb - 0.15 * fb * np.sin(np.linspace(0, np.pi, 24))
        back = np.concatenate([np.stack([cx - spread * fa, yb], 1),
                               np.stack([np.linspace(cx - 1.3 * fa, cx + 1.3 * fa, 24), ends], 1),
                               np.stack([cx + spread[::-1] * fa, yb[::-1]], 1)])
        back_mask = _soft_mask(shape, _poly(back), 0.006 * s)
        _paint(canvas, back_mask, hair * 0.72)
        cover(back_mask, True)

    # ---- shoulders and clothing
    shoulder_y = cy + 1.4 * fb
    sx = np.linspace(0, 1, 16)
    slope = np.stack([cx + (0.45 + 1.95 * sx) * fa, shoulder_y + (0.05 + 0.5 * sx**1.6) * fb], 1)
    body = np.concatenate([slope[::-1] * [-1, 1] + [2 * cx, 0], slope, [[cx + 2.7 * fa, H + 10], [cx - 2.7 * fa, H + 10]]])
    torso = _soft_mask(shape, _poly(body), 0.006 * s)
    side_light = np.clip(0.78 + 0.3 * (1 - (xx - cx + fa) / (4 * fa)), 0.6, 1.1)
    cloth_field = np.asarray(cloth, np.float32) * side_light[..., None]
    _paint(canvas, torso, cloth_field)
    cover(torso, False)
    for side in (-1, 1):  # soft folds where the sleeves meet the chest
        fold = np.array([[cx + side * 1.4 * fa, shoulder_y + 0.6 * fb], [cx + side * 1.2 * fa, H]])
        _shade(canvas, _soft_mask(shape, _polyline(fold, 0.1 * fa), 0.08 * fa) * torso, 0.85)

    # ---- neck with a shadow under the jaw
    neck = np.array(
        [[cx - 0.44 * fa, cy + 0.5 * fb], [cx - 0.5 * fa, shoulder_y + 0.1 * fb], [cx, shoulder_y + 0.35 * fb],
         [cx + 0.5 * fa, shoulder_y + 0.1 * fb], [cx + 0.44 * fa, cy + 0.5 * fb]]
    )
    neck_shade = np.clip(0.72 + 0.3 * (yy - (cy + fb)) / (0.6 * fb), 0.72, 0.95)
    neck_mask = _soft_mask(shape, _poly(neck), 0.004 * s)
    _paint(canvas, neck_mask, skin * neck_shade[..., None])
    cover(neck_mask, False)
    collar = np.array([[cx - 0.75 * fa, shoulder_y], [cx, shoulder_y + 0.55 * fb], [cx + 0.75 * fa, shoulder_y]])
    _paint(canvas, _soft_mask(shape, _polyline(collar, 0.012 * s), 1.5), cloth * 0.55, 0.8)

    # ---- ears
    for side in (-1, 1):
        ear = _soft_mask(shape, _ellipse((cx + side * 0.97 * fa, cy + 0.08 * fb), (0.14 * fa, 0.26 * fb)), 0.004 * s)
        _paint(canvas, ear, skin * 0.9)
        cover(ear, False)
        _shade(canvas, _soft_mask(shape, _ellipse((cx + side * 0.99 * fa, cy + 0.1 * fb), (0.06 * fa, 0.15 * fb)), 0.03 * fa), 0.8)

    # ---- hair volume behind the face
    hair_ax = (1.12 * fa, 1.08 * fb) if style != "bob" else (1.22 * fa, 1.1 * fb)
    hair_cy = cy - 0.1 * fb
    volume = _soft_mask(shape, _ellipse((cx, hair_cy), hair_ax), 0.008 * s)
    _paint(canvas, volume, hair * 0.85)
    cover(volume, True)
    if style == "bob":
        bob = np.array([[cx - 1.22 * fa, hair_cy], [cx - 1.15 * fa, cy + 0.75 * fb], [cx - 0.8 * fa, cy + 0.8 * fb],
                        [cx + 0.8 * fa, cy + 0.8 * fb], [cx + 1.15 * fa, cy + 0.75 * fb], [cx + 1.22 * fa, hair_cy]])
        bob_mask = _soft_mask(shape, _poly(bob), 0.008 * s)
        _paint(canvas, bob_mask, hair * 0.8)
        cover(bob_mask, True)

    # ---- face: an egg-shaped oval with a narrower jaw
    ang = np.linspace(0, 2 * np.pi, 180, endpoint=False)
    lower = np.clip(np.sin(ang), 0, None)
    face_pts = np.stack([cx + fa * np.cos(ang) * (1 - 0.22 * lower**2.2), cy + fb * np.sin(ang)], axis=1)
    face_mask = _soft_mask(shape, _poly(face_pts), 0.004 * s)
    nx, ny = (xx - cx) / fa, (yy - cy) / fb
    r2 = nx**2 + ny**2
    light = 1.0 - 0.08 * nx - 0.04 * ny - 0.24 * np.clip(r2, 0, 1.2) ** 2
    skin_field = skin[None, None, :] * light[..., None]
    blush = np.exp(-(((np.abs(xx - cx) - 0.55 * fa) / (0.22 * fa)) ** 2 + ((yy - (cy + 0.25 * fb)) / (0.16 * fb)) ** 2))
    skin_field = skin_field * (1 - 0.12 * blush[..., None]) + 0.12 * blush[..., None] * np.array([220, 120, 110])
    _paint(canvas, face_mask, skin_field)
    cover(face_mask, False)

    ey = cy - 0.02 * fb
    ex = 0.42 * fa
    ew, eh = 0.21 * fa, 0.085 * fa
    nose_y = cy + 0.36 * fb
    mouth_y = cy + 0.6 * fb
    mw = 0.38 * fa

    # ---- form shading: eye sockets, cheekbones, under-nose and under-lip shadows
    for side in (-1, 1):
        socket = _soft_mask(shape, _ellipse((cx + side * ex, ey - 0.02 * fb), (1.45 * ew, 0.95 * ew)), 0.35 * ew)
        _shade(canvas, socket * face_mask, 0.72)
        cheek = _soft_mask(shape, _ellipse((cx + side * 0.45 * fa, cy + 0.3 * fb), (0.3 * fa, 0.12 * fb)), 0.1 * fa)
        _shade(canvas, cheek * face_mask, 1.05)
    temple = np.clip((np.abs(nx) - 0.6) / 0.4, 0, 1) * np.clip(1 - np.abs(ny + 0.2) / 0.8, 0, 1)
    _shade(canvas, temple * face_mask, 0.85)
    forehead = _soft_mask(shape, _ellipse((cx - 0.1 * fa, cy - 0.5 * fb), (0.45 * fa, 0.18 * fb)), 0.12 * fa)
    _shade(canvas, forehead * face_mask, 1.06)

    # nose: bridge highlight, shadowed flank, nostril wings, nostrils, tip highlight
    bridge = np.array([[cx - 0.03 * fa, ey], [cx - 0.03 * fa, nose_y - 0.1 * fb]])
    _shade(canvas, _soft_mask(shape, _polyline(bridge, 0.07 * fa), 0.05 * fa), 1.08)
    flank = np.array([[cx + 0.1 * fa, ey + 0.05 * fb], [cx + 0.13 * fa, nose_y - 0.05 * fb], [cx + 0.16 * fa, nose_y]])
    _shade(canvas, _soft_mask(shape, _polyline(flank, 0.06 * fa), 0.05 * fa), 0.82)
    _shade(canvas, _soft_mask(shape, _ellipse((cx, nose_y + 0.06 * fb), (0.2 * fa, 0.05 * fb)), 0.05 * fa), 0.8)
    for side in (-1, 1):
        wing = _soft_mask(shape, _ellipse((cx + side * 0.13 * fa, nose_y), (0.07 * fa, 0.05 * fb)), 0.02 * fa)
        _shade(canvas, wing, 0.86)
        nostril = _soft_mask(shape, _ellipse((cx + side * 0.07 * fa, nose_y + 0.02 * fb), (0.04 * fa, 0.018 * fb), side * 15),
                             0.01 * fa)
        _paint(canvas, nostril, skin * 0.35, 0.85)
    _shade(canvas, _soft_mask(shape, _ellipse((cx - 0.02 * fa, nose_y - 0.04 * fb), (0.06 * fa, 0.04 * fb)), 0.03 * fa), 1.1)

    # lips: upper lip with a cupid's bow, fuller lower lip, a dark seam, a highlight
    lip_col = skin * (1 - lip_tint) + np.array([170, 60, 70]) * lip_tint
    u = np.linspace(-1, 1, 41)
    seam = mouth_y + 0.01 * fb * (1 - u**2)
    bow = 0.015 * fb * np.exp(-(u / 0.1) ** 2)  # the dip of the cupid's bow
    upper = mouth_y - 0.085 * fb * (1 - np.abs(u) ** 1.5) ** 0.8 + bow
    lower = mouth_y + 0.1 * fb * (1 - np.abs(u) ** 2.0) ** 0.8
    xs = cx + mw * u
    upper_poly = np.concatenate([np.stack([xs, upper], 1), np.stack([xs[::-1], seam[::-1]], 1)])
    lower_poly = np.concatenate([np.stack([xs, seam], 1), np.stack([xs[::-1], lower[::-1]], 1)])
    _shade(canvas, _soft_mask(shape, _ellipse((cx, mouth_y + 0.15 * fb), (0.22 * fa, 0.05 * fb)), 0.05 * fa), 0.85)
    _paint(canvas, _soft_mask(shape, _poly(upper_poly), 0.008 * fa), lip_col * 0.78)
    _paint(canvas, _soft_mask(shape, _poly(lower_poly), 0.008 * fa), lip_col * 0.95)
    _paint(canvas, _soft_mask(shape, _polyline(np.stack([xs, seam], 1), 0.025 * fa), 0.01 * fa), lip_col * 0.3, 0.9)
    _shade(canvas, _soft_mask(shape, _ellipse((cx, mouth_y + 0.045 * fb), (0.12 * fa, 0.018 * fb)), 0.02 * fa), 1.15)

    # eyes: almond sclera, iris with limbal ring, pupil, catch-light, lash line, crease
    for side in (-1, 1):
        ecx = cx + side * ex
        v = np.linspace(-1, 1, 31)
        top = ey - eh * (1 - v**2) ** 0.8 - 0.15 * eh * side * v
        bot = ey + 0.75 * eh * (1 - v**2) ** 1.1
        exs = ecx + ew * v
        almond = np.concatenate([np.stack([exs, top], 1), np.stack([exs[::-1], bot[::-1]], 1)])
        sclera_mask = _soft_mask(shape, _poly(almond), 0.006 * fa)
        sclera_shade = np.clip(1 - 0.35 * ((xx - ecx) / ew) ** 2, 0.6, 1)
        _paint(canvas, sclera_mask, np.array([238, 234, 228])[None, None, :] * sclera_shade[..., None])
        ir = 0.95 * eh
        icx, icy = ecx + 0.04 * ew * -side, ey + 0.1 * eh
        d = np.sqrt((xx - icx) ** 2 + (yy - icy) ** 2) / ir
        iris_field = iris[None, None, :] * (0.7 + 0.45 * np.clip(1 - d, 0, 1))[..., None]
        iris_field *= np.where(d > 0.82, 0.55, 1.0)[..., None]
        iris_mask = np.clip((1 - d) * ir / 1.2, 0, 1) * sclera_mask
        _paint(canvas, iris_mask, iris_field)
        pupil = np.clip((0.42 - d) * ir / 1.0, 0, 1) * sclera_mask
        _paint(canvas, pupil, (12, 10, 10))
        glint = _soft_mask(shape, _ellipse((icx - 0.3 * ir, icy - 0.35 * ir), (0.16 * ir, 0.16 * ir)), 0.05 * ir)
        _paint(canvas, glint * sclera_mask, (255, 255, 255), 0.9)
        _shade(canvas, np.clip(sclera_mask - _soft_mask(shape, _poly(almond + [0, 0.35 * eh]), 0.3 * eh), 0, 1), 0.8)
        lash = np.stack([exs, top], 1)
        _paint(canvas, _soft_mask(shape, _polyline(lash, 0.05 * fa), 0.012 * fa), hair * 0.25 + 10, 0.95)
        _paint(canvas, _soft_mask(shape, _polyline(np.stack([exs[6:-4], bot[6:-4]], 1), 0.012 * fa), 0.01 * fa),
               skin * 0.6, 0.6)
        crease = np.stack([exs[3:-3], top[3:-3] - 0.9 * eh], 1)
        _shade(canvas, _soft_mask(shape, _polyline(crease, 0.03 * fa), 0.02 * fa), 0.85)
        bx = np.linspace(-1.15, 1.1, 25)
        brow = np.stack([ecx + side * ew * bx, ey - 2.6 * eh - 0.9 * eh * (1 - (bx - 0.1) ** 2)], 1)
        thick = float(rng.uniform(0.06, 0.1)) * fa
        _paint(canvas, _soft_mask(shape, _polyline(brow, thick), 0.02 * fa), hair * 0.7, 0.92)

    # ---- hair over the forehead: a fringe or a side part, with strands
    hx = np.linspace(-1.15, 1.15, 60)
    part = float(rng.uniform(-0.45, 0.45))
    sweep = np.where(hx < part, 1.0, -1.0) * float(rng.choice([-1.0, 1.0]))
    hairline = cy - 0.42 * fb - 0.26 * fb * np.cos(np.clip(hx, -1, 1) * np.pi / 2) ** 1.5
    hairline += 0.05 * fb * np.clip(np.abs(hx - part) / 0.6, 0, 1) * (1 + 0.6 * sweep)
    hairline = np.where(np.abs(hx) > 0.8, hairline + 0.55 * fb * (np.clip(np.abs(hx) - 0.8, 0, None) / 0.35) ** 1.5, hairline)
    top_y = hair_cy - 1.08 * fb
    cap = np.concatenate([np.stack([cx + fa * hx, hairline], 1), np.array([[cx + 1.15 * fa, top_y], [cx - 1.15 * fa, top_y]])])
    hair_mask = _soft_mask(shape, _poly(cap), 0.006 * s) * _soft_mask(shape, _ellipse((cx, hair_cy), hair_ax), 0.004 * s)
    hair_field = hair[None, None, :] * (1.05 - 0.25 * np.clip((yy - top_y) / (1.2 * fb), 0, 1) + 0.12 * -nx.clip(-1, 1))[..., None]
    _paint(canvas, hair_mask, hair_field)
    cover(hair_mask, True)
    crown = (cx + part * fa, top_y + 0.06 * fb)
    long_steps = (30, 60) if style == "long" else (14, 34)
    texture = _strands(shape, rng, crown, fa, int(420 * s / 512), 0.06 * fa, long_steps)
    _shade(canvas, texture * hair_seen, 1.3)
    _shade(canvas, (1 - texture) * hair_seen, 0.93)

    # ---- finish: gentle blur for a painted look, then film grain
    canvas = cv2.GaussianBlur(canvas, (0, 0), max(0.5, s / 900))
    canvas += rng.normal(0, 1.4, canvas.shape).astype(np.float32)
    rgb = np.clip(canvas, 0, 255).astype(np.uint8)
    if not return_landmarks:
        return rgb
    lm = PortraitLandmarks(
        face_box=(int(cx - fa), int(cy - 0.55 * fb), int(2 * fa), int(1.55 * fb)),
        left_eye=(cx - ex, ey),
        right_eye=(cx + ex, ey),
        mouth=(cx, mouth_y),
        mouth_size=(2 * mw, 0.16 * fb),
        nose_tip=(cx, nose_y),
        extras={"hair_style": style, "skin": skin.tolist(), "hair": hair.tolist()},
    )
    return rgb, lm


# ------------------------------------------------------------------ no face
def draw_no_face(seed: int, size: tuple[int, int] = (512, 512)) -> np.ndarray:
    """Paint a landscape (sky, sun, hills, lake, trees): a picture with no face in it."""
    W, H = int(size[0]), int(size[1])
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    shape = (H, W)
    horizon = H * float(rng.uniform(0.5, 0.62))
    t = np.clip(yy / horizon, 0, 1)[..., None]
    sky_top, sky_low = np.array([60, 110, 190]), np.array([240, 200, 160])
    canvas = (1 - t) * sky_top + t * sky_low
    sun = (float(rng.uniform(0.2, 0.8)) * W, horizon * float(rng.uniform(0.3, 0.7)))
    _paint(canvas, _soft_mask(shape, _ellipse(sun, (0.05 * W, 0.05 * W)), 0.02 * W), (255, 240, 200), 0.9)
    for layer in range(3):
        xs = np.linspace(0, W, 24)
        base = horizon - (0.25 - 0.07 * layer) * H
        ridge = base + np.cumsum(rng.normal(0, 0.02 * H, 24))
        poly = np.concatenate([np.stack([xs, ridge], 1), [[W, horizon + 2], [0, horizon + 2]]])
        shade = 0.45 + 0.15 * layer
        _paint(canvas, _soft_mask(shape, _poly(poly), 1.0), np.array([70, 90, 120]) * shade + 40)
    water_t = np.clip((yy - horizon) / (H - horizon), 0, 1)[..., None]
    water = (1 - water_t) * np.array([150, 170, 190]) + water_t * np.array([40, 70, 100])
    _paint(canvas, (yy >= horizon).astype(np.float32), water)
    for _ in range(int(rng.integers(4, 9))):
        tx = float(rng.uniform(0, W))
        th = float(rng.uniform(0.1, 0.25)) * H
        tree = np.array([[tx, horizon - th], [tx - 0.2 * th, horizon + 3], [tx + 0.2 * th, horizon + 3]])
        _paint(canvas, _soft_mask(shape, _poly(tree), 1.0), (30, 60, 40))
    canvas = cv2.GaussianBlur(canvas.astype(np.float32), (0, 0), 1.0)
    canvas += rng.normal(0, 2.0, canvas.shape)
    return np.clip(canvas, 0, 255).astype(np.uint8)


# ------------------------------------------------------------------ speech
# Vowel formants (F1, F2, F3) in Hz, roughly an adult average.
_VOWELS = {
    "a": (750, 1200, 2500),
    "e": (500, 1800, 2500),
    "i": (300, 2250, 2900),
    "o": (480, 850, 2400),
    "u": (330, 800, 2300),
}


def _resonance(freqs: np.ndarray, centre: float, bandwidth: float, rate: int) -> np.ndarray:
    """Magnitude response of a two-pole resonator (a formant), normalised to 1 at DC."""
    r = math.exp(-math.pi * bandwidth / rate)
    theta = 2 * math.pi * centre / rate
    z = np.exp(-1j * 2 * np.pi * freqs / rate)
    a1, a2 = -2 * r * math.cos(theta), r * r
    h = (1 + a1 + a2) / (1 + a1 * z + a2 * z * z)
    return np.abs(h)


def _syllable(rng: np.random.Generator, n: int, rate: int, f0_start: float, f0_end: float, vowel: str) -> np.ndarray:
    """One voiced syllable: a glottal pulse train with a pitch glide through three formants."""
    f0 = np.linspace(f0_start, f0_end, n) * (1 + 0.01 * np.sin(np.arange(n) / rate * 2 * np.pi * 5.5))
    phase = np.cumsum(f0 / rate)
    pulses = np.zeros(n + 1, np.float64)
    idx = np.nonzero(np.diff(np.floor(phase)) > 0)[0] + 1
    pulses[idx] = 1.0 + rng.normal(0, 0.03, idx.size)  # a little shimmer
    pulses = pulses[:n]
    pad = int(0.05 * rate)
    size = 1 << int(math.ceil(math.log2(n + pad)))
    spec = np.fft.rfft(pulses, size)
    freqs = np.fft.rfftfreq(size, 1 / rate)
    glottal = 1 / (1 + (freqs / 150.0) ** 2)  # -12 dB/octave source tilt
    response = glottal.astype(np.complex128)
    for k, fk in enumerate(_VOWELS[vowel]):
        response = response * _resonance(freqs, fk * float(rng.uniform(0.95, 1.05)), 70 + 40 * k, rate)
    lip_radiation = freqs / 500.0  # +6 dB/octave from the lips
    out = np.fft.irfft(spec * response * lip_radiation, size)[:n]
    return out


def speech_like_audio(
    duration: float,
    sample_rate: int = 16_000,
    segments: list[tuple[float, float]] | None = None,
    seed: int = 0,
    level_dbfs: float = -16.0,
) -> AudioClip:
    """Voiced, formant-shaped babble in each ``(start, end)`` segment, silence between.

    Syllables of 120-260 ms on varying vowels, a falling and wobbling pitch and short
    fricative bursts between some syllables. ``segments`` default to the whole clip.
    """
    rng = np.random.default_rng(seed)
    n_total = int(round(duration * sample_rate))
    out = np.zeros(n_total, np.float64)
    segments = [(0.0, duration)] if segments is None else segments
    base_f0 = float(rng.uniform(105, 210))
    target = 10 ** (level_dbfs / 20)
    for start, end in segments:
        a = max(0, int(round(start * sample_rate)))
        b = min(n_total, int(round(end * sample_rate)))
        pos = a
        k = 0
        while pos < b - int(0.06 * sample_rate):
            length = min(int(rng.uniform(0.12, 0.26) * sample_rate), b - pos)
            progress = (pos - a) / max(1, b - a)
            f0a = base_f0 * (1.1 - 0.2 * progress) * float(rng.uniform(0.92, 1.08))
            f0b = f0a * float(rng.uniform(0.88, 1.06))
            vowel = "aeiou"[int(rng.integers(5))]
            syl = _syllable(rng, length, sample_rate, f0a, f0b, vowel)
            env_t = np.linspace(0, 1, length)
            env = np.clip(env_t / 0.15, 0, 1) * np.clip((1 - env_t) / 0.25, 0, 1)
            syl = syl * np.sin(env * np.pi / 2) ** 2
            syl = syl / (np.sqrt(np.mean(syl**2)) + 1e-9) * target * float(rng.uniform(0.7, 1.2))
            out[pos : pos + length] += syl
            pos += length
            if k % 3 == 2 and pos < b - int(0.1 * sample_rate):  # a fricative, "s"-like
                m = int(0.06 * sample_rate)
                noise = rng.normal(0, 1, m)
                noise = np.diff(noise, prepend=0.0)  # tilt towards the highs
                noise *= np.hanning(m) * target * 0.35
                out[pos : pos + m] += noise
                pos += m
            k += 1
        # End each segment with a 10 ms fade so it stops exactly at its end time.
        fade = min(int(0.01 * sample_rate), b - a)
        if fade > 0:
            out[b - fade : b] *= np.linspace(1, 0, fade)
    np.clip(out, -0.99, 0.99, out=out)
    return AudioClip(out.astype(np.float32)[None, :], sample_rate)


__all__ = ["HAIR_STYLES", "PortraitLandmarks", "draw_no_face", "draw_portrait", "speech_like_audio"]
