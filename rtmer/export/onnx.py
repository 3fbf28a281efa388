"""torch -> ONNX, checked: fixed opset and tensor names, a dynamic batch axis, ``onnx.checker``,
and parity with the torch model under ONNX Runtime.

The graph: input ``input`` ``(N, *InputSpec.shape)`` float32 -> for the five clip-level models
``probabilities`` ``(N, K)`` (the model with its softmax appended); for the aggregation network
``features`` ``(N, 64)`` (:meth:`AggregationNet.frame_features`; N frames, the clip SVM runs after
it, :mod:`rtmer.heads.svm`).

Exporter: torch's TorchScript exporter (``dynamo=False``) at opset 17. Measured with torch 2.13
on this project's six models, it exports each in 0.1-2.5 s and writes opset 17 as asked; the
torch.export-based exporter (torch's default since 2.9) took 3-17 s, raised the opset to 18 and
warned from torch's own internals. torch deprecates the TorchScript exporter: when it is removed,
switch to ``dynamo=True`` with ``dynamic_shapes`` and opset 18 (TensorRT 10 parses both). Its
warnings are filtered around the call only: its own deprecation notice, and three that do not
apply to the checked graph (see :data:`_EXPORTER_WARNINGS`); the checker and the parity check
below verify the result.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rtmer.errors import ExportError
from rtmer.fileio import atomic_write
from rtmer.models.registry import ModelSpec, import_torch_module

if TYPE_CHECKING:
    import torch
    from torch import nn
else:
    torch = import_torch_module("torch")
    nn = torch.nn

OPSET = 17
INPUT_NAME = "input"
PROBABILITIES = "probabilities"
FEATURES = "features"
#: Max |ONNX Runtime - torch| of the exported outputs in FP32 that an export must meet.
TOLERANCE = 1e-4

#: (category, message start, why it is harmless here)
_EXPORTER_WARNINGS = (
    (DeprecationWarning, "", "the TorchScript exporter's notices about itself"),
    (
        UserWarning,
        "Constant folding - Only steps=1",
        "CropNet's strided crops stay a Slice node instead of being folded: same values",
    ),
    (
        torch.jit.TracerWarning,
        "Converting a tensor to a Python boolean",
        "nn.LSTM's input check compares its feature size, which the model fixes; any value-dependent "
        "branch of a model itself would fail the parity check on other inputs",
    ),
    (
        UserWarning,
        "Exporting a model to ONNX with a batch_size other than 1",
        "raised for any LSTM under a dynamic batch axis; the graph builds the LSTMs' zero initial "
        "states from the input's batch size, and parity is checked at another batch size than the trace's",
    ),
)


class Probabilities(nn.Module):
    """A clip-level model with its softmax: ``(N, *item)`` -> ``(N, K)``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.model(x), dim=1)


class FrameFeatures(nn.Module):
    """The aggregation network's frame part: frames ``(N, C, H, W)`` -> FC-64 ``(N, 64)``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.frame_features(x)  # type: ignore[operator]  # nn.Module's __getattr__ types it a Tensor


def graph_module(model: nn.Module, spec: ModelSpec) -> nn.Module:
    """What the ONNX graph computes for ``spec``'s model, in eval mode."""
    wrapped = FrameFeatures(model) if spec.input.frame_level else Probabilities(model)
    return wrapped.eval()


def example_input(spec: ModelSpec, batch: int, seed: int = 0) -> np.ndarray:
    """A batch of ``batch`` graph inputs in the model's value range (flow: a few pixels either way),
    deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    shape = (batch, *spec.input.shape)  # frames for the aggregation network, whole items otherwise
    if spec.input.value_range is None:
        return (rng.standard_normal(shape) * 2.0).astype(np.float32)
    lo, hi = spec.input.value_range
    return rng.uniform(lo, hi, shape).astype(np.float32)


def export_onnx(model: nn.Module, spec: ModelSpec, path: Path, *, opset: int = OPSET) -> Path:
    """Writes ``model``'s graph (:func:`graph_module`) to ``path`` and checks it: ``onnx.checker``,
    then ONNX Runtime against torch on a batch of another size than the export's, max abs
    difference <= :data:`TOLERANCE`. Raises :class:`ExportError` naming the failure; a failed file
    is not left at ``path``. Returns ``path``."""
    try:
        import onnx
        import onnxruntime as ort
    except ImportError as exc:
        raise ExportError(
            f"ONNX export needs onnx and onnxruntime ({exc}): pip install 'rtmer[train]'"
        ) from exc
    module = graph_module(model, spec)
    path = Path(path)
    output = FEATURES if spec.input.frame_level else PROBABILITIES
    try:
        with atomic_write(path) as tmp:
            with warnings.catch_warnings():
                for category, message, _why in _EXPORTER_WARNINGS:
                    warnings.filterwarnings("ignore", message=message, category=category)
                torch.onnx.export(
                    module,
                    (torch.from_numpy(example_input(spec, 1)),),
                    str(tmp),
                    input_names=[INPUT_NAME],
                    output_names=[output],
                    dynamic_axes={INPUT_NAME: {0: "batch"}, output: {0: "batch"}},
                    opset_version=opset,
                    dynamo=False,
                )
            onnx.checker.check_model(str(tmp), full_check=True)
            x = example_input(spec, 2, seed=1)  # another batch size than the trace's: the axis is dynamic
            with torch.inference_mode():
                expected = module(torch.from_numpy(x)).numpy()
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            session = ort.InferenceSession(str(tmp), options, providers=["CPUExecutionProvider"])
            got = session.run([output], {INPUT_NAME: x})[0]
            diff = float(np.abs(got - expected).max()) if got.shape == expected.shape else float("inf")
            if not diff <= TOLERANCE:
                raise ExportError(
                    f"{spec.name}: ONNX Runtime differs from torch by {diff:.3g} (> {TOLERANCE:g}, shapes "
                    f"{got.shape} vs {expected.shape}); the traced graph does not compute what the model "
                    "does (value-dependent Python control flow, or an operator the exporter mistranslates)"
                )
    except ExportError:
        raise
    except Exception as exc:  # the exporter and checker raise many untyped errors; name the model
        raise ExportError(f"{spec.name}: ONNX export failed ({type(exc).__name__}: {exc})") from exc
    return path
