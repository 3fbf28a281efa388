"""TensorRT on an NVIDIA GPU: the card's engine (built and cached by :mod:`rtmer.export.tensorrt`),
device buffers sized for the largest batch, pinned host buffers, and one CUDA stream on which
copy in, inference and copy out are queued asynchronously; the host waits once per call.

Batch 1 (the live path) runs as a CUDA graph captured on the first batch-1 call (and again after
another batch size was run): copy in, ``execute_async_v3`` and copy out replayed by one launch,
which removes most of the per-kernel launch cost that dominates sub-millisecond models. Other
batch sizes run the stream directly.

The CUDA runtime calls go through cuda-python (``cuda.bindings.runtime``), which also covers
stream capture; ``tensorrt`` and ``cuda-python`` are imported when the backend is opened.
"""

from __future__ import annotations

import ctypes
import importlib.util
from typing import Any

import numpy as np

from rtmer.backends.base import BaseBackend
from rtmer.errors import EngineError, RtmerError
from rtmer.export.tensorrt import (
    MAX_BATCH,
    cuda_call,
    engine_for,
    gpu_info,
    import_cudart,
    import_tensorrt,
)
from rtmer.weights import WeightCard


def available() -> bool:
    """Whether the tensorrt backend can run here: ``tensorrt`` and ``cuda-python`` installed and a
    CUDA GPU visible."""
    if importlib.util.find_spec("tensorrt") is None:
        return False
    try:
        gpu_info()
    except RtmerError:
        return False
    return True


class _Pinned:
    """``count`` float32 values of page-locked host memory, seen as a numpy array."""

    def __init__(self, cudart: Any, count: int) -> None:
        self.cudart = cudart
        self.ptr = cuda_call(cudart.cudaMallocHost(count * 4))
        buf = (ctypes.c_float * count).from_address(self.ptr)
        self.array = np.frombuffer(memoryview(buf), np.float32, count)

    def free(self) -> None:
        cuda_call(self.cudart.cudaFreeHost(self.ptr))


class TensorRTBackend(BaseBackend):
    """The card's engine on GPU 0; ``fp16``: the FP16 engine (FP32 by default)."""

    name = "tensorrt"
    uses_gpu = True

    def __init__(self, card: WeightCard, *, fp16: bool = False) -> None:
        super().__init__(card)
        trt = import_tensorrt()
        self.cudart = cudart = import_cudart()
        self.cached = engine_for(card, fp16=fp16)
        self.engine_path = self.cached.path
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._logger)
        self.engine = self._runtime.deserialize_cuda_engine(self.engine_path.read_bytes())
        if self.engine is None:
            raise EngineError(
                f"TensorRT cannot load {self.engine_path}; delete it and run rtmer export --format tensorrt"
            )
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        outputs = [n for n in names if n not in inputs]
        if len(inputs) != 1 or len(outputs) != 1:
            raise EngineError(
                f"{self.engine_path} has inputs {inputs} and outputs {outputs}, expected one each"
            )
        self.input_name, self.output_name = inputs[0], outputs[0]
        # One graph-input row: a frame for the aggregation network, an item otherwise.
        self.row = tuple(self.spec.input.shape)
        self.rows_per_item = self.item[0] if self.head is not None else 1
        self.out_width = int(self.engine.get_tensor_shape(self.output_name)[-1])
        max_rows = MAX_BATCH * self.rows_per_item
        in_count = max_rows * int(np.prod(self.row))
        out_count = max_rows * self.out_width
        self.stream = cuda_call(cudart.cudaStreamCreateWithFlags(cudart.cudaStreamNonBlocking))
        self.host_in, self.host_out = _Pinned(cudart, in_count), _Pinned(cudart, out_count)
        self.dev_in = cuda_call(cudart.cudaMalloc(in_count * 4))
        self.dev_out = cuda_call(cudart.cudaMalloc(out_count * 4))
        self.context.set_tensor_address(self.input_name, int(self.dev_in))
        self.context.set_tensor_address(self.output_name, int(self.dev_out))
        self.max_rows = max_rows
        self._rows = 0  # the input shape last set on the context
        self._graph: Any = None  # (graph, graph exec) for one item, captured on first use

    def _enqueue(self, rows: int) -> None:
        """Queues copy in, inference, copy out of ``rows`` graph-input rows on the stream."""
        cudart = self.cudart
        n_in, n_out = rows * int(np.prod(self.row)) * 4, rows * self.out_width * 4
        cuda_call(
            cudart.cudaMemcpyAsync(
                self.dev_in, self.host_in.ptr, n_in, cudart.cudaMemcpyKind.cudaMemcpyHostToDevice, self.stream
            )
        )
        if not self.context.execute_async_v3(stream_handle=int(self.stream)):
            raise EngineError(f"TensorRT failed to run {self.engine_path}; see its log above")
        cuda_call(
            cudart.cudaMemcpyAsync(
                self.host_out.ptr,
                self.dev_out,
                n_out,
                cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost,
                self.stream,
            )
        )

    def _set_rows(self, rows: int) -> None:
        if rows != self._rows:
            # TensorRT asks for a new capture after a shape change; the batch-1 graph is recaptured
            # when batch 1 comes back.
            self._drop_graph()
            if not self.context.set_input_shape(self.input_name, (rows, *self.row)):
                raise EngineError(f"{self.engine_path} rejects input shape {(rows, *self.row)}")
            self._rows = rows

    def _drop_graph(self) -> None:
        if self._graph is not None:
            cuda_call(self.cudart.cudaGraphExecDestroy(self._graph[1]))
            cuda_call(self.cudart.cudaGraphDestroy(self._graph[0]))
            self._graph = None

    def _capture_one(self) -> Any:
        """The CUDA graph of one item's :meth:`_enqueue` (shape set and run once before capture,
        as TensorRT requires so that no deferred work is captured)."""
        cudart = self.cudart
        cuda_call(
            cudart.cudaStreamBeginCapture(
                self.stream, cudart.cudaStreamCaptureMode.cudaStreamCaptureModeGlobal
            )
        )
        try:
            self._enqueue(self.rows_per_item)
        finally:
            graph = cuda_call(cudart.cudaStreamEndCapture(self.stream))
        return graph, cuda_call(cudart.cudaGraphInstantiate(graph, 0))

    def _run(self, x: np.ndarray) -> np.ndarray:
        rows = x.shape[0]
        if rows > self.max_rows:
            return np.concatenate(
                [self._run(x[i : i + self.max_rows]) for i in range(0, rows, self.max_rows)]
            )
        self.host_in.array[: x.size] = x.ravel()
        one = rows == self.rows_per_item
        self._set_rows(rows)
        if one and self._graph is None:
            self._enqueue(rows)  # a plain first run flushes TensorRT's deferred setup
            cuda_call(self.cudart.cudaStreamSynchronize(self.stream))
            self._graph = self._capture_one()
        if one:
            cuda_call(self.cudart.cudaGraphLaunch(self._graph[1], self.stream))
        else:
            self._enqueue(rows)
        cuda_call(self.cudart.cudaStreamSynchronize(self.stream))
        return self.host_out.array[: rows * self.out_width].reshape(rows, self.out_width).copy()

    def close(self) -> None:
        if getattr(self, "stream", None) is None:
            return
        cudart = self.cudart
        cuda_call(cudart.cudaStreamSynchronize(self.stream))
        self._drop_graph()
        for ptr in (self.dev_in, self.dev_out):
            cuda_call(cudart.cudaFree(ptr))
        self.host_in.free()
        self.host_out.free()
        cuda_call(cudart.cudaStreamDestroy(self.stream))
        self.stream = None
        del self.context, self.engine
