"""ONNX -> TensorRT engine, built on the GPU that will run it and cached.

An engine only runs on the GPU model, compute capability and TensorRT version it was built with,
and only computes the ONNX file it was built from; so the cache records those in an
:class:`EngineKey`. Cache: ``$RTMER_CACHE_DIR/engines`` (default ``~/.cache/rtmer/engines``); one
slot per card, precision and GPU: ``<card>-<fp32|fp16>-<slot>.engine`` beside a JSON sidecar
holding its key. :func:`engine_for` returns the slot's engine when its sidecar matches the current
key and rebuilds it otherwise (a stale engine: another ONNX file or TensorRT version; a foreign
one: copied from another GPU), saying which fields differed.

Engines take the ONNX graph's float32 input and output (the FP16 flag lets TensorRT choose FP16
kernels inside), with one optimisation profile: batch 1 to :data:`MAX_BATCH` items, tuned for
batch 1 (for the aggregation network: frames, one clip's T to ``MAX_BATCH * T``).

Imports no torch; ``tensorrt`` and ``cuda-python`` are imported only when an engine is built or
loaded, and a missing one raises :class:`MissingDependencyError` naming the ``[gpu]`` extra.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from types import ModuleType
from typing import Any

from rtmer.errors import EngineError, MissingDependencyError
from rtmer.fileio import atomic_write
from rtmer.models import registry
from rtmer.models.registry import ModelSpec
from rtmer.weights import WeightCard

#: The largest batch (in items; clips for the aggregation network) an engine accepts.
MAX_BATCH = 8
#: Scratch memory TensorRT may use while choosing kernels.
WORKSPACE_BYTES = 1 << 30
GPU_EXTRA = "install the GPU extra: pip install 'rtmer[gpu]'"


def import_tensorrt() -> ModuleType:
    """The ``tensorrt`` module; :class:`MissingDependencyError` naming the extra otherwise."""
    try:
        import tensorrt
    except ImportError as exc:
        raise MissingDependencyError(f"the tensorrt backend needs TensorRT ({exc}); {GPU_EXTRA}") from exc
    return tensorrt


def import_cudart() -> ModuleType:
    """cuda-python's CUDA runtime bindings (``cuda.bindings.runtime``, ``cuda.cudart`` before
    cuda-python 12.6); :class:`MissingDependencyError` naming the extra otherwise."""
    try:
        from cuda.bindings import runtime
    except ImportError:
        try:
            from cuda import cudart as runtime
        except ImportError as exc:
            raise MissingDependencyError(
                f"the tensorrt backend needs cuda-python ({exc}); {GPU_EXTRA}"
            ) from exc
    return runtime


def cuda_call(result: tuple[Any, ...]) -> Any:
    """A cuda-python call's ``(error, *values)`` -> its value(s); :class:`EngineError` naming the
    CUDA error otherwise."""
    err, values = result[0], result[1:]
    if int(err) != 0:  # cudaSuccess
        raise EngineError(f"CUDA error {err!r}; check the driver and that the GPU is visible (nvidia-smi)")
    return values[0] if len(values) == 1 else values


@dataclass(frozen=True)
class GpuInfo:
    """The GPU an engine is built for: its name and compute capability (``"9.0"``)."""

    name: str
    compute_capability: str


def gpu_info(device: int = 0) -> GpuInfo:
    """GPU ``device``'s name and compute capability; :class:`EngineError` when there is none."""
    cudart = import_cudart()
    count = cuda_call(cudart.cudaGetDeviceCount())
    if count <= device:
        raise EngineError(f"no CUDA GPU {device} ({count} found); use the onnx backend on this machine")
    props = cuda_call(cudart.cudaGetDeviceProperties(device))
    name = props.name.decode(errors="replace") if isinstance(props.name, bytes) else str(props.name)
    return GpuInfo(name.split("\x00", 1)[0].strip(), f"{props.major}.{props.minor}")


@dataclass(frozen=True)
class EngineKey:
    """What an engine is valid for: GPU name and compute capability, TensorRT version, the ONNX
    file's SHA-256, precision (``"fp32"`` | ``"fp16"``) and the profile's largest batch."""

    gpu_name: str
    compute_capability: str
    tensorrt_version: str
    model_sha256: str
    precision: str
    max_batch: int = MAX_BATCH

    def diff(self, other: EngineKey) -> list[str]:
        """``field: other -> self`` for each field that differs."""
        return [
            f"{f.name}: {getattr(other, f.name)} -> {getattr(self, f.name)}"
            for f in fields(self)
            if getattr(self, f.name) != getattr(other, f.name)
        ]


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_dir() -> Path:
    """The engine cache: ``$RTMER_CACHE_DIR/engines``, else ``~/.cache/rtmer/engines``."""
    root = os.environ.get("RTMER_CACHE_DIR")
    return (Path(root) if root else Path.home() / ".cache" / "rtmer") / "engines"


def engine_path(card: WeightCard, key: EngineKey, root: Path | None = None) -> Path:
    """The cache slot of ``card``'s engine for ``key``'s precision and GPU: one per card file,
    precision and GPU, so that a new ONNX file or TensorRT version replaces the old engine."""
    slot = f"{card.path.resolve()}|{key.gpu_name}|{key.compute_capability}"
    digest = hashlib.sha256(slot.encode()).hexdigest()[:12]
    return (root or cache_dir()) / f"{card.name}-{key.precision}-{digest}.engine"


def sidecar(engine: Path) -> Path:
    """The JSON file beside ``engine`` that holds its key."""
    return engine.with_suffix(".json")


def read_key(engine: Path) -> EngineKey | None:
    """The key in ``engine``'s sidecar; None when the engine or its sidecar is missing or unreadable."""
    try:
        if not engine.is_file():
            return None
        return EngineKey(**json.loads(sidecar(engine).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def stale_reason(engine: Path, key: EngineKey) -> str | None:
    """Why the engine at ``engine`` cannot serve ``key`` (no engine or no readable sidecar, or the
    key fields that differ: a stale engine names another ONNX file or TensorRT, a foreign one
    another GPU); None when it can."""
    found = read_key(engine)
    if found is None:
        return "no cached engine"
    return None if found == key else "; ".join(key.diff(found))


def profile_shapes(spec: ModelSpec) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """The engine input's (min, opt, max) shapes: batch 1 / 1 / :data:`MAX_BATCH` items; the
    aggregation network's frames: T / T / ``MAX_BATCH * T``."""
    item = spec.input.shape
    per = spec.input.clip_frames if spec.input.frame_level else 1
    assert per is not None  # the registry gives every frames model a clip length
    return (per, *item), (per, *item), (MAX_BATCH * per, *item)


def current_key(card: WeightCard, fp16: bool, gpu: GpuInfo | None = None) -> EngineKey:
    """The key an engine of ``card`` must have on this machine."""
    trt = import_tensorrt()
    gpu = gpu or gpu_info()
    return EngineKey(
        gpu_name=gpu.name,
        compute_capability=gpu.compute_capability,
        tensorrt_version=trt.__version__,
        model_sha256=file_sha256(card.file("onnx")),
        precision="fp16" if fp16 else "fp32",
    )


def build_engine(onnx_path: Path, spec: ModelSpec, *, fp16: bool) -> bytes:
    """A serialised engine of the ONNX file at ``onnx_path``, built on this GPU."""
    trt = import_tensorrt()
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # TensorRT 10: explicit batch is the only mode
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(Path(onnx_path).read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise EngineError(f"TensorRT cannot parse {onnx_path} ({errors}); re-export it with rtmer export")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, WORKSPACE_BYTES)
    if fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    profile.set_shape(network.get_input(0).name, *profile_shapes(spec))
    config.add_optimization_profile(profile)
    blob = builder.build_serialized_network(network, config)
    if blob is None:
        raise EngineError(f"TensorRT failed to build an engine from {onnx_path}; see its log above")
    return bytes(blob)


@dataclass(frozen=True)
class CachedEngine:
    """An engine in the cache: ``path``; ``rebuilt``: why it was built by this call (None: the
    cached engine matched)."""

    path: Path
    key: EngineKey
    rebuilt: str | None


def engine_for(card: WeightCard, *, fp16: bool = False, root: Path | None = None) -> CachedEngine:
    """``card``'s engine for this GPU: the cached one when its key matches, else built from
    ``files["onnx"]`` and cached (engine, then sidecar, each written atomically)."""
    key = current_key(card, fp16)
    path = engine_path(card, key, root)
    reason = stale_reason(path, key)
    if reason is None:
        return CachedEngine(path, key, None)
    blob = build_engine(card.file("onnx"), registry.get(card.model), fp16=fp16)
    for target, data in ((path, blob), (sidecar(path), (json.dumps(asdict(key), indent=2) + "\n").encode())):
        with atomic_write(target) as tmp:
            tmp.write_bytes(data)
    return CachedEngine(path, key, reason)
