"""The numpy clip head against scikit-learn's SVC, and the video features against aggregate()."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rtmer.errors import InputError
from rtmer.export.weights import svm_to_json
from rtmer.heads.svm import SvmHead, video_features

aggregation = pytest.importorskip("rtmer.models.aggregation", exc_type=ImportError)


def fitted(k: int, kernel: str, labels: np.ndarray | None = None, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.arange(48) % k if labels is None else labels
    clips = rng.normal(size=(len(y), 10, 6)) + 0.4 * y[:, None, None]  # separable-ish by class
    return aggregation.ClipSVM(kernel=kernel).fit(clips, y), rng


@pytest.mark.parametrize(
    ("k", "kernel"), [(4, "rbf"), (3, "rbf"), (3, "linear"), (4, "poly"), (3, "sigmoid")]
)
def test_decision_function_matches_sklearn_ovr(k: int, kernel: str) -> None:
    svm, rng = fitted(k, kernel)
    head = SvmHead.from_json(json.loads(json.dumps(svm_to_json(svm))), num_classes=k)  # through JSON text
    clips = rng.normal(size=(20, 7, 6)) + 0.4 * rng.integers(0, k, 20)[:, None, None]
    expected = svm.decision_function(clips)
    np.testing.assert_allclose(head.decision_function(video_features(clips)), expected, rtol=0, atol=1e-6)
    proba = head.predict_proba(clips)
    np.testing.assert_array_equal(proba.argmax(axis=1), svm.predict(clips))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)


def test_binary_svm_keeps_sklearns_sign() -> None:
    svm, rng = fitted(2, "rbf")
    head = SvmHead.from_json(svm_to_json(svm))
    clips = rng.normal(size=(15, 5, 6)) + 0.4 * rng.integers(0, 2, 15)[:, None, None]
    np.testing.assert_allclose(
        head.decision_function(video_features(clips)), svm.decision_function(clips), atol=1e-6
    )
    np.testing.assert_array_equal(head.predict_proba(clips).argmax(axis=1), svm.predict(clips))


def test_a_class_missing_from_training_gets_probability_zero() -> None:
    labels = np.array([0, 1, 3] * 16)  # class 2 of 4 never seen
    svm, rng = fitted(4, "rbf", labels)
    head = SvmHead.from_json(svm_to_json(svm), num_classes=4)
    proba = head.predict_proba(rng.normal(size=(6, 5, 6)))
    assert proba.shape == (6, 4) and np.all(proba[:, 2] == 0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)


def test_video_features_are_aggregate() -> None:
    f = np.random.default_rng(1).normal(size=(3, 9, 64))
    np.testing.assert_array_equal(video_features(f), aggregation.aggregate(f))


def test_bad_svm_files_are_rejected(tmp_path) -> None:
    svm, _ = fitted(3, "rbf")
    d = svm_to_json(svm)
    with pytest.raises(InputError, match="do not fit 2 classes"):
        SvmHead.from_json(d, num_classes=2)
    with pytest.raises(InputError, match="not an rtmer SVM"):
        SvmHead.from_json({**d, "format": "other"})
    (tmp_path / "x.json").write_text("{")
    with pytest.raises(InputError, match="cannot read the SVM file"):
        SvmHead.load(tmp_path / "x.json")
