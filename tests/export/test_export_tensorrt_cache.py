"""The TensorRT engine cache without TensorRT: keys, slots, sidecars, reuse and rebuild."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import replace
from pathlib import Path

import pytest

from rtmer.errors import MissingDependencyError
from rtmer.export import tensorrt as trt_export
from rtmer.export.tensorrt import EngineKey, cache_dir, engine_path, profile_shapes, read_key, stale_reason
from rtmer.models import registry
from rtmer.weights import WeightCard

KEY = EngineKey("NVIDIA H100 80GB HBM3", "9.0", "10.9.0", "ab" * 32, "fp16")


def make_card(folder: Path, name: str = "laenet-demo") -> WeightCard:
    spec = registry.get("laenet")
    (folder / f"{name}.onnx").write_bytes(b"graph v1")
    card = WeightCard(
        folder / f"{name}.json", name, "laenet", spec.classes, spec.protocol, {"onnx": f"{name}.onnx"}
    )
    card.path.write_text("{}")
    return card


def test_cache_dir_default_and_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("RTMER_CACHE_DIR", raising=False)
    assert cache_dir() == Path.home() / ".cache" / "rtmer" / "engines"
    monkeypatch.setenv("RTMER_CACHE_DIR", str(tmp_path))
    assert cache_dir() == tmp_path / "engines"


def test_slots_are_per_card_precision_and_gpu(tmp_path: Path) -> None:
    card = make_card(tmp_path)
    path = engine_path(card, KEY, tmp_path)
    assert path.parent == tmp_path and path.name.startswith("laenet-demo-fp16-") and path.suffix == ".engine"
    # Another ONNX file or TensorRT version reuses the slot (the old engine is replaced) ...
    assert engine_path(card, replace(KEY, model_sha256="cd" * 32, tensorrt_version="10.10"), tmp_path) == path
    # ... another precision, GPU or card does not.
    others = [
        replace(KEY, precision="fp32"),
        replace(KEY, gpu_name="NVIDIA GeForce RTX 4090"),
        replace(KEY, compute_capability="8.9"),
    ]
    assert len({path, *(engine_path(card, k, tmp_path) for k in others)}) == 4
    assert engine_path(make_card(tmp_path, "other"), KEY, tmp_path) != path


def test_stale_reason_names_what_differs(tmp_path: Path) -> None:
    engine = tmp_path / "m.engine"
    assert stale_reason(engine, KEY) == "no cached engine"
    engine.write_bytes(b"engine")
    assert stale_reason(engine, KEY) == "no cached engine"  # no sidecar
    (tmp_path / "m.json").write_text(
        json.dumps({**KEY.__dict__, "gpu_name": "Tesla T4", "compute_capability": "7.5"})
    )
    assert (
        stale_reason(engine, KEY)
        == "gpu_name: Tesla T4 -> NVIDIA H100 80GB HBM3; compute_capability: 7.5 -> 9.0"
    )
    (tmp_path / "m.json").write_text(json.dumps(KEY.__dict__))
    assert stale_reason(engine, KEY) is None
    (tmp_path / "m.json").write_text("{not json")
    assert read_key(engine) is None and stale_reason(engine, KEY) == "no cached engine"


def test_engine_for_reuses_a_matching_engine_and_rebuilds_a_stale_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    card = make_card(tmp_path)
    key = {"now": KEY}
    builds: list[bool] = []

    def fake_build(onnx_path: Path, spec: registry.ModelSpec, *, fp16: bool) -> bytes:
        assert onnx_path == card.file("onnx") and spec.name == "laenet"
        builds.append(fp16)
        return f"engine {len(builds)}".encode()

    monkeypatch.setattr(
        trt_export,
        "current_key",
        lambda card, fp16: replace(key["now"], precision="fp16" if fp16 else "fp32"),
    )
    monkeypatch.setattr(trt_export, "build_engine", fake_build)
    root = tmp_path / "cache"
    first = trt_export.engine_for(card, fp16=True, root=root)
    assert first.rebuilt == "no cached engine" and first.path.read_bytes() == b"engine 1"
    assert read_key(first.path) == first.key == key["now"]
    assert trt_export.engine_for(card, fp16=True, root=root).rebuilt is None  # cached
    key["now"] = replace(KEY, tensorrt_version="10.10.0")  # TensorRT upgraded: stale
    again = trt_export.engine_for(card, fp16=True, root=root)
    assert again.rebuilt == "tensorrt_version: 10.9.0 -> 10.10.0"
    assert again.path == first.path and first.path.read_bytes() == b"engine 2"
    assert read_key(first.path).tensorrt_version == "10.10.0"
    fp32 = trt_export.engine_for(card, fp16=False, root=root)  # FP32: its own slot
    assert fp32.rebuilt == "no cached engine" and fp32.path != first.path and builds == [True, True, False]
    assert [p.name for p in root.iterdir() if p.name.startswith(".")] == []  # no temp files left


def test_profile_covers_batch_1_to_max_in_graph_rows() -> None:
    assert profile_shapes(registry.get("laenet")) == ((1, 3, 28, 28), (1, 3, 28, 28), (8, 3, 28, 28))
    frames = profile_shapes(registry.get("aggregation"))
    assert frames == ((64, 1, 140, 120), (64, 1, 140, 120), (512, 1, 140, 120))


@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None, reason="TensorRT is installed here")
def test_missing_tensorrt_names_the_extra() -> None:
    with pytest.raises(MissingDependencyError, match=r"pip install 'rtmer\[gpu\]'"):
        trt_export.import_tensorrt()
