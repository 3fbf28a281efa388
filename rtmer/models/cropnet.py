"""CropNet: the Cropped Gaussian Pyramid with Overlapping (CGPO), a ReXNet-style extractor shared
by its ten views, position embeddings and a linear classifier (Zhao, Chen, Luo 2021, sec. 3.2).

- CGPO (sec. 3.2.2): the 320 x 320 input is down-sampled to 160 x 160, one view (z0); the 320
  image is cut into a 3 x 3 grid of crops overlapping by alpha = 0.3, each resized to 160 x 160
  (z1..z9). **[rtmer]** the down-sampling is a Gaussian pyramid step (5-tap binomial blur,
  reflected border, every second pixel: OpenCV's ``pyrDown``); the crop side is
  s = W / (n - (n - 1) alpha) = 133.3 px and the stride s (1 - alpha) = 93.3 px, so the three
  crops of a row span the image exactly; rounded to whole pixels: side 133 at offsets 0, 93,
  187; each resized bilinearly.
- Extractor (sec. 3.2.3, fig. 3): "the ReXNet feature extraction module", MobileNetV2 inverted
  bottlenecks with expansion 6 and channels increasing block by block. **[rtmer]** ReXNet-1.0's
  layout (Han et al. 2020): a 3 x 3 stride-2 stem of 32, then 16 blocks in stages of 1, 2, 2, 3,
  3, 5 with strides 1, 2, 2, 2, 1, 2, expansion 1 in the first and 6 after, squeeze-excitation
  (ratio 12) from the third stage, channels growing linearly from 16 to 196, each times
  ``width_mult``; SiLU after the expansion, ReLU6 after the depthwise conv, a linear projection,
  and a shortcut onto the first input-many channels where the stride is 1. The paper's "about
  7.6 M parameters" is ReXNet-1.3x's count with its 1000-class ImageNet classifier, hence the
  default ``width_mult=1.3``; without that classifier, with this head, the model has 5.93 M.
- Head (sec. 3.2.4): per view Conv -> BN -> adaptive pooling -> FC -> z_i in R^24; trainable
  position embeddings p_1..p_9 ~ N(0, variance 0.2) added to z_1..z_9 (eq. 8, **[rtmer]** the
  "⊕" read as addition, p_i having z_i's dimension); [z0, z1'..z9'] concatenated -> FC ->
  classes. **[rtmer]** the head is shared by the ten views like the extractor (the embeddings
  tell the crops apart); its conv is ReXNet's 1 x 1 to 1280 x ``width_mult`` channels, with
  ReXNet's SiLU after the BN.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

#: CGPO's input side and its views' side (sec. 3.2.2).
INPUT_SIZE = 320
VIEW_SIZE = 160
EMBED_DIM = 24  # z_i in R^24 (sec. 3.2.4)

# ReXNet-1.0 stages (Han et al. 2020): blocks per stage, first stride, squeeze-excitation.
_STAGES = ((1, 1, False), (2, 2, False), (2, 2, True), (3, 2, True), (3, 1, True), (5, 2, True))


class CGPO(nn.Module):
    """``(B, C, 320, 320)`` -> ``(B, 1 + grid**2, C, 160, 160)``: the down-sampled image, then the
    ``grid`` x ``grid`` overlapping crops row by row, each resized to 160 x 160."""

    kernel: torch.Tensor  # a buffer

    def __init__(self, channels: int = 3, grid: int = 3, overlap: float = 0.3) -> None:
        super().__init__()
        side = INPUT_SIZE / (grid - (grid - 1) * overlap)
        self.side = round(side)
        self.offsets = tuple(round(k * side * (1 - overlap)) for k in range(grid))
        taps = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])
        kernel = torch.outer(taps, taps) / 256.0
        self.register_buffer("kernel", kernel.expand(channels, 1, 5, 5).clone(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c = x.shape[:2]
        down = F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), self.kernel, stride=2, groups=c)
        crops = torch.stack(
            [x[:, :, r : r + self.side, q : q + self.side] for r in self.offsets for q in self.offsets], dim=1
        )
        n = crops.shape[1]
        crops = F.interpolate(
            crops.reshape(b * n, c, self.side, self.side),
            size=VIEW_SIZE,
            mode="bilinear",
            align_corners=False,
        ).reshape(b, n, c, VIEW_SIZE, VIEW_SIZE)
        return torch.cat([down.unsqueeze(1), crops], dim=1)


def _conv_bn(c_in: int, c_out: int, kernel: int = 1, stride: int = 1, groups: int = 1) -> list[nn.Module]:
    return [
        nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out),
    ]


class SqueezeExcite(nn.Module):
    """ReXNet's channel attention on ``(B, C, H, W)``: pool -> 1 x 1 conv to C / ratio -> BN ->
    ReLU -> 1 x 1 conv to C -> sigmoid -> scale."""

    def __init__(self, channels: int, ratio: int = 12) -> None:
        super().__init__()
        hidden = channels // ratio
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(channels, hidden, 1),
            nn.BatchNorm2d(hidden),
            nn.ReLU(),
            nn.Conv2d(hidden, channels, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)


class LinearBottleneck(nn.Module):
    """Inverted bottleneck ``(B, c_in, H, W)`` -> ``(B, c_out, H / stride, W / stride)``."""

    def __init__(self, c_in: int, c_out: int, expansion: int, stride: int, se: bool) -> None:
        super().__init__()
        hidden = c_in * expansion
        layers: list[nn.Module] = []
        if expansion != 1:
            layers += [*_conv_bn(c_in, hidden), nn.SiLU()]
        layers += _conv_bn(hidden, hidden, 3, stride, groups=hidden)
        if se:
            layers.append(SqueezeExcite(hidden))
        layers += [nn.ReLU6(), *_conv_bn(hidden, c_out)]
        self.body = nn.Sequential(*layers)
        self.c_in = c_in if stride == 1 and c_in <= c_out else 0  # channels the shortcut adds to

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        if not self.c_in:
            return out
        # ReXNet's partial shortcut onto the first c_in channels, written without in-place writes.
        return torch.cat([out[:, : self.c_in] + x, out[:, self.c_in :]], dim=1)


class ReXNetExtractor(nn.Module):
    """``(N, 3, H, W)`` -> ``(N, out_channels, H / 32, W / 32)``; see the module docstring."""

    def __init__(self, width_mult: float = 1.3, in_channels: int = 3) -> None:
        super().__init__()
        blocks = [
            (s if i == 0 else 1, se, 1 if k == 0 else 6)
            for k, (n, s, se) in enumerate(_STAGES)
            for i in range(n)
        ]
        # Block k has 16 + 180 k / 16 channels (ReXNet: 16 to 185); below width 1 the stem and
        # the first block keep 32 and 16.
        wide = max(width_mult, 1.0)
        channels = [round(16 * wide + width_mult * 180 * k / len(blocks)) for k in range(len(blocks))]
        stem = round(32 * wide)
        layers: list[nn.Module] = [*_conv_bn(in_channels, stem, 3, 2), nn.SiLU()]
        c_in = stem
        for (stride, se, expansion), c_out in zip(blocks, channels, strict=True):
            layers.append(LinearBottleneck(c_in, c_out, expansion, stride, se))
            c_in = c_out
        self.body = nn.Sequential(*layers)
        self.out_channels = c_in

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class CropNet(nn.Module):
    """``(B, 3, 320, 320)`` ARS or RRS image in [0, 1] -> logits ``(B, num_classes)``.

    ``width_mult`` scales the extractor's channels (1.3: the paper's size; smaller is faster);
    ``grid`` and ``overlap`` are CGPO's n and alpha.
    """

    def __init__(
        self,
        num_classes: int = 3,
        width_mult: float = 1.3,
        grid: int = 3,
        overlap: float = 0.3,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        self.cgpo = CGPO(in_channels, grid, overlap)
        self.extractor = ReXNetExtractor(width_mult, in_channels)
        pen = int(1280 * width_mult)
        self.head = nn.Sequential(
            *_conv_bn(self.extractor.out_channels, pen),
            nn.SiLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(pen, EMBED_DIM),
        )
        # p_1..p_9 ~ N(0, 0.2): standard deviation sqrt(0.2) (sec. 3.2.4).
        self.position = nn.Parameter(torch.randn(grid * grid, EMBED_DIM) * math.sqrt(0.2))
        self.classifier = nn.Linear((1 + grid * grid) * EMBED_DIM, num_classes)

    def embeddings(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 3, 320, 320)`` -> ``(B, 1 + grid**2, 24)``: z0, then z1' .. z9' (eq. 8)."""
        views = self.cgpo(x)
        b, n = views.shape[:2]
        z = self.head(self.extractor(views.flatten(0, 1))).reshape(b, n, EMBED_DIM)
        return torch.cat([z[:, :1], z[:, 1:] + self.position], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``(B, 3, 320, 320)`` -> logits ``(B, num_classes)``."""
        return self.classifier(self.embeddings(x).flatten(1))
