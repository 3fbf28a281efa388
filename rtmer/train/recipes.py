"""How each model is trained: the papers' losses, optimisers and learning rates, fixed before a run.

Torch-free: ``rtmer train --help`` and the model cards read these without importing torch. Where a
paper gives no value the choice is marked **[rtmer]** in ``source``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from rtmer.errors import InputError
from rtmer.models import registry

Optimizer = Literal["adam", "adamp"]
Loss = Literal["ce", "focal", "smooth"]
Augment = Literal["none", "cropnet"]
Strategy = Literal["clip", "frames_svm", "two_stage"]


@dataclass(frozen=True)
class Recipe:
    """One model's training settings.

    strategy: "clip" (one input -> one label), "frames_svm" (the aggregation network: frames
    trained with the clip's label, then an SVM on aggregated frame features), "two_stage"
    (CNN-LSTM-SE: spatial nets per frame, then the temporal model on frozen spatial features);
    epochs: the fixed epoch budget (or the upper bound when epochs are chosen on a validation
    split); stage2_lr / stage2_epochs: the temporal stage of "two_stage"; frames_per_clip: frames
    sampled per clip and epoch for frame-level training; source: where the numbers come from.
    """

    optimizer: Optimizer = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    epochs: int = 50
    batch_size: int = 32
    loss: Loss = "ce"
    augment: Augment = "none"
    strategy: Strategy = "clip"
    stage2_lr: float = 5e-5
    stage2_epochs: int = 0
    frames_per_clip: int = 8
    source: str = ""

    def __post_init__(self) -> None:
        if self.optimizer not in ("adam", "adamp"):
            raise InputError(f"unknown optimizer {self.optimizer!r}; use adam or adamp")
        if self.loss not in ("ce", "focal", "smooth"):
            raise InputError(f"unknown loss {self.loss!r}; use ce, focal or smooth")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0 or self.frames_per_clip < 1:
            raise InputError(
                f"need epochs >= 1, batch_size >= 1, lr > 0, frames_per_clip >= 1; got {self.epochs}, "
                f"{self.batch_size}, {self.lr}, {self.frames_per_clip}"
            )

    def with_overrides(self, **changes: object) -> Recipe:
        """This recipe with the non-None ``changes`` applied (command-line overrides)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]


RECIPES: dict[str, Recipe] = {
    "ststnet": Recipe(
        lr=5e-3,
        epochs=60,
        batch_size=32,
        source="[rtmer] Adam 5e-3, 60 epochs, batch 32, cross-entropy: LAENet's paper gives no optimiser "
        "settings for the 28 x 28 flow networks",
    ),
    "laenet": Recipe(
        lr=5e-3,
        epochs=60,
        batch_size=32,
        source="[rtmer] as STSTNet; CK+ pre-training (rtmer train --pretrain ckplus=DIR) as in the paper",
    ),
    "mjfn": Recipe(
        lr=1e-4,
        epochs=300,
        batch_size=12,
        source="MJFN paper: cross-entropy, Adam 1e-4, batch 12, 300 epochs",
    ),
    "cropnet": Recipe(
        optimizer="adamp",
        lr=1e-3,
        weight_decay=1e-5,
        epochs=100,
        batch_size=16,
        loss="smooth",
        augment="cropnet",
        source="CropNet paper: label smoothing, AdamP, its colour/flip/rotation augmentation; "
        "[rtmer] lr 1e-3, weight decay 1e-5, 100 epochs, batch 16 (not stated)",
    ),
    "aggregation": Recipe(
        lr=5e-4,
        epochs=30,
        batch_size=64,
        strategy="frames_svm",
        frames_per_clip=8,
        source="aggregation paper: lr 5e-4, frame-level network then an SVM on mean/std/median; "
        "[rtmer] Adam, 30 epochs of 8 random frames per clip, batch 64 frames",
    ),
    "cnn_lstm_se": Recipe(
        lr=1e-4,
        epochs=30,
        batch_size=16,
        loss="focal",
        strategy="two_stage",
        stage2_lr=5e-5,
        stage2_epochs=60,
        frames_per_clip=4,
        source="CNN-LSTM-SE paper: focal loss (gamma 2, alpha inverse class frequency), Adam 1e-4 "
        "(spatial) and 5e-5 (temporal); [rtmer] 30 + 60 epochs, 4 random frames per clip in stage 1",
    ),
}

assert set(RECIPES) == set(registry.MODELS)


def recipe(model: str) -> Recipe:
    """The registered recipe of ``model``."""
    registry.get(model)
    return RECIPES[model]
