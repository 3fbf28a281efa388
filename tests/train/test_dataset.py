"""The torch Dataset wrapper over a protocol's Labelled set."""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest

from rtmer.data.protocols import Labelled, apply
from rtmer.data.splits import leave_one_subject_out
from rtmer.errors import InputError, MissingDependencyError
from rtmer.types import Clip
from tests.data.fixtures import mirror_counts
from tests.data.test_protocols import clip, composite_clips, load_all

try:
    import torch
except ImportError:
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed (pip install -e .[train])")


@pytest.fixture(scope="module")
def labelled(tmp_path_factory: pytest.TempPathFactory) -> Labelled:
    """The MEGC2019 composite of the ``mirror_counts`` fixture, loaded through the loaders."""
    return apply("megc2019", composite_clips(load_all(mirror_counts(tmp_path_factory.mktemp("mirror")))))


def build(c: Clip) -> np.ndarray:
    """A stand-in model input: the clip's frame count and a hash of its key, as float32."""
    return np.array([len(c.frames), hash(c.key) % 1000], dtype=np.float32)


def test_without_torch_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m.split(".")[0] == "torch"] + ["torch"]:
        monkeypatch.setitem(sys.modules, name, None)  # imported submodules would be found directly
    monkeypatch.delitem(sys.modules, "rtmer.train.dataset", raising=False)
    with pytest.raises(MissingDependencyError, match=r"pip install 'rtmer\[train\]'"):
        importlib.import_module("rtmer.train.dataset")


@needs_torch
def test_items_and_lengths(labelled: Labelled) -> None:
    from rtmer.train.dataset import ClipDataset

    ds = ClipDataset(labelled, build)
    assert isinstance(ds, torch.utils.data.Dataset)
    assert len(ds) == len(labelled) == 442
    x, y = ds[7]
    assert np.array_equal(x, build(labelled.clips[7])) and y == labelled.labels[7]
    assert isinstance(y, int)
    assert np.array_equal(ds.labels, labelled.labels)
    assert [y for _, y in ds] == labelled.labels.tolist()


@needs_torch
def test_fold_subset_and_loader(labelled: Labelled) -> None:
    from rtmer.train.dataset import ClipDataset

    train, test, name = next(iter(leave_one_subject_out(labelled)))
    ds = ClipDataset(labelled, build, test)
    assert len(ds) == test.size
    assert list(ds.labels) == [labelled.labels[i] for i in test]
    xs, ys = next(iter(torch.utils.data.DataLoader(ds, batch_size=len(ds))))
    assert xs.shape == (test.size, 2) and xs.dtype == torch.float32
    assert ys.tolist() == [int(labelled.labels[i]) for i in test]
    assert {labelled.subjects[i] for i in test} == {name}
    assert len(ClipDataset(labelled, build, train)) == len(labelled) - test.size


@needs_torch
def test_bad_input() -> None:
    from rtmer.train.dataset import ClipDataset

    one = apply("megc2019", [clip("smic", "s1", "a", "positive")])
    with pytest.raises(InputError, match="indices"):
        ClipDataset(one, build, [1])
    with pytest.raises(InputError, match="numpy array"):
        ClipDataset(one, lambda c: [1.0])[0]  # type: ignore[arg-type,return-value]
