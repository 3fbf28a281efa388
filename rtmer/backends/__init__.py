"""Inference backends: one loaded model on one runtime, the same probabilities whichever.

``open_backend(weights, backend)`` loads a model card's files on ``"torch"`` (the reference),
``"onnx"`` (ONNX Runtime on CPU, the default without a GPU) or ``"tensorrt"`` (an engine built on
this GPU from the ONNX file and cached, :mod:`rtmer.export.tensorrt`); ``"auto"`` picks TensorRT
when the ``[gpu]`` extra and a GPU are present, else ONNX Runtime. Every backend is a
:class:`Backend`: ``backend(x)`` -> ``(B, K)`` probabilities, ``backend.latency()`` ->
:class:`LatencyStats` against the model's budget.

This package imports neither torch nor a runtime; each is imported when its backend is opened.
"""

from __future__ import annotations

from pathlib import Path

from rtmer.backends.auto import BACKENDS, resolve
from rtmer.backends.base import Backend, LatencyStats, item_shape
from rtmer.errors import EngineError, ExportError, InputError
from rtmer.weights import WeightCard, find


def open_backend(
    weights: str | Path | WeightCard,
    backend: str = "auto",
    *,
    fp16: bool = False,
    threads: int | None = None,
) -> Backend:
    """The model of ``weights`` (a card, a card .json path, or a shipped model / card name) loaded
    on ``backend``. fp16: TensorRT's FP16 engine (an error on torch or onnx; ignored when "auto"
    picks onnx); threads: intra-op CPU threads of torch or ONNX Runtime (None: the runtime's default)."""
    card = weights if isinstance(weights, WeightCard) else find(weights)
    name = resolve(backend)
    if name == "tensorrt":
        from rtmer.backends.tensorrt import TensorRTBackend

        return TensorRTBackend(card, fp16=fp16)
    if fp16 and backend != "auto":
        raise InputError(f"fp16 is a TensorRT option; the {name} backend runs FP32 (drop --fp16)")
    if name == "onnx":
        from rtmer.backends.onnx import OnnxBackend

        return OnnxBackend(card, threads=threads)
    from rtmer.backends.torch import TorchBackend

    return TorchBackend(card, threads=threads)


__all__ = ["BACKENDS", "Backend", "EngineError", "ExportError", "LatencyStats", "item_shape", "open_backend"]
