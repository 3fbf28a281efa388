"""ONNX Runtime on CPU: the default backend, with neither torch nor a GPU."""

from __future__ import annotations

import numpy as np

from rtmer.backends.base import BaseBackend
from rtmer.errors import InputError, MissingDependencyError
from rtmer.weights import WeightCard


class OnnxBackend(BaseBackend):
    """``files["onnx"]`` in an ONNX Runtime session on the CPU execution provider, all graph
    optimisations on. threads: intra-op threads (None: ONNX Runtime's default, one per core)."""

    name = "onnx"

    def __init__(self, card: WeightCard, *, threads: int | None = None) -> None:
        super().__init__(card)
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise MissingDependencyError(
                f"the onnx backend needs onnxruntime ({exc}); reinstall rtmer: pip install rtmer"
            ) from exc
        if threads is not None and threads < 1:
            raise InputError(f"threads must be >= 1, got {threads}")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads is not None:
            options.intra_op_num_threads = threads
        path = card.file("onnx")
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors on a bad file
            raise InputError(
                f"ONNX Runtime cannot load {path} ({exc}); re-export it with rtmer export"
            ) from exc
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = [self.session.get_outputs()[0].name]

    def _run(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(self.output_names, {self.input_name: x})[0]

    def close(self) -> None:
        self.__dict__.pop("session", None)  # the session frees its memory when collected
