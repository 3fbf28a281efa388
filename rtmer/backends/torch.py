"""The reference backend: the torch model itself, on CPU (the parity reference for the others)."""

from __future__ import annotations

from typing import Any

import numpy as np

from rtmer.backends.base import BaseBackend
from rtmer.errors import MissingDependencyError
from rtmer.models import registry
from rtmer.models.registry import import_torch_module
from rtmer.weights import WeightCard


def load_model(card: WeightCard) -> Any:
    """The card's torch model: ``spec.build(...)`` with its classes and constructor options,
    ``files["torch"]`` (a safetensors state dict) loaded, in eval mode."""
    import_torch_module("torch")
    try:
        from safetensors.torch import load_file
    except ImportError as exc:
        raise MissingDependencyError(
            f"torch weights are safetensors files ({exc}); install the training extra: "
            "pip install 'rtmer[train]'"
        ) from exc
    model = registry.get(card.model).build(num_classes=len(card.classes), **card.model_options())
    model.load_state_dict(load_file(str(card.file("torch"))))
    return model.eval()


class TorchBackend(BaseBackend):
    """The card's torch model (:func:`load_model`) on CPU.

    threads: torch's intra-op threads (process-wide, ``torch.set_num_threads``); None leaves them.
    """

    name = "torch"

    def __init__(self, card: WeightCard, *, threads: int | None = None) -> None:
        super().__init__(card)
        self.torch = import_torch_module("torch")
        if threads is not None:
            self.torch.set_num_threads(threads)
        self.model = load_model(card)

    def _run(self, x: np.ndarray) -> np.ndarray:
        with self.torch.inference_mode():
            t = self.torch.from_numpy(x)
            if self.head is not None:
                return self.model.frame_features(t).numpy()
            return self.torch.softmax(self.model(t), dim=1).numpy()

    def close(self) -> None:
        self.__dict__.pop("model", None)  # the weights are freed with the last reference
