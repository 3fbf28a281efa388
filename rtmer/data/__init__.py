"""Loaders for the micro-expression data sets, as their owners distribute them.

``load(dataset, root)`` reads one data set from the folder a user points at and returns a
:class:`LoadResult`: every usable clip as a :class:`rtmer.types.Clip` (frames verified on disk),
and every annotation row or folder it could not use as a :class:`Skipped` entry with the reason.
A root that is not the data set (no coding sheet, no frame folders, a sheet without a required
column) raises :class:`rtmer.errors.DatasetError` with a one-line message naming the path, what
was expected there and what was found.

Data sets (``DATASETS``; each module's docstring states the distribution it follows):

- ``casme2``: CASME II, raw or cropped frames + the coding sheet (2014 or 2019 revision);
- ``samm``: SAMM micro-movements + ``SAMM_Micro_FACS_Codes_v2.xlsx``;
- ``smic``: SMIC-HS, labels encoded in the folder names;
- ``ckplus``: CK+ image sequences + ``Emotion/`` (and ``FACS/``) label files;
- ``synthetic``: rtmer's own clips (``rtmer synth clips``), CASME II layout + a manifest.

Options of :func:`load`: ``fps`` (CASME II, SAMM, SMIC, CK+: the data set's rate by default);
``sheet`` (the annotation workbook), ``frames_dir`` (the folder holding the subject folders) and
``layout`` ("auto", "raw", "cropped") for CASME II, SAMM and the synthetic clips (SMIC:
``frames_dir``, ``layout``); ``kinds`` for SAMM (default ("micro",)); ``facs`` for CK+.

The loaders import no torch; each module is imported only when its data set is loaded.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rtmer.errors import DatasetError
from rtmer.types import Clip

#: The data sets :func:`load` knows, by the name each :class:`Clip` carries.
DATASETS = ("casme2", "samm", "smic", "ckplus", "synthetic")


@dataclass(frozen=True)
class Skipped:
    """An annotation row or clip folder the loader could not use, and why (one line)."""

    path: Path
    reason: str


@dataclass(frozen=True)
class LoadResult:
    """What a loader found under ``root``.

    ``version`` names the annotation / layout variant that was recognised (for example
    ``"coding-20190701/cropped"``); ``clips`` are in the annotation's order; ``skipped`` lists
    everything left out.
    """

    dataset: str
    root: Path
    version: str
    clips: tuple[Clip, ...]
    skipped: tuple[Skipped, ...]


def load(dataset: str, root: str | Path, **options: Any) -> LoadResult:
    """Load ``dataset`` from the folder ``root``; ``options`` go to that data set's loader.

    >>> load("casme2", "/data/CASME2", layout="cropped")  # doctest: +SKIP
    """
    if dataset not in DATASETS:
        raise DatasetError(f"unknown data set {dataset!r}; expected one of {', '.join(DATASETS)}")
    module = importlib.import_module(f"rtmer.data.{dataset}")
    return module.load(Path(root), **options)
