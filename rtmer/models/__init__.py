"""The five papers' models (torch) and their registry (metadata, no torch).

The registry names are importable without torch; the model classes and losses load their
module, and so torch, on first access (``from rtmer.models import LAENet``).
"""

from __future__ import annotations

from typing import Any

from rtmer.models.registry import MODELS, InputSpec, ModelSpec, Region, get, import_torch_module, pack_regions

# Lazily loaded names -> their module (each imports torch).
_LAZY = {
    "STSTNet": "rtmer.models.ststnet",
    "LAENet": "rtmer.models.laenet",
    "MJFN": "rtmer.models.mjfn",
    "CropNet": "rtmer.models.cropnet",
    "AggregationNet": "rtmer.models.aggregation",
    "ClipSVM": "rtmer.models.aggregation",
    "aggregate": "rtmer.models.aggregation",
    "CnnLstmSe": "rtmer.models.cnn_lstm_se",
    "focal_loss": "rtmer.models.losses",
    "inverse_frequency": "rtmer.models.losses",
    "label_smoothing_loss": "rtmer.models.losses",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_torch_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["MODELS", "InputSpec", "ModelSpec", "Region", "get", "pack_regions", *_LAZY]
