"""The classifier stage: a spotted event's frames (from the ring) -> the model's input -> class
probabilities, through one inference backend (:mod:`rtmer.backends`, imported when opened).

Flow and residual models classify as soon as the apex is confirmed (the offset is not needed);
sequence models (aggregation network, CNN-LSTM-SE) resample onset..offset and wait for the offset
record, as does CropNet when the apex is fewer than
:data:`rtmer.features.builders.KEY_FRAME_MIN_RISE` frames after the onset (its key frames then
depend on the offset, :func:`rtmer.features.residual_key_frames`). Which applies is the input
kind's ``needs_offset`` (:data:`rtmer.features.FEATURE_KINDS`).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rtmer.errors import InputError, RtmerError
from rtmer.face import align
from rtmer.types import SpotEvent

if TYPE_CHECKING:
    from rtmer.app.timing import StageTimes
    from rtmer.backends import Backend
    from rtmer.capture.ring import RingBuffer
    from rtmer.features import FrameSource
    from rtmer.types import FaceCrop
    from rtmer.weights import WeightCard


@dataclass(frozen=True)
class Prediction:
    """One event's class: ``probabilities`` in the card's class order; the time spent building the
    input (``features_ms``) and running the model (``infer_ms``)."""

    label: str
    probabilities: tuple[tuple[str, float], ...]
    model: str
    backend: str
    features_ms: float
    infer_ms: float

    @property
    def confidence(self) -> float:
        return dict(self.probabilities)[self.label]


class Classifier:
    """Weights (a :class:`rtmer.weights.WeightCard`) run by one backend on spotted events."""

    def __init__(self, card: WeightCard, backend: Backend) -> None:
        from rtmer.features import feature_kind
        from rtmer.models import registry
        from rtmer.models.inputs import feature_options

        self.card = card
        self.backend = backend
        self.model_spec = registry.get(card.model)
        self.kind = self.model_spec.input.kind
        self._needs_offset = feature_kind(self.kind).needs_offset
        self._feature_spec = card.feature_spec()
        feature_options(self.model_spec)  # fails early on a model the feature path cannot build

    @classmethod
    def open(
        cls, weights: str | Path, backend: str = "auto", *, threads: int | None = None, fp16: bool = False
    ) -> Classifier:
        """Shipped weights by name (or a card path) on ``backend`` ("auto": the fastest available)."""
        from rtmer.weights import find

        card = find(weights)
        try:
            from rtmer.backends import open_backend
        except ImportError as exc:
            raise InputError(
                f"this rtmer has no inference backends ({exc}); run with --model none to spot only"
            ) from None
        runtime = open_backend(card, backend, fp16=fp16, threads=threads)
        # The first event must not pay the runtime's first-call setup (memory planning, thread
        # pools, TensorRT's graph capture: tens of ms).
        runtime.warm_up()
        return cls(card, runtime)

    @property
    def name(self) -> str:
        return self.card.name

    def needs_offset(self, event: SpotEvent) -> bool:
        """Whether ``event``'s input can only be built from its offset record."""
        return self._needs_offset(event)

    def __call__(self, source: FrameSource, event: SpotEvent, landmarks68: np.ndarray) -> Prediction:
        """The class of ``event`` from its frames in ``source``; ``landmarks68`` in frame pixels."""
        from rtmer.models.inputs import build_input

        t0 = time.perf_counter()
        x = build_input(self.model_spec, source, event, landmarks68=landmarks68, spec=self._feature_spec)
        t1 = time.perf_counter()
        probs = np.asarray(self.backend(x[None]), np.float64)[0]
        t2 = time.perf_counter()
        if probs.shape != (len(self.card.classes),):
            raise InputError(
                f"weights {self.card.name!r} gave {probs.shape[0]} outputs for {len(self.card.classes)} "
                "classes; the card and the weight file do not match"
            )
        pairs = tuple((c, float(p)) for c, p in zip(self.card.classes, probs, strict=True))
        label = self.card.classes[int(np.argmax(probs))]
        return Prediction(label, pairs, self.card.name, self.backend.name, 1e3 * (t1 - t0), 1e3 * (t2 - t1))

    def close(self) -> None:
        self.backend.close()


class EventClassifier:
    """The classifier stage of a run: ``classifier`` on the events of a stream whose frames are in
    ``ring``. It keeps the face's landmarks for the frames the ring holds (an event's input is
    built in the face's pose at its onset), classifies each event once (its apex and offset
    records share the answer), records the ``features`` and ``infer`` times, and says once, through
    ``warn``, why an event could not be classified."""

    def __init__(
        self,
        classifier: Classifier,
        ring: RingBuffer,
        fps: float,
        times: StageTimes,
        warn: Callable[[str], None],
    ) -> None:
        self.classifier, self.ring, self.fps, self.times, self.warn = classifier, ring, fps, times, warn
        self._landmarks: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._predictions: dict[int, Prediction | None] = {}

    def observe(self, crop: FaceCrop) -> None:
        """Remember the landmarks of a frame with a face."""
        self._landmarks[crop.index] = (crop.landmarks68, crop.transform)
        while len(self._landmarks) > self.ring.capacity + 1:
            self._landmarks.popitem(last=False)

    def __call__(self, event: SpotEvent) -> Prediction | None:
        """``event``'s class; None before its offset when the model needs it, or when it could not
        be classified."""
        if event.event_id in self._predictions:
            return self._predictions[event.event_id]
        if event.offset is None and self.classifier.needs_offset(event):
            return None
        landmarks = self._landmarks_at(event.onset)
        prediction = None
        if landmarks is not None:
            try:
                prediction = self.classifier(self.ring, event, landmarks)
            except RtmerError as exc:  # e.g. the onset frame already left the ring: say so once
                held = self.ring.capacity / self.fps
                remedy = f" (the ring holds {held:g} s: raise [capture] ring_seconds for longer events)"
                self.warn(f"event {event.event_id} not classified: {exc}{remedy}")
        self._predictions[event.event_id] = prediction
        if prediction is not None:
            self.times.add("features", prediction.features_ms)
            self.times.add("infer", prediction.infer_ms)
        return prediction

    def unclassified(self, event_ids: Iterable[int]) -> int:
        """How many of ``event_ids`` have no class."""
        return sum(1 for i in event_ids if self._predictions.get(i) is None)

    def _landmarks_at(self, index: int) -> np.ndarray | None:
        """The face's 68 landmarks in frame pixels at frame ``index`` (or the nearest frame kept)."""
        if not self._landmarks:
            return None
        key = index if index in self._landmarks else min(self._landmarks, key=lambda k: abs(k - index))
        points, transform = self._landmarks[key]
        return align.apply(align.invert(transform), points).astype(np.float32)
