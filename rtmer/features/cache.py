"""Built inputs of data-set clips on disk, so that a LOSO run computes each one once."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from rtmer import __version__
from rtmer.features.builders import Feature
from rtmer.features.kinds import Kind, build, feature_kind
from rtmer.features.sources import ClipFrames
from rtmer.features.spec import FeatureSpec
from rtmer.fileio import atomic_write
from rtmer.types import Clip


class FeatureCache:
    """Built inputs of data-set clips on disk, so that a LOSO run computes each one once.

    An entry is keyed by the clip (its key and its onset / apex / offset, which an apex convention
    may fill), the kind, the kind's options (:meth:`rtmer.features.FeatureKind.options_of`) and the
    rtmer version: ``root/rtmer-<version>/<kind>/<dataset>/<subject>/<clip>/<hash>.npy`` (``.npz``
    for the region dict). Files are written under a temporary name and renamed, so an interrupted
    run never leaves a partial file under the final name; concurrent writers of one entry are safe
    (each rename is atomic and both hold the same array).
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.hits = 0
        self.misses = 0

    def path(self, clip: Clip, kind: Kind, spec: FeatureSpec) -> Path:
        """Where ``clip``'s input of ``kind`` under ``spec`` is stored."""
        payload = {
            "span": [clip.onset, clip.apex, clip.offset],
            "options": feature_kind(kind).options_of(spec),
        }
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]
        suffix = ".npz" if kind == "regions" else ".npy"
        return (
            self.root
            / f"rtmer-{__version__}"
            / kind
            / clip.dataset
            / clip.subject
            / clip.clip_id
            / (digest + suffix)
        )

    def get_or_build(self, clip: Clip, kind: Kind, spec: FeatureSpec | None = None) -> Feature:
        """The cached input, or :func:`rtmer.features.build` it from the clip's files and store it."""
        spec = spec or FeatureSpec()
        path = self.path(clip, kind, spec)
        if path.is_file():
            self.hits += 1
            return _read(path)
        self.misses += 1
        value = build(kind, ClipFrames(clip), clip, spec=spec)
        _write(path, value)
        return value


def _read(path: Path) -> Feature:
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            return {name: z[name] for name in z.files}
    return np.load(path, allow_pickle=False)


def _write(path: Path, value: Feature) -> None:
    with atomic_write(path) as tmp, open(tmp, "wb") as f:
        if isinstance(value, dict):
            np.savez(f, **value)  # type: ignore[arg-type]  # numpy types savez's keywords as its own flags
        else:
            np.save(f, value)
