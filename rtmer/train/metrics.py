"""Pooled classification metrics of the MEGC protocols: UF1, UAR, accuracy, confusion matrix.

All take integer labels ``y_true``, ``y_pred`` (same length, values in ``0..n_classes-1``).

Classes absent from ``y_true``: **[rtmer]** they are left out of the UF1 and UAR means. Their
recall TP/N_c is 0/0, and their F1 would only restate errors already counted: a prediction of
such a class is a false negative of the true class, which lowers that class's F1 and recall.
This is scikit-learn's ``f1_score``/``recall_score(average="macro", labels=np.unique(y_true))``.
Classes present in ``y_true`` but never predicted count with F1 0 and recall 0.
"""

from __future__ import annotations

import numpy as np

from rtmer.errors import InputError


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts ``(n_classes, n_classes)`` int64: row = true class, column = predicted class."""
    t, p = _check(y_true, y_pred, n_classes)
    return np.bincount(t * n_classes + p, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def uf1(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    """Unweighted F1: mean over the classes present in ``y_true`` of 2TP / (2TP + FP + FN)."""
    cm = confusion(y_true, y_pred, n_classes)
    tp = np.diag(cm)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    present = cm.sum(axis=1) > 0
    # 2TP + FP + FN >= N_c > 0 for a present class, so no division by zero.
    return float(np.mean(2 * tp[present] / (2 * tp[present] + fp[present] + fn[present])))


def uar(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    """Unweighted average recall: mean over the classes present in ``y_true`` of TP / N_c."""
    cm = confusion(y_true, y_pred, n_classes)
    n_c = cm.sum(axis=1)
    present = n_c > 0
    return float(np.mean(np.diag(cm)[present] / n_c[present]))


def accuracy(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    """Fraction of clips predicted correctly."""
    t, p = _check(y_true, y_pred, n_classes)
    return float(np.mean(t == p))


def _check(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true).astype(np.int64, copy=False).ravel()
    p = np.asarray(y_pred).astype(np.int64, copy=False).ravel()
    if t.size != p.size:
        raise InputError(f"y_true has {t.size} labels, y_pred {p.size}")
    if t.size == 0:
        raise InputError("no labels to score")
    if n_classes < 1:
        raise InputError(f"n_classes must be >= 1, got {n_classes}")
    for name, a in (("y_true", t), ("y_pred", p)):
        if a.min() < 0 or a.max() >= n_classes:
            raise InputError(f"{name} must lie in 0..{n_classes - 1}")
    return t, p
