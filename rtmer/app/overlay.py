"""The overlay drawn on each frame, for the live window and for ``--save`` videos alike: face box
and regions, a scrolling plot of the motion signal against the spotter's threshold, a thumbnail
of the flow (colour-coded) and strain of the aligned face, the last event with its class bars,
and the processing rate and latency."""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np

from rtmer.app.pipeline import FrameResult
from rtmer.app.records import EventRecord, LiveStatus
from rtmer.face import align
from rtmer.face.regions import region_polygons

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_GREEN, _RED, _WHITE, _GREY = (60, 200, 60), (60, 60, 230), (255, 255, 255), (150, 150, 150)
_KIND_COLOUR = {"micro": (60, 200, 60), "macro": (40, 150, 240)}  # BGR: green, orange
_THUMB = 96  # px side of the flow and strain thumbnails
_THUMB_TOP = 30  # px: below the status line
_PLOT_H = 90  # px height of the signal plot


def _text(img: np.ndarray, text: str, org: tuple[int, int], colour: tuple[int, int, int] = _WHITE,
          scale: float = 0.45) -> None:  # fmt: skip
    # A dark outline keeps the text readable on any background.
    cv2.putText(img, text, org, _FONT, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(img, text, org, _FONT, scale, colour, 1, cv2.LINE_AA)


class Overlay:
    """:meth:`observe` every frame (the scrolling plot keeps the last ``plot_seconds`` of the
    signal); :meth:`render` the frames to show (a new image; the frame is not modified)."""

    def __init__(self, fps: float, plot_seconds: float = 2.0) -> None:
        n = max(2, int(round(fps * plot_seconds)))
        self._signal: deque[float] = deque(maxlen=n)
        self._threshold: deque[float] = deque(maxlen=n)

    def observe(self, result: FrameResult, status: LiveStatus) -> None:
        self._signal.append(result.signal.face if result.signal is not None else np.nan)
        self._threshold.append(status.threshold if result.signal is not None else np.nan)

    def render(self, image: np.ndarray, result: FrameResult, status: LiveStatus) -> np.ndarray:
        out = image.copy() if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        if result.crop is not None:
            self._face(out, result)
        else:
            _text(out, f"no face ({result.status.state.value})", (10, 44), _RED, 0.6)
        if result.motion is not None:
            self._thumbnails(out, result)
        self._plot(out)
        if status.last is not None:
            self._event(out, status.last)
        latency = "" if status.last is None else f"  last event latency {status.last.latency_ms:.1f} ms"
        _text(out, f"frame {result.index}  {status.fps:.0f} fps  dropped {status.dropped}{latency}", (10, 20))
        return out

    def _face(self, out: np.ndarray, result: FrameResult) -> None:
        crop = result.crop
        assert crop is not None  # checked by the caller
        x0, y0, x1, y1 = (int(round(v)) for v in crop.box)
        cv2.rectangle(out, (x0, y0), (x1, y1), _GREEN, 1, cv2.LINE_AA)
        inv = align.invert(crop.transform)
        # The region behind the face signal is drawn red.
        sig = result.signal
        moving = {max(sig.regions, key=lambda r: r[1])[0]} if sig is not None and sig.regions else set()
        for name, poly in region_polygons(crop.landmarks68).items():
            pts = np.round(align.apply(inv, poly)).astype(np.int32)
            colour = _RED if name in moving else _GREY
            cv2.polylines(out, [pts], True, colour, 1, cv2.LINE_AA)

    def _thumbnails(self, out: np.ndarray, result: FrameResult) -> None:
        from rtmer.motion import flow_to_color, optical_strain

        state = result.motion
        assert state is not None  # checked by the caller
        flow = cv2.cvtColor(flow_to_color(state.flow), cv2.COLOR_RGB2BGR)
        strain = optical_strain(state.flow)  # of the frames shown only: the engine computes none
        scale = float(np.percentile(strain, 99)) or 1.0
        strain8 = cv2.applyColorMap(
            np.clip(255 * strain / scale, 0, 255).astype(np.uint8), cv2.COLORMAP_INFERNO
        )
        h, w = out.shape[:2]
        top = _THUMB_TOP
        for k, (thumb, label) in enumerate(((flow, "flow"), (strain8, "strain"))):
            x = w - (2 - k) * (_THUMB + 6)
            if x < 0 or top + _THUMB + 16 > h:
                return
            out[top : top + _THUMB, x : x + _THUMB] = cv2.resize(
                thumb, (_THUMB, _THUMB), interpolation=cv2.INTER_AREA
            )
            _text(out, label, (x + 2, top + _THUMB + 14), scale=0.4)  # below: the status line is above

    def _plot(self, out: np.ndarray) -> None:
        h, w = out.shape[:2]
        top, bottom, left, right = h - _PLOT_H - 8, h - 8, 8, w - 8
        if top < 0:
            return
        region = out[top:bottom, left:right]
        region[:] = (region * 0.4).astype(np.uint8)  # darken behind the plot
        sig = np.asarray(self._signal, np.float64)
        thr = np.asarray(self._threshold, np.float64)
        finite = np.concatenate([sig[np.isfinite(sig)], thr[np.isfinite(thr)]])
        ymax = max(float(finite.max()) * 1.2, 0.05) if finite.size else 1.0
        n = self._signal.maxlen or 2
        xs = left + (right - left) * (np.arange(sig.size) + n - sig.size) / (n - 1)
        for series, colour in ((thr, _RED), (sig, _WHITE)):
            ys = bottom - (bottom - top) * np.clip(series / ymax, 0, 1)
            ok = np.isfinite(ys)
            for seg in np.split(np.flatnonzero(ok), np.flatnonzero(np.diff(np.flatnonzero(ok)) > 1) + 1):
                if seg.size > 1:
                    pts = np.stack([xs[seg], ys[seg]], axis=1).round().astype(np.int32)
                    cv2.polylines(out, [pts], False, colour, 1, cv2.LINE_AA)
        _text(
            out, f"face motion (white), threshold (red); top {ymax:.2f} px", (left + 4, top + 14), scale=0.4
        )

    def _event(self, out: np.ndarray, record: EventRecord) -> None:
        e, p = record.event, record.prediction
        colour = _KIND_COLOUR.get(e.kind, _WHITE)
        y = 44
        _text(out, f"event {e.event_id} {e.kind}: apex {e.apex} ({record.stage})", (10, y + 20), colour)
        if p is None:
            return
        for k, (name, prob) in enumerate(p.probabilities):
            yy = y + 30 + 16 * k
            cv2.rectangle(out, (90, yy), (90 + int(120 * prob), yy + 11), colour, -1)
            cv2.rectangle(out, (90, yy), (210, yy + 11), _GREY, 1)
            _text(out, name, (10, yy + 10), scale=0.4)
            _text(out, f"{prob:.2f}", (215, yy + 10), scale=0.4)
