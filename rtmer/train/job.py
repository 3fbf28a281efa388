"""One training run as a job: cross-validation of a model on labelled data sets, its report, and
optionally final weights with their model card (what ``rtmer train`` runs).

The run folder gets config.json, folds/ (one checkpoint per finished fold: ``resume`` continues
an interrupted run), predictions.csv, report.md/.json with confusion PNGs, with ``pretrain``
pretrain.safetensors, and with ``final`` the weights (safetensors + ONNX) and their card
<name>.json/.md, usable by ``rtmer live --model CARD``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rtmer.data.protocols import Labelled
from rtmer.errors import InputError
from rtmer.export.weights import save_weights, state_tensors
from rtmer.features import FeatureSpec
from rtmer.models import registry
from rtmer.train import DEFAULT_CACHE, report
from rtmer.train.inputs import load_labelled, model_inputs
from rtmer.train.loso import CvResult, FoldRecord, RunConfig, fit_fresh, run_cv
from rtmer.train.predictions import write_predictions
from rtmer.train.recipes import recipe
from rtmer.weights import SYNTHETIC_STATEMENT, WeightCard


@dataclass(frozen=True)
class TrainJob:
    """Everything one training run needs.

    model: a registry name; data: (data set, root) pairs; out: the run folder (must be empty
    unless ``resume``); protocol: default the model's; folds: "loso" or "kfold:K"; epochs, lr,
    batch_size, stage2_epochs: recipe overrides (None: the model's recipe); select_epochs: choose
    each fold's epochs on a validation split of its training subjects (``epochs`` is then the
    upper bound); feature: :class:`FeatureSpec` overrides, JSON values (kept on the card);
    options: the model constructor's keyword arguments; pretrain: a CK+ root to pre-train on
    first (LAENet's recipe), for ``pretrain_epochs``; final: then train on every clip and write
    weights + card, named ``name`` (default MODEL-synthetic or MODEL-PROTOCOL); processes: folds
    run in parallel processes; device: "auto", "cpu" or "cuda"; cache: the feature cache (None:
    none); progress: progress lines on stderr.
    """

    model: str
    data: Sequence[tuple[str, str | Path]]
    out: Path
    protocol: str | None = None
    folds: str = "loso"
    epochs: int | None = None
    lr: float | None = None
    batch_size: int | None = None
    stage2_epochs: int | None = None
    select_epochs: bool = False
    feature: Mapping[str, Any] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    pretrain: str | Path | None = None
    pretrain_epochs: int = 30
    final: bool = False
    name: str | None = None
    processes: int = 1
    device: str = "auto"
    seed: int = 0
    resume: bool = False
    cache: str | Path | None = DEFAULT_CACHE
    progress: bool = True


@dataclass(frozen=True)
class TrainResult:
    """The cross-validation scores (per data set and ``"composite"``), the report.md written, and
    the final weights' card (None without ``final``)."""

    scores: dict[str, report.Scores]
    report: Path
    card: WeightCard | None


def run_job(job: TrainJob) -> TrainResult:
    """Runs ``job``: the run folder as the module says, the scores of its pooled predictions."""
    started = time.time()
    spec_model = registry.get(job.model)
    out = Path(job.out)
    if out.exists() and any(out.iterdir()) and not job.resume:
        raise InputError(f"{out} is not empty; pass --resume to continue that run, or another --out")
    out.mkdir(parents=True, exist_ok=True)
    labelled = load_labelled(job.data, job.protocol or spec_model.protocol)
    rec = recipe(job.model).with_overrides(
        epochs=job.epochs, lr=job.lr, batch_size=job.batch_size, stage2_epochs=job.stage2_epochs
    )
    feature = FeatureSpec.from_overrides(job.feature)
    config = RunConfig(
        model=job.model, recipe=rec, num_classes=len(labelled.classes), folds=job.folds,
        epoch_choice="validation" if job.select_epochs else "fixed", seed=job.seed,
        device=_device(job.device), options=dict(job.options),
    )  # fmt: skip
    run_config = {
        "model": job.model,
        "protocol": labelled.protocol.name,
        "data": [f"{n}={r}" for n, r in job.data],
        "run": asdict(config),
        "feature": feature.overrides(),
        "pretrain": None if job.pretrain is None else f"ckplus={job.pretrain}",
        "pretrain_epochs": None if job.pretrain is None else job.pretrain_epochs,
    }
    (out / "config.json").write_text(json.dumps(run_config, indent=2, default=str) + "\n")
    _say(job.progress, f"{job.model}: {len(labelled)} clips, {len(labelled.subject_set())} subjects, "
         f"classes {labelled.class_counts()}, folds {job.folds}, device {config.device}")  # fmt: skip
    x = model_inputs(labelled, job.model, feature, cache=job.cache, progress=job.progress)
    init = None if job.pretrain is None else _pretrain(job, feature, config.device, out)

    def progress(record: FoldRecord) -> None:
        _say(job.progress, f"  fold {record.name}: {record.n_train} train / {record.n_test} test clips, "
             f"{record.epochs} epochs, {record.seconds:.1f} s")  # fmt: skip

    result = run_cv(
        x, labelled.labels, labelled.subjects, config, out=out, resume=job.resume, jobs=job.processes,
        init=init, progress=progress,
    )  # fmt: skip
    write_predictions(out / "predictions.csv", labelled, result.probabilities)
    scores = report.scores_by_dataset(
        [c.dataset for c in labelled.clips], labelled.labels, result.predictions, len(labelled.classes)
    )
    notes = [
        f"{spec_model.name}, {job.folds} over {len(labelled.subject_set())} subjects, {rec.epochs} epochs "
        + (
            "chosen per fold on a validation split of the training subjects"
            if job.select_epochs
            else "fixed in advance"
        ),
        f"recipe: {rec.source}",
    ]
    manifest = report.manifest(run_config, labelled, started)
    path = report.write_report(out, f"rtmer train: {job.model}", scores, labelled.classes, manifest, notes)
    card = _final(job, labelled, x, config, result, scores, init, feature, manifest) if job.final else None
    return TrainResult(scores, path, card)


def _device(name: str) -> str:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError(
            "--device cuda: torch sees no CUDA device (CPU-only torch, or no GPU); use --device cpu"
        )
    if name == "cuda":
        # cuBLAS needs this before CUDA starts for torch's deterministic mode.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    return name


def _say(progress: bool, text: str) -> None:
    if progress:
        print(text, file=sys.stderr, flush=True)


def _pretrain(job: TrainJob, feature: FeatureSpec, device: str, out: Path) -> dict[str, torch.Tensor]:
    """LAENet's CK+ pre-training: all CK+ sequences (onset = first frame, apex = last), the
    ckplus-7 classes; CK+ shares no subject with the micro-expression sets, so no fold leaks."""
    from safetensors.torch import load_file, save_file

    path = out / "pretrain.safetensors"
    if job.resume and path.is_file():
        return load_file(str(path))
    ck = load_labelled([("ckplus", str(job.pretrain))], "ckplus-7")
    _say(job.progress, f"pre-training on CK+: {len(ck)} sequences, {len(ck.classes)} classes")
    x = model_inputs(ck, job.model, feature, cache=job.cache, progress=job.progress)
    rec = recipe(job.model).with_overrides(epochs=job.pretrain_epochs)
    config = RunConfig(
        model=job.model, recipe=rec, num_classes=len(ck.classes), seed=job.seed, device=device,
        options=dict(job.options),
    )  # fmt: skip
    fitted = fit_fresh(config, torch.from_numpy(x), torch.from_numpy(ck.labels.copy()), rec, job.seed)
    state = state_tensors(fitted.net)
    save_file(state, str(path))
    return state


def _final(
    job: TrainJob,
    labelled: Labelled,
    x: np.ndarray,
    config: RunConfig,
    result: CvResult,
    scores: dict[str, report.Scores],
    init: dict[str, torch.Tensor] | None,
    feature: FeatureSpec,
    manifest: dict[str, Any],
) -> WeightCard:
    """Trains once on every clip (the cross-validated recipe; with ``select_epochs`` the median of
    the folds' chosen epochs) and writes the weights and their card."""
    rec = config.recipe
    if config.epoch_choice == "validation":
        chosen = int(np.median([f.epochs for f in result.folds]))
        rec = (
            replace(rec, stage2_epochs=chosen) if rec.strategy == "two_stage" else replace(rec, epochs=chosen)
        )
    labels = torch.from_numpy(labelled.labels.copy())
    fitted = fit_fresh(config, torch.from_numpy(x), labels, rec, config.seed, init)
    synthetic = {c.dataset for c in labelled.clips} == {"synthetic"}
    name = job.name or f"{job.model}-{'synthetic' if synthetic else labelled.protocol.name}"
    composite = scores["composite"]
    card = WeightCard(
        path=Path(job.out) / f"{name}.json",
        name=name,
        model=job.model,
        classes=tuple(labelled.classes),
        protocol=labelled.protocol.name,
        files={},
        feature=feature.overrides(),
        synthetic=synthetic,
        training={
            "data": manifest["config"]["data"],
            "data_fingerprint": manifest["data"]["fingerprint"],
            "clips": len(labelled),
            "subjects": len(labelled.subject_set()),
            "recipe": asdict(rec),
            "options": config.options,
            "generator": _generator(job.data),
            "pretrain": None if job.pretrain is None else "ckplus",
            "seed": config.seed,
            "rtmer": manifest["rtmer"],
            "git": manifest["git"],
        },
        metrics={
            "protocol": f"{config.folds} cross-validation, predictions pooled, scored once",
            "folds": len(result.folds),
            "uf1": round(composite.uf1, 4),
            "uar": round(composite.uar, 4),
            "accuracy": round(composite.accuracy, 4),
            "per_dataset": {k: {"uf1": round(v.uf1, 4), "uar": round(v.uar, 4)} for k, v in scores.items()},
            "note": "the cross-validation scores of this recipe; the weights are the same recipe trained "
            "once on all clips",
        },
        params=sum(p.numel() for p in fitted.net.parameters()),
        created=time.strftime("%Y-%m-%d"),
        statement=SYNTHETIC_STATEMENT if synthetic else "Trained on the data sets named under training.",
    )
    card = save_weights(fitted.net, card, svm=fitted.svm, options=config.options)
    card.path.with_suffix(".md").write_text(card.markdown())
    return card


def _generator(data: Sequence[tuple[str, str | Path]]) -> list[dict[str, Any]]:
    """What made each synthetic data set: rtmer_synthetic.json's generator, seed, rate and size."""
    out = []
    for name, root in data:
        path = Path(root) / "rtmer_synthetic.json"
        if name == "synthetic" and path.is_file():
            d = json.loads(path.read_text())
            out.append(
                {k: d.get(k) for k in ("generator", "kind", "seed", "fps", "size")}
                | {"subjects": len(d.get("subjects", []))}
            )
    return out
