"""Leave-one-subject-out training and evaluation that cannot look at the test subject.

Each fold trains a fresh model for a number of epochs fixed before the run (never chosen on the
test subject), predicts the held-out subject once at the end, and the predictions of all folds
are pooled before UF1, UAR and accuracy are computed once (the MEGC protocol), not averaged over
folds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rtmer.data.splits import leave_one_subject_out
from rtmer.errors import InputError
from rtmer.models.losses import focal_loss, inverse_frequency, label_smoothing_loss
from rtmer.train import metrics

LOSSES = ("ce", "focal", "smooth")


@dataclass(frozen=True)
class FoldRecord:
    """One fold: its name (the test subject key), side sizes and wall-clock training+test time."""

    name: str
    n_train: int
    n_test: int
    seconds: float


@dataclass(frozen=True)
class LosoResult:
    """Pooled out-of-fold results: row i of ``predictions``/``probabilities`` is clip i, predicted
    by the model of the fold that held out clip i's subject."""

    predictions: np.ndarray  # (N,) int64
    probabilities: np.ndarray  # (N, K) float32, softmax of the logits
    labels: np.ndarray  # (N,) int64
    folds: tuple[FoldRecord, ...]
    uf1: float
    uar: float
    accuracy: float
    confusion: np.ndarray  # (K, K), row = true class


def _loss_fn(
    name: str, train_labels: torch.Tensor, k: int
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    if name == "ce":
        return F.cross_entropy
    if name == "focal":
        # alpha from this fold's training labels only: the test subject's labels stay unseen.
        alpha = inverse_frequency(train_labels, k)
        return lambda logits, y: focal_loss(logits, y, gamma=2.0, alpha=alpha)
    return label_smoothing_loss


def _batches(n: int, batch_size: int, gen: torch.Generator) -> list[torch.Tensor]:
    order = torch.randperm(n, generator=gen)
    batches = list(torch.split(order, batch_size))
    # Batch norm cannot train on a single sample: fold a lone last sample into the previous batch.
    if len(batches) > 1 and batches[-1].numel() == 1:
        batches[-2:] = [torch.cat(batches[-2:])]
    return batches


def _train_fold(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    k: int,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    loss: str,
    gen: torch.Generator,
) -> None:
    loss_fn = _loss_fn(loss, y, k)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(epochs):
        for idx in _batches(x.shape[0], batch_size, gen):
            opt.zero_grad()
            loss_fn(model(x[idx]), y[idx]).backward()
            opt.step()


def run_loso(
    inputs: np.ndarray,
    labels: np.ndarray | Sequence[int],
    subjects: np.ndarray | Sequence[str],
    make_model: Callable[[], nn.Module],
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    loss: str = "ce",
    seed: int = 0,
    on_fold: Callable[[str, np.ndarray, np.ndarray], None] | None = None,
) -> LosoResult:
    """Train one model per LOSO fold for exactly ``epochs`` epochs with Adam, pool the test
    predictions, score them once.

    ``inputs``: ``(N, *InputSpec.shape)`` float32, channels first; ``labels``: ``(N,)`` class
    indices; ``subjects``: ``(N,)`` subject keys (``Labelled.subjects``). ``make_model()`` returns
    a freshly initialised model whose logits have K >= max(label) + 1 columns. ``loss``: "ce",
    "focal" (gamma 2, alpha = inverse class frequency of the fold's training labels) or "smooth"
    (label smoothing 0.1). ``on_fold(fold_name, train_idx, test_idx)`` is called before each fold
    trains (instrumentation: tests use it to check that no subject leaks). Runs on the CPU with
    deterministic algorithms; the same seed gives the same predictions.
    """
    x_all = torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32))
    y_np = np.asarray(labels, dtype=np.int64)
    subs = np.asarray([str(s) for s in subjects], dtype=object)
    n = x_all.shape[0]
    if y_np.shape != (n,) or subs.shape != (n,):
        raise InputError(
            f"need one label and one subject per input: {n} inputs, {y_np.size} labels, {subs.size} subjects"
        )
    if y_np.size == 0 or y_np.min() < 0:
        raise InputError("labels must be non-negative class indices")
    if loss not in LOSSES:
        raise InputError(f"unknown loss {loss!r}; available: {', '.join(LOSSES)}")
    if epochs < 1 or batch_size < 1 or lr <= 0:
        raise InputError(f"need epochs >= 1, batch_size >= 1 and lr > 0, got {epochs}, {batch_size}, {lr}")
    y_all = torch.from_numpy(y_np)

    deterministic_before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        probs: np.ndarray | None = None
        records: list[FoldRecord] = []
        for fold_i, (train, test, name) in enumerate(leave_one_subject_out(subs.tolist())):
            if on_fold is not None:
                on_fold(name, train.copy(), test.copy())
            start = time.perf_counter()
            # Seed per fold (not once per run) so a fold's result does not depend on the folds
            # before it, e.g. when folds run in parallel or a run resumes.
            torch.manual_seed(seed * 100_003 + fold_i)
            gen = torch.Generator().manual_seed(seed * 100_003 + fold_i)
            model = make_model()
            xtr, ytr = x_all[train], y_all[train]
            with torch.no_grad():
                k = model.eval()(xtr[:1]).shape[1]
            if y_np.max() >= k:
                raise InputError(f"the model has {k} outputs but labels go up to {int(y_np.max())}")
            _train_fold(model, xtr, ytr, k, epochs=epochs, lr=lr, batch_size=batch_size, loss=loss, gen=gen)
            model.eval()
            with torch.no_grad():
                p = torch.softmax(model(x_all[test]), dim=1).numpy()
            if probs is None:
                probs = np.zeros((n, k), dtype=np.float32)
            probs[test] = p
            records.append(FoldRecord(name, int(train.size), int(test.size), time.perf_counter() - start))
    finally:
        torch.use_deterministic_algorithms(deterministic_before)

    assert probs is not None  # leave_one_subject_out yields at least two folds or raises
    k = probs.shape[1]
    pred = probs.argmax(axis=1).astype(np.int64)
    return LosoResult(
        predictions=pred,
        probabilities=probs,
        labels=y_np,
        folds=tuple(records),
        uf1=metrics.uf1(y_np, pred, k),
        uar=metrics.uar(y_np, pred, k),
        accuracy=metrics.accuracy(y_np, pred, k),
        confusion=metrics.confusion(y_np, pred, k),
    )
