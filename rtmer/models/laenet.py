"""LAENet: STSTNet with two streams (Lien & Chiang 2020, sec. 2.1.4, tables 1-2).

Streams of 3 and 5 filters -> 10 x 10 x 8 -> average-pool -> 5 x 5 x 8 -> FC: 843 parameters,
exactly the paper's (the split is in :mod:`rtmer.models.ststnet`).
"""

from __future__ import annotations

from rtmer.models.ststnet import STSTNet


class LAENet(STSTNet):
    """``(B, 3, 28, 28)`` [u, v, strain] -> logits ``(B, num_classes)``; streams of 3 and 5 filters."""

    def __init__(self, num_classes: int = 3, in_channels: int = 3, dropout: float = 0.5) -> None:
        super().__init__(num_classes, filters=(3, 5), in_channels=in_channels, dropout=dropout)
