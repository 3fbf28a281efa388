"""Helpers of the backend tests: test inputs, and weights of every registered model, randomly
initialised and written by save_weights (torch safetensors, checked ONNX, the aggregation network's
SVM). A module of its own, not conftest: several test folders have a conftest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from rtmer.models import registry
from rtmer.weights import WeightCard

NAMES = tuple(registry.MODELS)


@dataclass(frozen=True)
class Exported:
    card: WeightCard
    model: Any  # the torch model, eval mode
    svm: Any  # the aggregation network's fitted ClipSVM, else None


def items(spec: registry.ModelSpec, batch: int, seed: int) -> np.ndarray:
    """``batch`` backend items in the model's value range (flow: a few pixels either way)."""
    from rtmer.backends import item_shape

    rng = np.random.default_rng(seed)
    shape = (batch, *item_shape(spec))
    if spec.input.value_range is None:
        return (rng.standard_normal(shape) * 2.0).astype(np.float32)
    return rng.uniform(*spec.input.value_range, shape).astype(np.float32)


def export_model(name: str, folder: Any) -> Exported:
    """A seeded random model of ``name`` with non-trivial BatchNorm statistics (so that the
    exported graph's folded BN is exercised), saved with its card under ``folder``."""
    torch = pytest.importorskip("torch")
    from rtmer.export.weights import save_weights

    torch.set_num_threads(1)  # the test machine's cores are shared: more threads only contend
    torch.manual_seed(0)
    spec = registry.get(name)
    model = spec.build().eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.normal_(0.0, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    svm = None
    if spec.input.kind == "frames":
        from rtmer.models.aggregation import ClipSVM

        clips = torch.from_numpy(items(spec, 12, seed=5)[:, :8])  # 12 clips of 8 frames suffice
        with torch.inference_mode():
            feats = model.frame_features(clips.flatten(0, 1)).reshape(12, 8, -1).numpy()
        svm = ClipSVM().fit(feats, np.arange(12) % len(spec.classes))
    card = WeightCard(
        path=folder / f"{name}-test.json",
        name=f"{name}-test",
        model=name,
        classes=spec.classes,
        protocol=spec.protocol,
        files={},
        synthetic=True,
    )
    return Exported(save_weights(model, card, svm=svm), model, svm)
