"""STSTNet: the shallow triple-stream network on the 28 x 28 [u, v, strain] flow image.

Liong, Gan, See, Khor, Huang 2019 (FG 2019), with the layers as Lien & Chiang 2020 (LAENet
paper, sec. 2.1.4 and table 2) describe them: parallel streams of conv 3 x 3 ("same") -> ReLU ->
batch norm -> max-pool 3 x 3 stride 3 ("same", 28 -> 10) -> dropout 0.5; the streams concatenated
along channels; average-pool 2 x 2 stride 2 (10 -> 5); one fully connected layer.

Parameters. LAENet's 843 (paper table 1) is exactly conv weights and biases (3*27+3 + 5*27+5 =
224), batch-norm scale and shift (2 x 8 = 16) and the FC (200*3+3 = 603); the batch-norm running
statistics are buffers, not parameters. Counted the same way, STSTNet has 448 + 32 + 1,203 =
1,683 parameters. The published 1,670 is 13 fewer, and no consistent way of counting these layers
gives it (without the conv biases 1,667, without batch norm 1,651, without the FC bias 1,680):
**[rtmer]** 1,683, the count the stated layers give, the way LAENet's 843 is counted.
"""

from __future__ import annotations

import torch
from torch import nn


class STSTNet(nn.Module):
    """Parallel shallow streams on a flow image: ``(B, 3, 28, 28)`` -> logits ``(B, num_classes)``.

    ``filters``: one stream per entry, its number of 3 x 3 filters (STSTNet 3, 5, 8).
    """

    def __init__(
        self,
        num_classes: int = 3,
        filters: tuple[int, ...] = (3, 5, 8),
        in_channels: int = 3,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.streams = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(in_channels, f, 3, padding=1),  # "same"
                # LAENet paper, sec. 2.1.4: ReLU, then batch normalisation (also STSTNet's order).
                nn.ReLU(),
                nn.BatchNorm2d(f),
                # "same" pooling of 28 with stride 3 gives ceil(28 / 3) = 10: one pad row/column
                # on each side (MATLAB's split of the 2 padding pixels; max-pool pads with -inf).
                nn.MaxPool2d(3, stride=3, padding=1),
                nn.Dropout(dropout),
            )
            for f in filters
        )
        self.pool = nn.AvgPool2d(2, stride=2)
        self.fc = nn.Linear(sum(filters) * 5 * 5, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``(B, 3, 28, 28)`` [u, v, strain] -> logits ``(B, num_classes)``."""
        x = torch.cat([stream(x) for stream in self.streams], dim=1)  # (B, sum(filters), 10, 10)
        return self.fc(torch.flatten(self.pool(x), 1))
