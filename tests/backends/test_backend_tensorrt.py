"""TensorRT engines of every model on this GPU: parity with torch (FP32 <= 1e-3, FP16 <= 1e-2),
the CUDA-graph batch-1 path and the plain path, and the engine cache's keys. Skipped without
TensorRT, cuda-python or a GPU."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pytest
from backend_helpers import NAMES, Exported, items

from rtmer.backends import open_backend
from rtmer.backends.auto import resolve
from rtmer.backends.tensorrt import available
from rtmer.models import registry

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not available(), reason="needs TensorRT, cuda-python and an NVIDIA GPU"),
]
TOLERANCE = {False: 1e-3, True: 1e-2}  # fp16 -> max abs difference of probabilities


@pytest.fixture(scope="module", autouse=True)
def engine_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RTMER_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.mark.parametrize("fp16", [False, True], ids=["fp32", "fp16"])
@pytest.mark.parametrize("name", NAMES)
def test_engine_matches_torch(exported: dict[str, Exported], name: str, fp16: bool) -> None:
    card, spec = exported[name].card, registry.get(name)
    x = items(spec, 2, seed=4)
    with open_backend(card, "torch") as ref:
        expected = ref(x)
    with open_backend(card, "tensorrt", fp16=fp16) as trt:
        assert trt.name == "tensorrt"
        one = [trt(x[:1]) for _ in range(3)]  # the first call captures the CUDA graph, then replays
        both = trt(x)  # batch 2: the plain stream path
        stats = trt.latency()
    for got in (*one, both):
        assert got.dtype == np.float32
        assert np.abs(got - expected[: len(got)]).max() <= TOLERANCE[fp16]
    assert stats.n == 4 and stats.budget_ms == spec.budget_gpu_ms


def test_engine_cache_reuses_and_rebuilds(exported: dict[str, Exported]) -> None:
    import tensorrt

    from rtmer.export.tensorrt import engine_for, file_sha256, gpu_info, sidecar

    card = exported["laenet"].card
    first = engine_for(card, fp16=True)
    again = engine_for(card, fp16=True)
    assert again.path == first.path and again.rebuilt is None
    key = json.loads(sidecar(first.path).read_text())
    gpu = gpu_info()
    assert key["gpu_name"] == gpu.name and key["compute_capability"] == gpu.compute_capability
    assert key["tensorrt_version"] == tensorrt.__version__ and key["precision"] == "fp16"
    assert key["model_sha256"] == file_sha256(card.file("onnx"))
    sidecar(first.path).write_text(json.dumps({**key, "gpu_name": "another GPU"}))  # a foreign engine
    rebuilt = engine_for(card, fp16=True)
    assert rebuilt.path == first.path and rebuilt.rebuilt == f"gpu_name: another GPU -> {gpu.name}"
    assert json.loads(sidecar(first.path).read_text()) == key


def test_auto_picks_tensorrt() -> None:
    assert resolve("auto") == "tensorrt"
