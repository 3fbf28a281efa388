"""The aggregation network's clip SVM without torch or scikit-learn: its JSON file format and a
numpy head.

The file (written on the training side by :func:`rtmer.export.weights.svm_to_json`) holds the
scaler's mean and scale and the SVC's support vectors, dual coefficients, intercepts, kernel and
class labels; :class:`SvmHead` evaluates them in numpy. Its :meth:`SvmHead.decision_function` is
scikit-learn's ``SVC.decision_function`` with ``decision_function_shape="ovr"``; probabilities are
the softmax of those decision values (a monotone map of the SVM's scores, not Platt-calibrated
probabilities). :func:`video_features` is the clip statistics both the torch model
(:func:`rtmer.models.aggregation.aggregate`) and the head use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rtmer.errors import InputError

#: The file format's name, written into every file.
FORMAT = "rtmer-svm/1"
#: The SVC kernels the head evaluates.
KERNELS = ("linear", "poly", "rbf", "sigmoid")


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable for large logits."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def video_features(frame_features: np.ndarray) -> np.ndarray:
    """:func:`rtmer.models.aggregation.aggregate` without torch: ``(N, T, F)`` frame features ->
    ``(N, 3F)`` = [mean, std (ddof 0), median] over T, in float64."""
    f = np.asarray(frame_features, np.float64)
    if f.ndim != 3 or f.shape[1] < 1:
        raise InputError(f"frame features must be (N, T, F) with T >= 1, got shape {f.shape}")
    return np.concatenate([f.mean(axis=1), f.std(axis=1), np.median(f, axis=1)], axis=1)


@dataclass(frozen=True)
class SvmHead:
    """Standardise -> SVC decision values -> softmax. ``labels``: the class index of each SVC class
    (training may have lacked a class: :meth:`predict_proba` gives it probability 0)."""

    mean: np.ndarray
    scale: np.ndarray
    kernel: str
    gamma: float
    coef0: float
    degree: int
    labels: tuple[int, ...]
    n_support: tuple[int, ...]
    support_vectors: np.ndarray
    dual_coef: np.ndarray
    intercept: np.ndarray
    num_classes: int

    @classmethod
    def from_json(cls, d: dict[str, Any], num_classes: int | None = None) -> SvmHead:
        """The head from a file's dict (:func:`rtmer.export.weights.svm_to_json`); ``num_classes``:
        the card's K (default: the largest label + 1)."""
        if d.get("format") != FORMAT or d.get("kernel") not in KERNELS:
            raise InputError(f"not an rtmer SVM ({FORMAT}, kernels {', '.join(KERNELS)}); re-export it")
        labels = tuple(int(c) for c in d["labels"])
        k = max(labels) + 1 if num_classes is None else num_classes
        if len(labels) < 2 or min(labels) < 0 or max(labels) >= k:
            raise InputError(f"SVM labels {labels} do not fit {k} classes; re-export the SVM with its card")
        return cls(
            mean=np.asarray(d["mean"], np.float64),
            scale=np.asarray(d["scale"], np.float64),
            kernel=str(d["kernel"]),
            gamma=float(d["gamma"]),
            coef0=float(d["coef0"]),
            degree=int(d["degree"]),
            labels=labels,
            n_support=tuple(int(n) for n in d["n_support"]),
            support_vectors=np.asarray(d["support_vectors"], np.float64),
            dual_coef=np.asarray(d["dual_coef"], np.float64),
            intercept=np.asarray(d["intercept"], np.float64),
            num_classes=k,
        )

    @classmethod
    def load(cls, path: Path, num_classes: int | None = None) -> SvmHead:
        """The head in the JSON file at ``path``."""
        try:
            d = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read the SVM file {path} ({exc}); re-export the weights") from exc
        return cls.from_json(d, num_classes)

    def _kernel(self, x: np.ndarray) -> np.ndarray:
        sv = self.support_vectors
        if self.kernel == "rbf":
            d2 = (x * x).sum(1)[:, None] + (sv * sv).sum(1)[None, :] - 2.0 * x @ sv.T
            return np.exp(-self.gamma * np.maximum(d2, 0.0))
        dot = x @ sv.T
        if self.kernel == "linear":
            return dot
        if self.kernel == "poly":
            return (self.gamma * dot + self.coef0) ** self.degree
        return np.tanh(self.gamma * dot + self.coef0)

    def ovo(self, video: np.ndarray) -> np.ndarray:
        """One-vs-one decision values ``(N, K'(K'-1)/2)`` of video features ``(N, D)``, K' = the
        SVC's classes, pairs (i, j), i < j, in LIBSVM's order; > 0 favours class i (for two
        classes, the second: scikit-learn's binary sign)."""
        kv = self._kernel((np.asarray(video, np.float64) - self.mean) / self.scale)
        starts = np.concatenate([[0], np.cumsum(self.n_support)])
        n = len(self.labels)
        out = np.empty((kv.shape[0], n * (n - 1) // 2))
        p = 0
        for i in range(n):
            si = slice(starts[i], starts[i + 1])
            for j in range(i + 1, n):
                sj = slice(starts[j], starts[j + 1])
                out[:, p] = (
                    kv[:, si] @ self.dual_coef[j - 1, si]
                    + kv[:, sj] @ self.dual_coef[i, sj]
                    + self.intercept[p]
                )
                p += 1
        return out

    def decision_function(self, video: np.ndarray) -> np.ndarray:
        """scikit-learn's ``SVC(decision_function_shape="ovr").decision_function`` of video
        features ``(N, D)``: ``(N, K')`` for K' > 2 SVC classes (votes + bounded confidences),
        ``(N,)`` for two (> 0 favours the second)."""
        ovo = self.ovo(video)
        n = len(self.labels)
        if n == 2:
            # The public dual_coef_ / intercept_ of a binary SVC are already sign-flipped so that
            # a value > 0 means the second class; ovo() uses them as they are.
            return ovo[:, 0]
        votes = np.zeros((ovo.shape[0], n))
        confidence = np.zeros((ovo.shape[0], n))
        p = 0
        for i in range(n):
            for j in range(i + 1, n):
                confidence[:, i] += ovo[:, p]
                confidence[:, j] -= ovo[:, p]
                votes[:, i] += ovo[:, p] >= 0
                votes[:, j] += ovo[:, p] < 0
                p += 1
        return votes + confidence / (3 * (np.abs(confidence) + 1))

    def predict_proba(self, frame_features: np.ndarray) -> np.ndarray:
        """Frame features ``(N, T, F)`` -> ``(N, num_classes)`` float32: softmax of the decision
        values over the SVC's classes, 0 for classes the SVM was not trained on."""
        dec = self.decision_function(video_features(frame_features))
        if dec.ndim == 1:
            dec = np.stack([-dec, dec], axis=1) / 2  # the two classes' margins, symmetric
        out = np.zeros((dec.shape[0], self.num_classes), np.float32)
        out[:, list(self.labels)] = softmax(dec)
        return out
