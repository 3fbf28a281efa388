"""TensorRTBackend's own logic without a GPU: buffer sizing, copies in and out, the batch-1 CUDA
graph (capture, replay with new inputs, recapture after another batch size), chunking beyond the
engine's largest batch, and freeing everything on close.

The runtime is simulated: "device" memory is host memory, a stream runs its operations when they
are queued (or records them while capturing), a graph replays what was recorded, and the "engine"
is the card's ONNX file run by ONNX Runtime on the addresses the backend bound, with the input
shape fixed when the work is queued (as a captured TensorRT kernel keeps it). The outputs must
equal the ONNX backend's. The real runtime is covered by test_backend_tensorrt.py (marker gpu).
"""

from __future__ import annotations

import ctypes
import itertools
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from backend_helpers import Exported, items

import rtmer.backends.tensorrt as trt_backend
from rtmer.backends import open_backend
from rtmer.export.tensorrt import MAX_BATCH, CachedEngine, EngineKey
from rtmer.models import registry

KEY = EngineKey("simulated GPU", "9.0", "10.0.0", "00" * 32, "fp16")


class Stream:
    def __init__(self, handle: int) -> None:
        self.handle = handle
        self.recording: list[Callable[[], None]] | None = None

    def __int__(self) -> int:
        return self.handle

    def submit(self, op: Callable[[], None]) -> None:
        if self.recording is None:
            op()
        else:
            self.recording.append(op)


class FakeCudart:
    """The cuda-python runtime calls TensorRTBackend makes, on host memory."""

    cudaStreamNonBlocking = 1
    cudaMemcpyKind = SimpleNamespace(cudaMemcpyHostToDevice=1, cudaMemcpyDeviceToHost=2)
    cudaStreamCaptureMode = SimpleNamespace(cudaStreamCaptureModeGlobal=0)

    def __init__(self) -> None:
        self.memory: dict[int, Any] = {}
        self.streams: dict[int, Stream] = {}
        self.captures = 0
        self.launches = 0
        self._ids = itertools.count(1)

    def _alloc(self, nbytes: int) -> tuple[int, int]:
        buf = (ctypes.c_byte * nbytes)()
        self.memory[ctypes.addressof(buf)] = buf
        return 0, ctypes.addressof(buf)

    def _free(self, ptr: int) -> tuple[int]:
        del self.memory[ptr]
        return (0,)

    cudaMalloc = cudaMallocHost = _alloc
    cudaFree = cudaFreeHost = _free

    def cudaStreamCreateWithFlags(self, flags: int) -> tuple[int, Stream]:
        stream = Stream(next(self._ids))
        self.streams[stream.handle] = stream
        return 0, stream

    def cudaStreamDestroy(self, stream: Stream) -> tuple[int]:
        del self.streams[stream.handle]
        return (0,)

    def cudaMemcpyAsync(self, dst: int, src: int, n: int, kind: int, stream: Stream) -> tuple[int]:
        stream.submit(lambda: ctypes.memmove(dst, src, n))
        return (0,)

    def cudaStreamSynchronize(self, stream: Stream) -> tuple[int]:
        return (0,)

    def cudaStreamBeginCapture(self, stream: Stream, mode: int) -> tuple[int]:
        stream.recording = []
        return (0,)

    def cudaStreamEndCapture(self, stream: Stream) -> tuple[int, list[Callable[[], None]]]:
        ops, stream.recording = stream.recording, None
        self.captures += 1
        return 0, ops

    def cudaGraphInstantiate(self, graph: list[Callable[[], None]], flags: int) -> tuple[int, Any]:
        return 0, graph

    def cudaGraphLaunch(self, graph: list[Callable[[], None]], stream: Stream) -> tuple[int]:
        self.launches += 1
        for op in graph:
            stream.submit(op)
        return (0,)

    def cudaGraphExecDestroy(self, graph: Any) -> tuple[int]:
        return (0,)

    cudaGraphDestroy = cudaGraphExecDestroy


class FakeContext:
    def __init__(self, session: ort.InferenceSession, cudart: FakeCudart) -> None:
        self.session, self.cudart = session, cudart
        self.addresses: dict[str, int] = {}
        self.shape: tuple[int, ...] = ()

    def set_tensor_address(self, name: str, ptr: int) -> None:
        self.addresses[name] = ptr

    def set_input_shape(self, name: str, shape: tuple[int, ...]) -> bool:
        self.shape = tuple(shape)
        return True

    def execute_async_v3(self, stream_handle: int) -> bool:
        shape, session = self.shape, self.session  # fixed when queued, as a captured kernel keeps it
        inp, out = session.get_inputs()[0].name, session.get_outputs()[0].name
        src, dst = self.addresses[inp], self.addresses[out]

        def run() -> None:
            x = np.ctypeslib.as_array((ctypes.c_float * int(np.prod(shape))).from_address(src)).reshape(shape)
            y = session.run([out], {inp: x.copy()})[0]
            ctypes.memmove(dst, np.ascontiguousarray(y, np.float32).ctypes.data, y.nbytes)

        self.cudart.streams[stream_handle].submit(run)
        return True


class FakeEngine:
    def __init__(self, onnx_bytes: bytes, cudart: FakeCudart) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self.session = ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])
        self.cudart = cudart
        self.names = [self.session.get_inputs()[0].name, self.session.get_outputs()[0].name]
        self.num_io_tensors = 2

    def get_tensor_name(self, i: int) -> str:
        return self.names[i]

    def get_tensor_mode(self, name: str) -> str:
        return "input" if name == self.names[0] else "output"

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        return tuple(-1 if isinstance(d, str) else d for d in self.session.get_outputs()[0].shape)

    def create_execution_context(self) -> FakeContext:
        return FakeContext(self.session, self.cudart)


def fake_tensorrt(cudart: FakeCudart) -> SimpleNamespace:
    class Logger:
        WARNING = 2

        def __init__(self, level: int) -> None:
            pass

    class Runtime:
        def __init__(self, logger: Logger) -> None:
            pass

        def deserialize_cuda_engine(self, blob: bytes) -> FakeEngine:
            return FakeEngine(blob, cudart)

    return SimpleNamespace(Logger=Logger, Runtime=Runtime, TensorIOMode=SimpleNamespace(INPUT="input"))


@pytest.fixture()
def cudart(monkeypatch: pytest.MonkeyPatch) -> FakeCudart:
    fake = FakeCudart()
    trt = fake_tensorrt(fake)
    monkeypatch.setattr(trt_backend, "import_tensorrt", lambda: trt)
    monkeypatch.setattr(trt_backend, "import_cudart", lambda: fake)
    # The "engine" is the ONNX file itself (FakeEngine runs it).
    monkeypatch.setattr(
        trt_backend, "engine_for", lambda card, fp16: CachedEngine(card.file("onnx"), KEY, None)
    )
    return fake


@pytest.mark.parametrize("name", ["laenet", "aggregation"])
def test_buffers_graph_and_chunks_reproduce_onnx_runtime(
    exported: dict[str, Exported], cudart: FakeCudart, name: str
) -> None:
    card, spec = exported[name].card, registry.get(name)
    n = MAX_BATCH + 2 if name == "laenet" else 3  # laenet: past the largest batch (chunks of 8 and 2)
    x = items(spec, n, seed=7)
    with open_backend(card, "onnx", threads=1) as ref:
        expected = ref(x)
    b = trt_backend.TensorRTBackend(card, fp16=True)
    assert b.latency().budget_ms == spec.budget_gpu_ms
    for i in range(3):  # capture once, then replays that read each new input
        np.testing.assert_allclose(b(x[i : i + 1]), expected[i : i + 1], atol=1e-6)
    assert (cudart.captures, cudart.launches) == (1, 3)
    np.testing.assert_allclose(b(x), expected, atol=1e-6)  # plain path (chunked for laenet)
    np.testing.assert_allclose(b(x[1:2]), expected[1:2], atol=1e-6)  # recaptured after the shape change
    assert (cudart.captures, cudart.launches) == (2, 4)
    assert b.latency().n == 5
    b.close()
    b.close()  # idempotent
    assert cudart.memory == {} and cudart.streams == {}
