"""LOSO runner and pooled metrics: agreement with scikit-learn, no subject leak, learning, determinism."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, recall_score
from torch import nn

from rtmer.errors import InputError
from rtmer.models import registry
from rtmer.train import metrics
from rtmer.train.loso import LosoResult, run_loso

K = 3


@pytest.mark.parametrize("seed", range(5))
def test_metrics_agree_with_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 4, 60)
    y_pred = rng.integers(0, 3, 60)  # class 3 is never predicted
    labels = np.unique(y_true)
    assert metrics.uf1(y_true, y_pred, 4) == pytest.approx(
        f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
    )
    assert metrics.uar(y_true, y_pred, 4) == pytest.approx(
        recall_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
    )
    assert metrics.accuracy(y_true, y_pred, 4) == pytest.approx(accuracy_score(y_true, y_pred))
    np.testing.assert_array_equal(
        metrics.confusion(y_true, y_pred, 4), confusion_matrix(y_true, y_pred, labels=range(4))
    )


def test_metrics_leave_out_classes_absent_from_truth() -> None:
    # Class 2 never occurs in y_true but is predicted once: it is not averaged in, and the wrong
    # prediction still costs class 0 (a false negative).
    y_true = np.array([0, 0, 1, 1])
    y_pred = np.array([0, 2, 1, 1])
    assert metrics.uar(y_true, y_pred, 3) == pytest.approx((0.5 + 1.0) / 2)
    assert metrics.uf1(y_true, y_pred, 3) == pytest.approx((2 / 3 + 1.0) / 2)
    assert metrics.uf1(y_true, y_pred, 3) == pytest.approx(
        f1_score(y_true, y_pred, labels=[0, 1], average="macro", zero_division=0)
    )


def test_metrics_reject_bad_input() -> None:
    with pytest.raises(InputError):
        metrics.uf1(np.array([0, 1]), np.array([0]), 2)
    with pytest.raises(InputError):
        metrics.uar(np.array([0, 3]), np.array([0, 1]), 3)


def _synthetic(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """6 subjects x 12 clips of 3 x 28 x 28 noise plus a class-dependent pattern and a per-subject offset."""
    rng = np.random.default_rng(seed)
    patterns = rng.normal(0.0, 1.0, (K, 3, 28, 28)).astype(np.float32)
    xs, ys, ss = [], [], []
    for s in range(6):
        offset = rng.normal(0.0, 0.3, (3, 1, 1)).astype(np.float32)  # subject-specific shift
        for i in range(12):
            c = i % K
            xs.append(patterns[c] + offset + rng.normal(0.0, 1.0, (3, 28, 28)).astype(np.float32))
            ys.append(c)
            ss.append(f"synth/s{s:02d}")
    return np.stack(xs), np.array(ys), np.array(ss)


def _ststnet() -> nn.Module:
    return registry.get("ststnet").build(K)


def _run(seed: int = 0, on_fold: Callable[[str, np.ndarray, np.ndarray], None] | None = None) -> LosoResult:
    x, y, s = _synthetic()
    return run_loso(
        x, y, s, _ststnet, epochs=15, lr=0.01, batch_size=16, loss="ce", seed=seed, on_fold=on_fold
    )


def test_loso_learns_never_leaks_and_is_deterministic() -> None:
    _, _, subjects = _synthetic()
    seen: list[str] = []

    def check(name: str, train: np.ndarray, test: np.ndarray) -> None:
        seen.append(name)
        assert set(subjects[test]) == {name}
        assert name not in set(subjects[train])
        assert np.intersect1d(train, test).size == 0
        assert train.size + test.size == subjects.size

    first = _run(on_fold=check)
    assert seen == sorted(set(subjects))  # one fold per subject, each checked
    assert [f.name for f in first.folds] == seen and all(f.seconds > 0 for f in first.folds)
    assert first.probabilities.shape == (subjects.size, K)
    np.testing.assert_allclose(first.probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert first.uf1 > 0.6  # chance is about 1/3
    assert first.uf1 == pytest.approx(f1_score(first.labels, first.predictions, average="macro"))

    again = _run()
    np.testing.assert_array_equal(again.predictions, first.predictions)
    np.testing.assert_array_equal(again.probabilities, first.probabilities)


@pytest.mark.parametrize("loss", ["focal", "smooth"])
def test_loso_other_losses_run(loss: str) -> None:
    x, y, s = _synthetic()
    keep = np.isin(s, ["synth/s00", "synth/s01"])  # two folds are enough to exercise the loss
    result = run_loso(x[keep], y[keep], s[keep], _ststnet, epochs=2, lr=0.01, batch_size=8, loss=loss, seed=0)
    assert result.predictions.shape == (int(keep.sum()),)
    assert len(result.folds) == 2


def test_loso_rejects_unknown_loss_and_too_few_outputs() -> None:
    x, y, s = _synthetic()
    with pytest.raises(InputError):
        run_loso(x, y, s, _ststnet, epochs=1, lr=0.01, batch_size=8, loss="hinge", seed=0)
    with pytest.raises(InputError):
        run_loso(x, y, s, lambda: registry.get("ststnet").build(2), epochs=1, lr=0.01, batch_size=8, seed=0)
