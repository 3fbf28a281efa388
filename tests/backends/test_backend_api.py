"""open_backend's choices and errors, latency statistics, and the torch-free live path."""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from backend_helpers import Exported, items

from rtmer.backends import BACKENDS, open_backend
from rtmer.backends.auto import resolve
from rtmer.backends.base import LatencyMeter
from rtmer.errors import InputError, MissingDependencyError
from rtmer.models import registry


def test_latency_meter_percentiles_breaches_and_window() -> None:
    meter = LatencyMeter(budget_ms=2.0, window=100)
    nan_stats = meter.stats()
    assert nan_stats.n == 0 and math.isnan(nan_stats.p50_ms)
    for ms in range(1, 101):  # 1 .. 100 ms
        meter.add(float(ms))
    meter.add(3.0, items=2)  # 3 ms for two items: within 2 x 2 ms
    s = meter.stats()
    assert s.n == 101 and s.budget_ms == 2.0
    assert s.breaches == 98  # 3 .. 100 ms at batch 1
    window = np.r_[np.arange(2, 101), 3.0]  # the oldest call (1 ms) left the window
    assert s.p50_ms == pytest.approx(np.percentile(window, 50))
    assert s.p99_ms == pytest.approx(np.percentile(window, 99))
    assert s.mean_ms == pytest.approx(window.mean())
    meter.reset()
    assert meter.stats().n == 0


def test_backend_names_and_auto_without_a_gpu() -> None:
    assert BACKENDS == ("torch", "onnx", "tensorrt")
    from rtmer.backends.tensorrt import available

    assert resolve("auto") == ("tensorrt" if available() else "onnx")
    with pytest.raises(InputError, match="unknown backend 'cuda'; choose auto, torch, onnx, tensorrt"):
        resolve("cuda")


def test_open_backend_errors(exported: dict[str, Exported]) -> None:
    card = exported["laenet"].card
    with pytest.raises(InputError, match="fp16 is a TensorRT option"):
        open_backend(card, "onnx", fp16=True)
    with pytest.raises(InputError, match="no weights called 'nope'"):
        open_backend("nope", "onnx")
    with open_backend(card.path, "onnx", threads=1) as b:
        assert b.name == "onnx" and b.spec is registry.get("laenet") and b.card == card
        with pytest.raises(
            InputError, match=r"laenet takes a batch of shape \(B, 3, 28, 28\), got \(3, 28, 28\)"
        ):
            b(np.zeros((3, 28, 28), np.float32))
        assert b.latency().n == 0  # a rejected input is not timed
        out = b(items(b.spec, 1, 0).astype(np.float64))  # other float dtypes are cast
        assert out.dtype == np.float32 and out.shape == (1, 3)
        b.warm_up(2)
        assert b.latency().n == 0


def test_live_path_runs_onnx_without_torch(exported: dict[str, Exported]) -> None:
    """With torch absent, the backends import and the ONNX backend classifies, aggregation included."""
    cards = {name: str(exported[name].card.path) for name in ("ststnet", "aggregation")}
    code = textwrap.dedent(
        f"""
        import sys
        sys.modules["torch"] = None
        import numpy as np
        import rtmer.backends, rtmer.backends.onnx, rtmer.heads.svm, rtmer.export.tensorrt
        import rtmer.commands.export
        from rtmer.backends import item_shape, open_backend
        for path in {list(cards.values())!r}:
            with open_backend(path, "auto", threads=1) as b:
                assert b.name == "onnx", b.name
                p = b(np.random.default_rng(0).uniform(0, 1, (1, *item_shape(b.spec))).astype(np.float32))
                assert p.shape == (1, len(b.card.classes)) and abs(p.sum() - 1) < 1e-5
        try:
            open_backend({cards["ststnet"]!r}, "torch")
        except rtmer.errors.MissingDependencyError as exc:
            assert "rtmer[train]" in str(exc)
        else:
            raise AssertionError("the torch backend opened without torch")
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("ok")


@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None, reason="TensorRT is installed here")
def test_tensorrt_without_tensorrt_names_the_extra(exported: dict[str, Exported]) -> None:
    with pytest.raises(MissingDependencyError, match=r"pip install 'rtmer\[gpu\]'"):
        open_backend(exported["laenet"].card, "tensorrt")
