"""FACS action units as smooth displacement fields anchored on the 68 face landmarks.

Each action unit moves a few anchor points (landmarks, or blends of landmarks) in the direction
FACS describes (Ekman, Friesen, Hager 2002, the FACS manual's "appearance changes"); the field
between anchors falls off as a Gaussian whose width is a fraction of the inter-ocular distance, so
it is smooth, local and scales with the face. A field is normalised to move its strongest pixel by
1 px, so an intensity is the AU's peak displacement in pixels.

Landmarks follow the iBUG 68-point convention, 0-based here (the papers count from 1): jaw 0-16,
brows 17-21 (image left) and 22-26 (image right), nose 27-35, eyes 36-41 and 42-47, mouth 48-67.
Image coordinates: x to the right, y down; "up" is (0, -1). "Left"/"right" mean the image's sides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

#: An anchor: landmark indices and weights whose weighted mean is the anchor point.
Blend = tuple[tuple[int, float], ...]

LEFT, RIGHT, CENTRE = "left", "right", "centre"


@dataclass(frozen=True)
class Anchor:
    """One moving point of an action unit."""

    at: Blend
    direction: tuple[float, float]  # relative: the field is normalised afterwards
    side: str  # LEFT, RIGHT or CENTRE: which side's asymmetry factor scales it


@dataclass(frozen=True)
class ActionUnit:
    """A FACS action unit: its anchors and the Gaussian extent as a fraction of the eye distance."""

    code: int
    name: str
    anchors: tuple[Anchor, ...]
    extent: float


def _pt(i: int) -> Blend:
    return ((i, 1.0),)


def _mix(*pairs: tuple[int, float]) -> Blend:
    return tuple(pairs)


def _pair(left: Blend, right: Blend, dx: float, dy: float) -> tuple[Anchor, Anchor]:
    """The same movement mirrored on both sides: dx > 0 points away from the face's midline."""
    return Anchor(left, (-dx, dy), LEFT), Anchor(right, (dx, dy), RIGHT)


# The cheek below each eye: between the lower lid and the nostril / jaw line.
_CHEEK_L = _mix((40, 0.3), (41, 0.3), (31, 0.2), (2, 0.2))
_CHEEK_R = _mix((46, 0.3), (47, 0.3), (35, 0.2), (14, 0.2))

ACTION_UNITS: dict[int, ActionUnit] = {
    au.code: au
    for au in (
        ActionUnit(
            1, "inner brow raiser", (*_pair(_pt(21), _pt(22), 0, -1), *_pair(_pt(20), _pt(23), 0, -0.6)), 0.14
        ),
        ActionUnit(
            2, "outer brow raiser", (*_pair(_pt(17), _pt(26), 0, -1), *_pair(_pt(18), _pt(25), 0, -0.8)), 0.14
        ),
        # Brows pulled down and together: towards the midline is -dx in _pair's mirrored frame.
        ActionUnit(
            4,
            "brow lowerer",
            (
                *_pair(_pt(21), _pt(22), -0.6, 0.8),
                *_pair(_pt(20), _pt(23), -0.4, 0.8),
                *_pair(_pt(19), _pt(24), 0, 0.6),
            ),
            0.14,
        ),
        ActionUnit(
            5, "upper lid raiser", (*_pair(_pt(37), _pt(43), 0, -1), *_pair(_pt(38), _pt(44), 0, -1)), 0.07
        ),
        ActionUnit(
            6,
            "cheek raiser",
            (
                *_pair(_CHEEK_L, _CHEEK_R, 0, -1),
                *_pair(_mix((40, 0.5), (41, 0.5)), _mix((46, 0.5), (47, 0.5)), 0, -0.5),
            ),
            0.2,
        ),
        ActionUnit(
            7,
            "lid tightener",
            (
                *_pair(_mix((40, 0.5), (41, 0.5)), _mix((46, 0.5), (47, 0.5)), 0, -1),
                *_pair(_pt(37), _pt(44), 0, 0.3),
            ),
            0.07,
        ),
        ActionUnit(
            9, "nose wrinkler", (*_pair(_pt(31), _pt(35), 0, -1), Anchor(_pt(29), (0, -0.6), CENTRE)), 0.12
        ),
        ActionUnit(
            10,
            "upper lip raiser",
            (
                *_pair(_pt(50), _pt(52), 0, -1),
                Anchor(_pt(51), (0, -1), CENTRE),
                Anchor(_pt(62), (0, -0.8), CENTRE),
            ),
            0.12,
        ),
        ActionUnit(12, "lip corner puller", _pair(_pt(48), _pt(54), 0.6, -0.8), 0.15),
        ActionUnit(14, "dimpler", _pair(_pt(48), _pt(54), -0.8, -0.2), 0.1),
        ActionUnit(15, "lip corner depressor", _pair(_pt(48), _pt(54), 0, 1), 0.12),
        ActionUnit(
            17,
            "chin raiser",
            (
                Anchor(_pt(8), (0, -1), CENTRE),
                *_pair(_pt(7), _pt(9), 0, -0.8),
                Anchor(_pt(57), (0, -0.7), CENTRE),
            ),
            0.15,
        ),
        ActionUnit(20, "lip stretcher", _pair(_pt(48), _pt(54), 1, 0.2), 0.12),
        ActionUnit(
            23,
            "lip tightener",
            (
                *_pair(_pt(48), _pt(54), -0.7, 0),
                Anchor(_pt(51), (0, 0.3), CENTRE),
                Anchor(_pt(57), (0, -0.3), CENTRE),
            ),
            0.1,
        ),
        ActionUnit(
            24, "lip pressor", (Anchor(_pt(62), (0, 0.6), CENTRE), Anchor(_pt(66), (0, -0.6), CENTRE)), 0.1
        ),
        ActionUnit(
            25, "lips part", (Anchor(_pt(66), (0, 0.7), CENTRE), Anchor(_pt(62), (0, -0.3), CENTRE)), 0.1
        ),
        ActionUnit(
            26,
            "jaw drop",
            (
                Anchor(_pt(8), (0, 1), CENTRE),
                *_pair(_pt(6), _pt(10), 0, 0.9),
                Anchor(_pt(57), (0, 0.8), CENTRE),
            ),
            0.25,
        ),
    )
}


@dataclass(frozen=True)
class AUActivation:
    """One action unit in an expression: its intensity (peak px) and per-side factors."""

    code: int
    intensity: float
    left: float = 1.0
    right: float = 1.0


def eye_distance(landmarks68: np.ndarray) -> float:
    """Distance between the eye centres (means of 36-41 and 42-47), the face's length unit."""
    lm = np.asarray(landmarks68, dtype=np.float64)
    return float(np.linalg.norm(lm[36:42].mean(axis=0) - lm[42:48].mean(axis=0)))


def au_field(
    code: int, landmarks68: np.ndarray, shape: tuple[int, int], *, left: float = 1.0, right: float = 1.0
) -> np.ndarray:
    """The unit displacement field of one action unit, float32 H x W x 2 (u, v), max |d| = 1 px
    (before the side factors, which scale the anchors of each side)."""
    au = ACTION_UNITS[code]
    lm = np.asarray(landmarks68, dtype=np.float64)
    sigma = au.extent * eye_distance(lm)
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    field = np.zeros((h, w, 2))
    scale = {LEFT: left, RIGHT: right, CENTRE: 0.5 * (left + right)}
    norm = np.zeros((h, w, 2))
    for a in au.anchors:
        p = sum(wt * lm[i] for i, wt in a.at)
        g = np.exp(-((xs - p[0]) ** 2 + (ys - p[1]) ** 2) / (2 * sigma**2))
        d = np.asarray(a.direction, dtype=np.float64)
        norm += g[..., None] * d
        field += scale[a.side] * g[..., None] * d
    peak = float(np.sqrt((norm**2).sum(axis=2)).max())
    return (field / max(peak, 1e-12)).astype(np.float32)


def expression_field(
    activations: Sequence[AUActivation], landmarks68: np.ndarray, shape: tuple[int, int]
) -> np.ndarray:
    """The apex displacement of an expression: the sum of its AUs' fields at their intensities."""
    total = np.zeros((*shape, 2), np.float32)
    for act in activations:
        total += np.float32(act.intensity) * au_field(
            act.code, landmarks68, shape, left=act.left, right=act.right
        )
    return total


#: The emotions' AU combinations (CASME II / SAMM annotation practice). Each entry lists
#: required AUs and optional ones (each kept with probability 0.5) and alternatives (one is chosen).
EMOTION_AUS: Mapping[str, dict[str, tuple]] = {
    "happiness": {"required": (6, 12), "optional": (), "one_of": ()},
    "surprise": {"required": (1, 2), "optional": (5,), "one_of": ((25,), (26,))},
    "disgust": {"required": (9,), "optional": (4, 10), "one_of": ()},
    "repression": {"required": (), "optional": (), "one_of": ((14,), (15,), (17,), (15, 17), (14, 17))},
    "sadness": {"required": (1, 4, 15), "optional": (), "one_of": ()},
    "fear": {"required": (1, 2, 4, 20), "optional": (), "one_of": ()},
    "anger": {"required": (4,), "optional": (5, 7), "one_of": ((23,), (7, 23))},
    "contempt": {"required": (), "optional": (), "one_of": ((14,),)},  # unilateral: see sample_expression
    "others": {"required": (), "optional": (), "one_of": ((7,), (24,), (5,), (4,))},
}


def sample_expression(emotion: str, peak_px: float, rng: np.random.Generator) -> tuple[AUActivation, ...]:
    """Random AUs of an emotion with per-event intensity, subset and asymmetry."""
    spec = EMOTION_AUS[emotion]
    codes = list(spec["required"])
    codes += [c for c in spec["optional"] if rng.random() < 0.5]
    if spec["one_of"]:
        codes += list(spec["one_of"][rng.integers(len(spec["one_of"]))])
    acts = []
    for code in dict.fromkeys(codes):
        intensity = peak_px * rng.uniform(0.6, 1.0)
        left, right = 1.0, 1.0
        if emotion == "contempt":  # FACS: contempt is a unilateral AU 14
            left, right = (1.0, 0.0) if rng.random() < 0.5 else (0.0, 1.0)
        elif rng.random() < 0.5:
            weak = rng.uniform(0.6, 1.0)
            left, right = (weak, 1.0) if rng.random() < 0.5 else (1.0, weak)
        acts.append(AUActivation(code, float(intensity), float(left), float(right)))
    return tuple(acts)


def au_label(activations: Sequence[AUActivation]) -> str:
    """The CASME II coding-sheet spelling of the AUs: "6+12", "L14", "4+R10". L and R are the
    subject's sides: on a frontal face the subject's right is the image's left."""
    parts = []
    for a in activations:
        side = "R" if a.right == 0 else ("L" if a.left == 0 else "")
        parts.append(f"{side}{a.code}")
    return "+".join(parts)
