"""Subject-independent cross-validation that cannot look at the test subject.

Each fold trains a fresh model on the training subjects only, for an epoch count fixed before the
run or chosen on a validation split of the *training* subjects (:func:`rtmer.data.splits.validation_split`),
predicts the held-out subjects once at the end, and the predictions of all folds are pooled before
UF1, UAR and accuracy are computed once (the MEGC protocol), never averaged over folds.

Each finished fold is written to ``out/folds/`` (its model as safetensors, its test predictions
as JSON); a run started again with ``resume=True`` keeps the finished folds whose settings match
and trains the rest. Folds are seeded independently, so the result does not depend on the order
the folds run in, on resuming, or on running them in parallel processes.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from rtmer.data.splits import leave_one_subject_out, subject_kfold, validation_split
from rtmer.errors import InputError
from rtmer.fileio import atomic_write
from rtmer.models import registry
from rtmer.train import metrics
from rtmer.train.loop import Fitted, fit, predict, uf1_of
from rtmer.train.recipes import Recipe

EpochChoice = Literal["fixed", "validation"]


@dataclass(frozen=True)
class RunConfig:
    """What a cross-validation run does; all of it fixed before the first fold trains.

    folds: "loso" or "kfold:K"; epoch_choice: "fixed" (``recipe.epochs``) or "validation" (the
    epoch with the best validation UF1 on ``val_fraction`` of the training subjects, then a
    retrain on all training subjects for that many epochs); options: the model constructor's
    keyword arguments; device: "cpu" or "cuda".
    """

    model: str
    recipe: Recipe
    num_classes: int
    folds: str = "loso"
    epoch_choice: EpochChoice = "fixed"
    val_fraction: float = 0.2
    seed: int = 0
    device: str = "cpu"
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        registry.get(self.model)
        if self.epoch_choice not in ("fixed", "validation"):
            raise InputError(f"epoch_choice must be fixed or validation, got {self.epoch_choice!r}")
        if self.folds != "loso":
            _kfold_k(self.folds)

    def key(self) -> str:
        """A hash of every setting that changes a fold's result (not ``device``)."""
        d = asdict(self)
        d.pop("device")
        return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class FoldRecord:
    """One fold: its name (the test subject key, or "foldIofK"), side sizes, the epochs it
    trained for, the validation UF1 per epoch (empty when epochs were fixed), and wall time."""

    name: str
    n_train: int
    n_test: int
    epochs: int
    val_uf1: tuple[float, ...]
    seconds: float


@dataclass(frozen=True)
class CvResult:
    """Pooled out-of-fold results: row i of ``predictions``/``probabilities`` is clip i, predicted
    by the model of the fold that held out clip i's subject."""

    predictions: np.ndarray  # (N,) int64
    probabilities: np.ndarray  # (N, K) float32
    labels: np.ndarray  # (N,) int64
    folds: tuple[FoldRecord, ...]
    uf1: float
    uar: float
    accuracy: float
    confusion: np.ndarray  # (K, K), row = true class


def _kfold_k(folds: str) -> int:
    head, _, k = folds.partition(":")
    if head != "kfold" or not k.isdigit() or int(k) < 2:
        raise InputError(f"folds must be 'loso' or 'kfold:K' with K >= 2, got {folds!r}")
    return int(k)


def fold_splits(
    folds: str, subjects: Sequence[str], seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """The (train, test, name) folds of ``folds`` ("loso" or "kfold:K") over per-clip subject keys."""
    if folds == "loso":
        return list(leave_one_subject_out(list(subjects)))
    return list(subject_kfold(list(subjects), _kfold_k(folds), seed))


def build_model(config: RunConfig, init: dict[str, torch.Tensor] | None = None) -> torch.nn.Module:
    """A fresh model of the run; ``init``: pre-trained weights (CK+), every tensor whose name and
    shape match (the classifier of another class count is left at its initialisation)."""
    model = registry.get(config.model).build(num_classes=config.num_classes, **config.options)
    if init:
        own = model.state_dict()
        model.load_state_dict(
            {k: v for k, v in init.items() if k in own and own[k].shape == v.shape}, strict=False
        )
    return model


def fit_fresh(
    config: RunConfig,
    x: torch.Tensor,
    y: torch.Tensor,
    recipe: Recipe,
    seed: int,
    init: dict[str, torch.Tensor] | None = None,
    on_epoch: Callable[[int, Fitted], None] | None = None,
) -> Fitted:
    """A fresh model of the run (initialised and trained from ``seed``) fitted on ``(x, y)``."""
    torch.manual_seed(seed)
    model = build_model(config, init)
    gen = torch.Generator().manual_seed(seed)
    return fit(model, x, y, config.num_classes, recipe, gen, device=config.device, on_epoch=on_epoch)


def fold_seed(seed: int, fold_index: int) -> int:
    return seed * 100_003 + fold_index


def train_fold(
    config: RunConfig,
    x: torch.Tensor,
    y: np.ndarray,
    subjects: Sequence[str],
    train: np.ndarray,
    fold_index: int,
    init: dict[str, torch.Tensor] | None = None,
) -> tuple[Fitted, int, tuple[float, ...]]:
    """Trains one fold's model on ``train`` only: (fitted, epochs trained, validation UF1 per epoch)."""
    recipe = config.recipe
    k = config.num_classes
    s = fold_seed(config.seed, fold_index)
    y_t = torch.from_numpy(y)
    val_scores: list[float] = []
    if config.epoch_choice == "validation":
        fit_idx, val_idx = validation_split(train, list(subjects), config.val_fraction, s)
        fit_fresh(
            config, x[fit_idx], y_t[fit_idx], recipe, s, init,
            on_epoch=lambda _e, f: val_scores.append(uf1_of(f, x[val_idx], y[val_idx], k, config.device)),
        )  # fmt: skip
        # The first epoch with the best validation UF1; for two-stage models it counts temporal epochs.
        best = int(np.argmax(val_scores)) + 1
        recipe = (
            replace(recipe, stage2_epochs=best)
            if recipe.strategy == "two_stage"
            else replace(recipe, epochs=best)
        )
    fitted = fit_fresh(config, x[train], y_t[train], recipe, s, init)
    epochs = recipe.stage2_epochs if recipe.strategy == "two_stage" else recipe.epochs
    return fitted, epochs, tuple(val_scores)


def _fold_paths(out: Path, fold_index: int, name: str) -> tuple[Path, Path]:
    stem = f"{fold_index:03d}_{name.replace('/', '_')}"
    return out / "folds" / f"{stem}.json", out / "folds" / f"{stem}.safetensors"


def _run_fold(
    config: RunConfig,
    inputs: np.ndarray | str,
    y: np.ndarray,
    subjects: Sequence[str],
    train: np.ndarray,
    test: np.ndarray,
    name: str,
    fold_index: int,
    out: Path | None,
    init: dict[str, torch.Tensor] | None,
    threads: int | None,
) -> tuple[np.ndarray, FoldRecord]:
    """One fold end to end; runs in this process or a worker (``inputs`` then a .npy path)."""
    from safetensors.torch import save_file

    from rtmer.export.weights import state_tensors

    if threads is not None:
        torch.set_num_threads(threads)
    x_np = np.load(inputs) if isinstance(inputs, str) else inputs
    x = torch.from_numpy(np.ascontiguousarray(x_np, dtype=np.float32))
    start = time.perf_counter()
    deterministic_before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        fitted, epochs, val = train_fold(config, x, y, subjects, train, fold_index, init)
        probs = predict(fitted, x[test], config.device)
    finally:
        torch.use_deterministic_algorithms(deterministic_before)
    record = FoldRecord(name, int(train.size), int(test.size), epochs, val, time.perf_counter() - start)
    if out is not None:
        meta_path, weights_path = _fold_paths(out, fold_index, name)
        state = state_tensors(fitted.net)
        with atomic_write(weights_path) as tmp:
            save_file(state, str(tmp))
        meta = {
            "config": config.key(),
            "record": asdict(record),
            "test": test.tolist(),
            "probabilities": probs.tolist(),
        }
        with atomic_write(meta_path) as tmp:
            tmp.write_text(json.dumps(meta))
    return probs, record


def _finished(
    out: Path, fold_index: int, name: str, config: RunConfig, test: np.ndarray
) -> tuple[np.ndarray, FoldRecord] | None:
    meta_path, weights_path = _fold_paths(out, fold_index, name)
    if not (meta_path.is_file() and weights_path.is_file()):
        return None
    try:
        meta = json.loads(meta_path.read_text())
    except ValueError:
        return None  # a torn write from an interrupted run: train the fold again
    if meta.get("config") != config.key() or meta.get("test") != test.tolist():
        return None
    r = meta["record"]
    record = FoldRecord(r["name"], r["n_train"], r["n_test"], r["epochs"], tuple(r["val_uf1"]), r["seconds"])
    return np.asarray(meta["probabilities"], np.float32), record


def run_cv(
    inputs: np.ndarray,
    labels: np.ndarray | Sequence[int],
    subjects: np.ndarray | Sequence[str],
    config: RunConfig,
    *,
    out: str | Path | None = None,
    resume: bool = False,
    jobs: int = 1,
    init: dict[str, torch.Tensor] | None = None,
    on_fold: Callable[[str, np.ndarray, np.ndarray], None] | None = None,
    progress: Callable[[FoldRecord], None] | None = None,
) -> CvResult:
    """Cross-validate ``config`` on ``inputs`` ``(N, *item)`` float32 with ``labels`` ``(N,)`` and
    per-clip subject keys; pool the test predictions and score them once.

    ``out``: the run folder for per-fold checkpoints (None: nothing written); ``resume``: keep the
    finished folds found there; ``jobs``: folds in parallel worker processes (one torch thread
    each); ``init``: pre-trained weights every fold starts from; ``on_fold(name, train, test)``:
    called before each fold trains (tests check that no subject leaks); ``progress(record)``:
    after each fold.
    """
    y = np.array(labels, dtype=np.int64)  # a writable copy: torch shares its memory
    subs = [str(s) for s in subjects]
    n = len(inputs)
    if y.shape != (n,) or len(subs) != n:
        raise InputError(
            f"need one label and one subject per input: {n} inputs, {y.size} labels, {len(subs)} subjects"
        )
    if y.size == 0 or y.min() < 0 or y.max() >= config.num_classes:
        raise InputError(f"labels must be class indices in 0..{config.num_classes - 1}")
    run_dir = None if out is None else Path(out)
    folds = fold_splits(config.folds, subs, config.seed)
    probs = np.zeros((n, config.num_classes), np.float32)
    records: dict[int, FoldRecord] = {}
    todo: list[int] = []
    for i, (_, test, name) in enumerate(folds):
        done = _finished(run_dir, i, name, config, test) if (resume and run_dir is not None) else None
        if done is None:
            todo.append(i)
        else:
            probs[test], records[i] = done
    for i in todo:
        if on_fold is not None:
            train, test, name = folds[i]
            on_fold(name, train.copy(), test.copy())

    def finish(i: int, result: tuple[np.ndarray, FoldRecord]) -> None:
        probs[folds[i][1]], records[i] = result
        if progress is not None:
            progress(result[1])

    if jobs <= 1 or len(todo) <= 1:
        for i in todo:
            train, test, name = folds[i]
            finish(i, _run_fold(config, inputs, y, subs, train, test, name, i, run_dir, init, None))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            # Workers read the inputs from disk instead of receiving them pickled through a pipe.
            path = str(Path(tmp) / "inputs.npy")
            np.save(path, np.asarray(inputs, np.float32))
            ctx = get_context("spawn")
            with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
                futures = {
                    pool.submit(_run_fold, config, path, y, subs, *folds[i], i, run_dir, init, 1): i
                    for i in todo
                }
                for fut, i in futures.items():
                    finish(i, fut.result())

    pred = probs.argmax(axis=1).astype(np.int64)
    k = config.num_classes
    return CvResult(
        predictions=pred,
        probabilities=probs,
        labels=y,
        folds=tuple(records[i] for i in range(len(folds))),
        uf1=metrics.uf1(y, pred, k),
        uar=metrics.uar(y, pred, k),
        accuracy=metrics.accuracy(y, pred, k),
        confusion=metrics.confusion(y, pred, k),
    )
