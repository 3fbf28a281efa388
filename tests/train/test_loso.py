"""Cross-validation runner and pooled metrics: agreement with scikit-learn, no subject leak, learning,
determinism, resume after an interrupted run, parallel folds, validation-chosen epochs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, recall_score

from rtmer.errors import InputError
from rtmer.train import metrics
from rtmer.train.loso import CvResult, RunConfig, run_cv
from rtmer.train.recipes import Recipe

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


FAST = Recipe(lr=0.01, epochs=15, batch_size=16)


def _config(**changes: object) -> RunConfig:
    return RunConfig(**{"model": "ststnet", "recipe": FAST, "num_classes": K, **changes})  # type: ignore[arg-type]


def _run(
    config: RunConfig | None = None,
    on_fold: Callable[[str, np.ndarray, np.ndarray], None] | None = None,
    **kw: object,
) -> CvResult:
    x, y, s = _synthetic()
    return run_cv(x, y, s, config or _config(), on_fold=on_fold, **kw)  # type: ignore[arg-type]


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
    assert [f.name for f in first.folds] == seen and all(
        f.seconds > 0 and f.epochs == 15 for f in first.folds
    )
    assert first.probabilities.shape == (subjects.size, K)
    np.testing.assert_allclose(first.probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert first.uf1 > 0.6  # chance is about 1/3
    assert first.uf1 == pytest.approx(f1_score(first.labels, first.predictions, average="macro"))

    again = _run()
    np.testing.assert_array_equal(again.predictions, first.predictions)
    np.testing.assert_array_equal(again.probabilities, first.probabilities)


def test_resume_after_an_interrupted_run_gives_the_same_result(tmp_path: Path) -> None:
    """A run killed during its fourth fold, then resumed: three folds are read back, not trained,
    and the pooled result equals an uninterrupted run's."""
    config = _config(recipe=Recipe(lr=0.01, epochs=4, batch_size=16))
    whole = _run(config)
    trained: list[str] = []

    def interrupt(name: str, train: np.ndarray, test: np.ndarray) -> None:
        trained.append(name)

    class Killed(Exception):
        pass

    def progress(record: object) -> None:
        if len(list((tmp_path / "folds").glob("*.json"))) == 3:
            raise Killed

    with pytest.raises(Killed):
        _run(config, out=tmp_path, progress=progress)
    assert len(list((tmp_path / "folds").glob("*.safetensors"))) == 3
    resumed = _run(config, out=tmp_path, resume=True, on_fold=interrupt)
    assert len(trained) == 3  # only the three unfinished folds trained again
    np.testing.assert_array_equal(resumed.predictions, whole.predictions)
    np.testing.assert_allclose(resumed.probabilities, whole.probabilities, rtol=0, atol=1e-6)
    # Other settings do not reuse the checkpoints.
    retrained: list[str] = []
    _run(_config(recipe=Recipe(lr=0.01, epochs=1, batch_size=16)), out=tmp_path, resume=True,
         on_fold=lambda n, a, b: retrained.append(n))  # fmt: skip
    assert len(retrained) == 6


def test_parallel_folds_equal_serial() -> None:
    x, y, s = _synthetic()
    keep = np.isin(s, ["synth/s00", "synth/s01", "synth/s02"])
    config = _config(recipe=Recipe(lr=0.01, epochs=3, batch_size=16))
    serial = run_cv(x[keep], y[keep], s[keep], config)
    parallel = run_cv(x[keep], y[keep], s[keep], config, jobs=2)
    np.testing.assert_array_equal(parallel.predictions, serial.predictions)
    np.testing.assert_allclose(parallel.probabilities, serial.probabilities, rtol=0, atol=1e-5)


def test_validation_epochs_are_chosen_inside_the_training_subjects() -> None:
    result = _run(_config(epoch_choice="validation", folds="kfold:3"))
    assert len(result.folds) == 3
    for f in result.folds:
        assert len(f.val_uf1) == 15 and f.epochs == int(np.argmax(f.val_uf1)) + 1
    assert result.uf1 > 0.5


@pytest.mark.parametrize("loss", ["focal", "smooth"])
def test_other_losses_run(loss: str) -> None:
    x, y, s = _synthetic()
    keep = np.isin(s, ["synth/s00", "synth/s01"])  # two folds are enough to exercise the loss
    config = _config(recipe=Recipe(lr=0.01, epochs=2, batch_size=8, loss=loss))  # type: ignore[arg-type]
    result = run_cv(x[keep], y[keep], s[keep], config)
    assert result.predictions.shape == (int(keep.sum()),)
    assert len(result.folds) == 2


def test_rejects_bad_settings() -> None:
    x, y, s = _synthetic()
    with pytest.raises(InputError):
        Recipe(loss="hinge")  # type: ignore[arg-type]
    with pytest.raises(InputError):
        run_cv(x, y, s, _config(num_classes=2))
    with pytest.raises(InputError, match="kfold:K"):
        _config(folds="kfold:1")
    with pytest.raises(InputError, match="unknown model"):
        _config(model="nope")
