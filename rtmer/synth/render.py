"""Rendering synthetic frames: expressions and blinks as warps of a subject's neutral face, plus
what a camera adds (head motion, mains flicker, sensor noise).

Short clips are rendered with rtmer's exact bicubic warp (rtmer.motion.remap), so the apex frame's
displacement is the requested field to a small fraction of a pixel; long videos, whose ground
truth is event intervals rather than flow, use OpenCV's faster (1/32 px) warps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from rtmer.synth.au import eye_distance
from rtmer.synth.subjects import Subject, invert_and_warp
from rtmer.synth.timeline import Event


def add_noise(frame: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian sensor noise of ``sigma`` grey levels, rounded and clipped to uint8."""
    noisy = frame.astype(np.float32) + rng.normal(0.0, sigma, frame.shape).astype(np.float32)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


class NoiseBank:
    """Gaussian sensor noise for long videos: a few dozen precomputed noise frames, one drawn at
    random per frame and added with saturating uint8 arithmetic (drawing fresh normal noise for
    every 640 x 480 x 3 frame would cost more than rendering it)."""

    def __init__(
        self, shape: tuple[int, ...], sigma: float, rng: np.random.Generator, size: int = 48
    ) -> None:
        noise = np.rint(rng.normal(0.0, sigma, (size, *shape))).astype(np.int16)
        self.pos = np.clip(noise, 0, 255).astype(np.uint8)
        self.neg = np.clip(-noise, 0, 255).astype(np.uint8)
        self.rng = rng

    def apply(self, frame: np.ndarray) -> np.ndarray:
        k = int(self.rng.integers(len(self.pos)))
        return cv2.subtract(cv2.add(frame, self.pos[k]), self.neg[k])


def render_clip(
    subject: Subject, apex_field: np.ndarray, intensities: Sequence[float], rng: np.random.Generator
) -> list[np.ndarray]:
    """One frame per intensity in [0, 1]: the subject moved by intensity x apex_field, with noise.
    A zero intensity is the neutral face itself, so a still face does not shimmer."""
    frames = []
    for s in intensities:
        img = subject.image if s == 0 else invert_and_warp(subject.image, np.float32(s) * apex_field)
        frames.append(add_noise(img, subject.noise_sigma, rng))
    return frames


def blink_field(landmarks68: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The displacement of a full eyelid closure: each upper lid drops to its lower lid, locally
    (a Gaussian of 0.08 eye distances around the lid), float32 H x W x 2."""
    lm = np.asarray(landmarks68, dtype=np.float64)
    sigma = 0.08 * eye_distance(lm)
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    field = np.zeros((h, w, 2))
    for upper, lower in (((37, 38), (41, 40)), ((43, 44), (47, 46))):
        for u, lo in zip(upper, lower, strict=True):
            drop = max(lm[lo, 1] - lm[u, 1], 0.0) * 0.9
            g = np.exp(-((xs - lm[u, 0]) ** 2 + (ys - lm[u, 1]) ** 2) / (2 * sigma**2))
            field[..., 1] += drop * g
    return field.astype(np.float32)


@dataclass(frozen=True)
class CameraModel:
    """The nuisances of a long video."""

    drift_px: float = 3.0  # slow head translation amplitude
    drift_period_s: float = 8.0
    jitter_px: float = 0.05  # sub-pixel per-frame jitter (std)
    rotation_deg: float = 1.0  # slow head rotation amplitude
    flicker: float = 0.02  # relative lamp flicker amplitude at twice the mains frequency
    mains_hz: float = 50.0


class VideoRenderer:
    """Frames of a long video of one subject with scheduled expressions and blinks."""

    def __init__(
        self,
        subject: Subject,
        events: Sequence[Event],
        fields: Sequence[np.ndarray | None],
        fps: float,
        camera: CameraModel,
        rng: np.random.Generator,
    ) -> None:
        self.subject, self.events, self.fps, self.camera = subject, list(events), fps, camera
        h, w = subject.image.shape[:2]
        lm = subject.landmarks68
        iod = eye_distance(lm)
        # The box where expressions move the face; everything beyond it only moves rigidly.
        x0, y0 = np.floor(lm.min(axis=0) - 0.8 * iod).astype(int)
        x1, y1 = np.ceil(lm.max(axis=0) + 0.8 * iod).astype(int)
        # Python ints: under numpy 2 a numpy int64 offset promotes the float32 remap maps to float64.
        self.box = (max(0, int(x0)), max(0, int(y0)), min(w, int(x1)), min(h, int(y1)))
        bx0, by0, bx1, by1 = self.box
        blink = blink_field(lm, (h, w))[by0:by1, bx0:bx1]
        # A blink's field is None: it is made here, for this subject's lids.
        self.fields = [
            blink if f is None else f[by0:by1, bx0:bx1] for e, f in zip(events, fields, strict=True)
        ]
        self.rng = rng
        self.noise = NoiseBank(subject.image.shape, subject.noise_sigma, rng)
        self.phases = rng.uniform(0, 2 * np.pi, 4)
        self.flicker_phase = rng.uniform(0, 2 * np.pi)

    def _rigid(self, t: float) -> np.ndarray:
        """Frame <- canvas similarity at time t: slow drift, slow rotation and per-frame jitter."""
        c = self.camera
        h, w = self.subject.image.shape[:2]
        omega = 2 * np.pi / c.drift_period_s
        tx = c.drift_px * np.sin(omega * t + self.phases[0]) + self.rng.normal(0, c.jitter_px)
        ty = c.drift_px * 0.6 * np.sin(0.7 * omega * t + self.phases[1]) + self.rng.normal(0, c.jitter_px)
        ang = c.rotation_deg * np.sin(0.5 * omega * t + self.phases[2])
        m = cv2.getRotationMatrix2D((w / 2, h / 2), ang, 1.0)
        m[:, 2] += (tx, ty)
        return m

    def frame(self, index: int) -> np.ndarray:
        """The frame at ``index`` (uint8 BGR)."""
        t = index / self.fps
        h, w = self.subject.image.shape[:2]
        m = self._rigid(t)
        out = cv2.warpAffine(
            self.subject.image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        active = [(e.profile.at(index), f) for e, f in zip(self.events, self.fields, strict=True)]
        active = [(s, f) for s, f in active if s > 0]
        if active:
            bx0, by0, bx1, by1 = self.box
            disp: np.ndarray = np.float32(active[0][0]) * active[0][1]
            for s, f in active[1:]:
                disp = disp + np.float32(s) * f
            # frame(q) = canvas(A^-1(M^-1 q)): the inverse rigid map, then the inverse expression warp.
            # float32, as cv2.remap needs its maps: numpy 2 takes float32 pixel grids times float64
            # coefficients to float64 (numpy 1 cast the scalar down, which this reproduces).
            inv = cv2.invertAffineTransform(m).astype(np.float32)
            ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
            rx = inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]
            ry = inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]
            inside = (rx >= bx0) & (rx < bx1 - 1) & (ry >= by0) & (ry < by1 - 1)
            rows, cols = np.nonzero(inside.any(axis=1))[0], np.nonzero(inside.any(axis=0))[0]
            if rows.size and cols.size:
                r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
                px, py = rx[r0:r1, c0:c1] - bx0, ry[r0:r1, c0:c1] - by0
                qx, qy = px.copy(), py.copy()
                for _ in range(3):
                    dx = cv2.remap(disp[..., 0], px, py, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
                    dy = cv2.remap(disp[..., 1], px, py, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
                    px, py = qx - dx, qy - dy
                out[r0:r1, c0:c1] = cv2.remap(
                    self.subject.image, px + bx0, py + by0, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
                )
        c = self.camera
        gain = 1.0 + c.flicker * np.sin(2 * np.pi * 2 * c.mains_hz * t + self.flicker_phase)
        return self.noise.apply(cv2.convertScaleAbs(out, alpha=gain))
