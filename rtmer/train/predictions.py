"""A run's ``predictions.csv``: one row per clip with its true and predicted class and the
probabilities, written by a training run and read back to score it again."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rtmer.data.protocols import Labelled
from rtmer.errors import InputError


@dataclass(frozen=True)
class Predictions:
    """What a predictions file holds for scoring: each clip's data set, true and predicted class
    indices, in ``classes`` order."""

    datasets: list[str]
    labels: np.ndarray
    predictions: np.ndarray
    classes: tuple[str, ...]


def write_predictions(path: Path, labelled: Labelled, probabilities: np.ndarray) -> None:
    """One row per clip: key, data set, subject, true class, predicted class, probabilities."""
    classes = labelled.classes
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["clip", "dataset", "subject", "label", "prediction", *[f"p_{c}" for c in classes]])
        for clip, label, p in zip(labelled.clips, labelled.labels, probabilities, strict=True):
            w.writerow([clip.key, clip.dataset, clip.subject_key, classes[label], classes[int(np.argmax(p))],
                        *[f"{v:.6f}" for v in p]])  # fmt: skip


def read_predictions(run: Path) -> Predictions:
    """``run/predictions.csv`` read back; :class:`InputError` when it is missing, empty or names a
    class it has no probability column for."""
    path = run / "predictions.csv"
    if not path.is_file():
        raise InputError(f"{run} has no predictions.csv; is it a finished rtmer train run folder?")
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise InputError(f"{path} holds no predictions")
    classes = tuple(k[2:] for k in rows[0] if k.startswith("p_"))
    index = {c: i for i, c in enumerate(classes)}
    try:
        labels = np.array([index[r["label"]] for r in rows], np.int64)
        preds = np.array([index[r["prediction"]] for r in rows], np.int64)
    except KeyError as exc:
        raise InputError(f"{path}: class {exc} is not among the probability columns {classes}") from exc
    return Predictions([r["dataset"] for r in rows], labels, preds, classes)
