"""Scoring again: a training run's pooled predictions, or trained weights on a data set (what
``rtmer eval`` runs). Imports no torch: weights are scored on any backend."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rtmer.backends import open_backend
from rtmer.errors import InputError
from rtmer.train import DEFAULT_CACHE, report
from rtmer.train.inputs import load_labelled, model_inputs
from rtmer.train.predictions import read_predictions
from rtmer.weights import WeightCard


@dataclass(frozen=True)
class Evaluation:
    """Scores per data set and ``"composite"``, and the report.md written (None when none was)."""

    scores: dict[str, report.Scores]
    report: Path | None


def rescore_run(run: str | Path) -> Evaluation:
    """Scores a finished run's out-of-fold predictions (``predictions.csv``) again and rewrites its
    report, keeping the manifest it had."""
    run = Path(run)
    stored = read_predictions(run)
    scores = report.scores_by_dataset(stored.datasets, stored.labels, stored.predictions, len(stored.classes))
    previous = run / "report.json"
    manifest = json.loads(previous.read_text()).get("manifest", {}) if previous.is_file() else {}
    notes = [f"re-scored by rtmer eval on {time.strftime('%Y-%m-%d %H:%M:%S')} from predictions.csv"]
    path = report.write_report(run, f"rtmer eval: {run.name}", scores, stored.classes, manifest, notes)
    return Evaluation(scores, path)


def score_weights(
    weights: str | Path | WeightCard,
    data: Sequence[tuple[str, str | Path]],
    *,
    protocol: str | None = None,
    backend: str = "auto",
    out: str | Path | None = None,
    cache: str | Path | None = DEFAULT_CACHE,
    progress: bool = True,
) -> Evaluation:
    """Scores ``weights`` (a card, its path or a shipped name) on ``backend`` over every clip of the
    (data set, root) pairs in ``data``, labelled by ``protocol`` (default: the card's); writes
    report.md/.json and confusion PNGs to ``out`` when given. ``cache``: the feature cache (None:
    none); ``progress``: a progress bar on stderr while the features are built."""
    started = time.time()
    runtime = open_backend(weights, backend)
    card = runtime.card
    labelled = load_labelled(data, protocol or card.protocol)
    if tuple(labelled.classes) != tuple(card.classes):
        raise InputError(
            f"the weights predict {', '.join(card.classes)} but protocol {labelled.protocol.name} has "
            f"{', '.join(labelled.classes)}; pass --protocol {card.protocol}"
        )
    x = model_inputs(labelled, card.model, card.feature_spec(), cache=cache, progress=progress)
    probs = np.concatenate([runtime(x[i : i + 1]) for i in range(len(x))])
    preds = probs.argmax(axis=1)
    scores = report.scores_by_dataset(
        [c.dataset for c in labelled.clips], labelled.labels, preds, len(card.classes)
    )
    if out is None:
        return Evaluation(scores, None)
    config = {
        "weights": str(card.path),
        "backend": runtime.name,
        "data": [f"{name}={root}" for name, root in data],
        "protocol": labelled.protocol.name,
    }
    notes = [f"weights {card.name} ({card.model}) with the {runtime.name} backend on every clip given"]
    if card.synthetic:
        notes.append("these weights were trained on synthetic data only")
    path = report.write_report(
        Path(out),
        f"rtmer eval: {card.name}",
        scores,
        card.classes,
        report.manifest(config, labelled, started),
        notes,
    )
    return Evaluation(scores, path)
