"""Frame capture: sources (camera, video file, image folder), the frame ring, the capture thread."""

from rtmer.capture.ring import FrameView, RingBuffer, RingStats
from rtmer.capture.sources import (
    CameraSource,
    ImageSequenceSource,
    Source,
    SourceInfo,
    VideoSource,
    list_cameras,
    open_source,
)
from rtmer.capture.thread import CaptureThread, frames

__all__ = [
    "CameraSource",
    "CaptureThread",
    "FrameView",
    "ImageSequenceSource",
    "RingBuffer",
    "RingStats",
    "Source",
    "SourceInfo",
    "VideoSource",
    "frames",
    "list_cameras",
    "open_source",
]
