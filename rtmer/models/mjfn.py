"""MJFN: the multi-scale joint feature network on the flow colour image (Li, Wei, Wang, Zhou 2021).

Backbone (sec. 3.2.1, table 1), every conv and hidden FC followed by ReLU:

=============  ==========  ======  ==============
layer          filter      stride  output
=============  ==========  ======  ==============
Conv_1         11 x 11     4       54 x 54 x 48
MaxPooling_1   3 x 3       2       26 x 26 x 48
Conv_2         5 x 5       1       26 x 26 x 128
MaxPooling_2   3 x 3       2       12 x 12 x 128
Conv_3..5      3 x 3       1       12 x 12 x 128
MaxPooling_3   3 x 3       2       5 x 5 x 128
FC_1, FC_2     --          --      256, 256 (dropout 0.5, sec. 4.2)
FC_3           --          --      classes
=============  ==========  ======  ==============

Joint feature modules (sec. 3.2.2, eq. 7-9): layers 2, 3 and 4 each fused with layer 5 (Conv_5,
12 x 12 x 128): a 1 x 1 conv maps layer l to layer 5's channels (eq. 7), the two are added
channel by channel (eq. 8), then ReLU, max-pool, a fully connected layer f and the softmax of
``W f`` (eq. 9). **[rtmer]** readings:

- layer 2 is Conv_2's 26 x 26 output; eq. 8 needs layer 5's 12 x 12, which is what the backbone's
  own MaxPooling_2 makes of it, so the JFM of layer 2 takes MaxPooling_2's output;
- eq. 8 adds the transformed layer l to layer 5 itself; only layer l gets the 1 x 1 conv;
- the max-pool is the backbone's 3 x 3 stride 2 (12 -> 5); f is FC 256 + ReLU + dropout 0.5 like
  the backbone's FC layers, W a linear layer to the classes;
- the backbone's prediction y^b is the softmax of FC_3, as the JFMs' (eq. 10 sums probabilities).

Fusion (sec. 3.2.3): Z = y^m1 + y^m2 + y^m3 + y^b; strategy 1 averages, y = Z / 4 (eq. 10);
strategy 2, the paper's best, y = softmax(Z) (eq. 11). ``forward`` returns logits whose softmax is
y: Z itself for strategy 2, log(Z / 4) for strategy 1; cross-entropy on them is eq. 12.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

from rtmer.errors import InputError

Fusion = Literal["softmax", "average"]


def _conv(c_in: int, c_out: int, kernel: int, stride: int = 1) -> nn.Sequential:
    # Conv_1 is unpadded ((224 - 11) / 4 + 1 = 54); the others keep their size (table 1).
    padding = 0 if stride > 1 else kernel // 2
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, stride, padding), nn.ReLU())


def _classifier(in_features: int, hidden: tuple[int, ...], num_classes: int, dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Flatten()]
    for width in hidden:
        layers += [nn.Linear(in_features, width), nn.ReLU(), nn.Dropout(dropout)]
        in_features = width
    layers.append(nn.Linear(in_features, num_classes))
    return nn.Sequential(*layers)


class JointFeatureModule(nn.Module):
    """Layer l ``(B, c, 12, 12)`` fused with layer 5 ``(B, 128, 12, 12)`` -> logits ``(B, K)``
    (eq. 7-9 before the softmax)."""

    def __init__(self, in_channels: int, num_classes: int, channels: int = 128, dropout: float = 0.5) -> None:
        super().__init__()
        self.transform = nn.Conv2d(in_channels, channels, 1)  # eq. 7
        self.pool = nn.MaxPool2d(3, stride=2)
        self.classifier = _classifier(channels * 5 * 5, (256,), num_classes, dropout)

    def forward(self, layer: torch.Tensor, layer5: torch.Tensor) -> torch.Tensor:
        fused = torch.relu(self.transform(layer) + layer5)  # eq. 8 and the ReLU
        return self.classifier(self.pool(fused))


class MJFN(nn.Module):
    """``(B, 3, 224, 224)`` flow colour image in [0, 1] -> logits ``(B, num_classes)``.

    ``fusion``: "softmax" (strategy 2, default) or "average" (strategy 1); see the module docstring.
    """

    def __init__(self, num_classes: int = 3, fusion: Fusion = "softmax", dropout: float = 0.5) -> None:
        super().__init__()
        if fusion not in ("softmax", "average"):
            raise InputError(f"fusion must be 'softmax' or 'average', got {fusion!r}")
        self.fusion = fusion
        self.conv1 = _conv(3, 48, 11, stride=4)
        self.conv2 = _conv(48, 128, 5)
        self.conv3 = _conv(128, 128, 3)
        self.conv4 = _conv(128, 128, 3)
        self.conv5 = _conv(128, 128, 3)
        self.pool = nn.MaxPool2d(3, stride=2)  # MaxPooling_1..3 share the shape and hold no weights
        self.classifier = _classifier(128 * 5 * 5, (256, 256), num_classes, dropout)
        self.jfms = nn.ModuleList(JointFeatureModule(128, num_classes, dropout=dropout) for _ in range(3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``(B, 3, 224, 224)`` -> logits ``(B, num_classes)`` (softmax = the fused y)."""
        x = self.pool(self.conv1(x))  # (B, 48, 26, 26)
        l2 = self.pool(self.conv2(x))  # (B, 128, 12, 12): layer 2 at layer 5's size
        l3 = self.conv3(l2)
        l4 = self.conv4(l3)
        l5 = self.conv5(l4)
        logits = [self.classifier(self.pool(l5))] + [
            jfm(layer, l5) for jfm, layer in zip(self.jfms, (l2, l3, l4), strict=True)
        ]
        log_probs = torch.stack([torch.log_softmax(z, dim=1) for z in logits])  # (4, B, K)
        if self.fusion == "softmax":
            return log_probs.exp().sum(dim=0)  # Z; softmax(Z) is eq. 11
        # log(Z / 4), computed from the log-probabilities without underflow; softmax of it is Z / 4.
        return torch.logsumexp(log_probs, dim=0) - math.log(len(logits))
