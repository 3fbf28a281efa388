"""CNN-LSTM-SE: patch CNNs with spatial squeeze-excitation per facial region, an LSTM per region,
temporal squeeze-excitation over the regions (Aouayeb, Soladie, Hamidouche, Kpalma, Seguier 2022).

- Regions (sec. 3.1, table 2): left and right eye + brow 81 x 102, nose 81 x 120, cheeks 60 x 60,
  mouth 60 x 160, height x width (the tables' data-set sizes read as H x W of faces taller than
  wide; :data:`rtmer.face.align.CNN_LSTM_SE_REGIONS`), pixels in [0, 1] (sec. 3.4). They arrive
  packed in one frame (:data:`rtmer.models.registry.REGION_ATLAS`).
- Patches (sec. 3.1): each region cut into m = 9 equal patches, 3 x 3. **[rtmer]** where a side
  does not divide by 3 (the mouth's 160), the patch side is the floor (53) and the three patches
  are spread to span the side (starts 0, 54, 107: one column shared).
- Patch CNN (sec. 3.2, eq. 1, fig. 4): conv 4@5x5 + ReLU, max-pool 2; conv 8@3x3 + ReLU, max-pool
  2 (H); then max-pool 2 of H in parallel with four conv 16@{1,3,5,7} + ReLU each max-pooled 2;
  concatenated: 8 + 4 x 16 = 72 channels. **[rtmer]** "same" convolutions (the paper used
  TensorFlow; a 20 x 20 cheek patch is 2 x 2 before the 7 x 7 conv), floor pooling (Keras'
  "valid"); one patch CNN per region, shared by its nine patches (the patches are "reshaped to fit
  the CNN input").
- Spatial SE (eq. 2-4): the nine patch outputs concatenated along channels (FM, 9 x 72 = 648),
  squeeze = ReLU(FC se·F) of the global average, excitation = sigmoid(FC F), FM scaled; then
  GAP, FC 2048 and FC 256 with ReLU, dropout 0.5 after each; the FC-256 ReLU output is the
  region's spatial feature SF (eq. 5); an FC K head after its dropout trains it (stage 1).
  **[rtmer]** se = 1/16, the ratio of Hu et al. 2018 whom the paper follows (it gives no se).
- Temporal (sec. 3.3): spatial features standardised (mean 0, std 1, from the training set's
  features: :meth:`CnnLstmSe.set_standardisation`); an LSTM of 64 units per region, its last
  output, LeakyReLU, dropout 0.2 (eq. 6); SE over the concatenated six outputs (eq. 7); FC 256 +
  LeakyReLU + dropout 0.5; FC K (eq. 8). **[rtmer]** the paper zero-pads sequences to a length
  N; rtmer resamples each clip in time to N frames (the feature path; N = 32 in the registry), so
  no padding is needed; LeakyReLU slope 0.3 (Keras' default); torch's default initialisation
  (the paper's N(0, 1) for every layer would saturate the 2048-wide FC).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import torch
from torch import nn

from rtmer.errors import InputError
from rtmer.models.registry import REGION_ATLAS, Region

GRID = 3  # m = 9 patches (sec. 3.1, table 3)
PATCH_CHANNELS = 8 + 4 * 16  # eq. 1
SPATIAL_DIM = 256  # SF (eq. 5)
LSTM_UNITS = 64
SE_RATIO = 1 / 16
LEAKY_SLOPE = 0.3


def _starts(side: int, grid: int = GRID) -> tuple[int, tuple[int, ...]]:
    """Patch side and the starts of ``grid`` patches spanning ``side`` (see the module docstring)."""
    size = side // grid
    return size, tuple(round(k * (side - size) / (grid - 1)) for k in range(grid))


class SqueezeExcite(nn.Module):
    """Eq. 2-4 on ``(B, F, H, W)`` maps or ``(B, F)`` vectors: FC se·F + ReLU, FC F + sigmoid of
    the global average, times the input."""

    def __init__(self, features: int, ratio: float = SE_RATIO) -> None:
        super().__init__()
        hidden = max(1, int(features * ratio))
        self.gate = nn.Sequential(
            nn.Linear(features, hidden), nn.ReLU(), nn.Linear(hidden, features), nn.Sigmoid()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        squeezed = x.mean(dim=(2, 3)) if x.dim() == 4 else x
        weights = self.gate(squeezed)
        return x * (weights[:, :, None, None] if x.dim() == 4 else weights)


class PatchCNN(nn.Module):
    """Eq. 1: ``(N, C, h, w)`` patches -> ``(N, 72, h / 8, w / 8)`` (floor at each pooling)."""

    def __init__(self, in_channels: int = 1) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, 4, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(4, 8, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.branches = nn.ModuleList(
            nn.Sequential(nn.Conv2d(8, 16, k, padding=k // 2), nn.ReLU(), nn.MaxPool2d(2))
            for k in (1, 3, 5, 7)
        )
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        return torch.cat([self.pool(h)] + [branch(h) for branch in self.branches], dim=1)


class RegionSpatialNet(nn.Module):
    """One region's spatial model (sec. 3.2): ``(N, C, height, width)`` -> SF ``(N, 256)``
    (:meth:`features`) or stage-1 logits ``(N, num_classes)`` (``forward``)."""

    def __init__(
        self, height: int, width: int, num_classes: int, in_channels: int = 1, dropout: float = 0.5
    ) -> None:
        super().__init__()
        self.patch_h, self.rows = _starts(height)
        self.patch_w, self.cols = _starts(width)
        if min(self.patch_h, self.patch_w) < 8:
            raise InputError(
                f"a {height} x {width} region gives patches under 8 px; the patch CNN pools by 8"
            )
        features = GRID * GRID * PATCH_CHANNELS
        self.cnn = PatchCNN(in_channels)
        self.se = SqueezeExcite(features)
        self.fc = nn.Sequential(
            nn.Linear(features, 2048),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(2048, SPATIAL_DIM),
            nn.ReLU(),  # SF is this ReLU's output (eq. 5); its dropout precedes the stage-1 head
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(SPATIAL_DIM, num_classes))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, height, width)`` -> SF ``(N, 256)`` (eq. 5)."""
        n = x.shape[0]
        patches = [x[:, :, r : r + self.patch_h, c : c + self.patch_w] for r in self.rows for c in self.cols]
        out = self.cnn(torch.cat(patches, dim=0))  # (9N, 72, h', w'), patch-major
        # FM: the nine patch outputs side by side along channels, patch by patch.
        fm = out.reshape(len(patches), n, *out.shape[1:]).transpose(0, 1).flatten(1, 2)
        return self.fc(self.se(fm).mean(dim=(2, 3)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, height, width)`` -> stage-1 logits ``(N, num_classes)``."""
        return self.head(self.features(x))


class CnnLstmSe(nn.Module):
    """``(B, T, C, 141, 324)`` packed region sequences in [0, 1] -> logits ``(B, num_classes)``.

    ``layout``: where the regions lie in each packed frame (:data:`REGION_ATLAS`).
    """

    feature_mean: torch.Tensor  # buffers: the spatial features' statistics (set_standardisation)
    feature_std: torch.Tensor

    def __init__(
        self,
        num_classes: int = 3,
        in_channels: int = 1,
        layout: Sequence[Region] = REGION_ATLAS,
        dropout: float = 0.5,
        temporal_dropout: float = 0.2,
    ) -> None:
        super().__init__()
        self.layout = tuple(layout)
        names = [r.name for r in self.layout]
        self.spatial = nn.ModuleDict(
            {
                r.name: RegionSpatialNet(r.height, r.width, num_classes, in_channels, dropout)
                for r in self.layout
            }
        )
        # Per-region standardisation of SF (sec. 3.4); identity until set from training features.
        self.register_buffer("feature_mean", torch.zeros(len(names), SPATIAL_DIM))
        self.register_buffer("feature_std", torch.ones(len(names), SPATIAL_DIM))
        self.lstms = nn.ModuleDict(
            {name: nn.LSTM(SPATIAL_DIM, LSTM_UNITS, batch_first=True) for name in names}
        )
        self.after_lstm = nn.Sequential(nn.LeakyReLU(LEAKY_SLOPE), nn.Dropout(temporal_dropout))
        self.temporal_se = SqueezeExcite(len(names) * LSTM_UNITS)
        self.classifier = nn.Sequential(
            nn.Linear(len(names) * LSTM_UNITS, 256),
            nn.LeakyReLU(LEAKY_SLOPE),
            nn.Dropout(dropout),
            nn.Linear(256, num_classes),
        )

    def net(self, name: str) -> RegionSpatialNet:
        """Region ``name``'s spatial network."""
        return cast(RegionSpatialNet, self.spatial[name])

    def region(self, x: torch.Tensor, name: str) -> torch.Tensor:
        """Region ``name`` of packed frames ``(..., C, 141, 324)`` -> ``(..., C, height, width)``."""
        r = next(r for r in self.layout if r.name == name)
        return x[..., r.top : r.top + r.height, r.left : r.left + r.width]

    def spatial_logits(self, x: torch.Tensor, name: str) -> torch.Tensor:
        """Stage 1: packed frames ``(N, C, 141, 324)`` -> region ``name``'s logits ``(N, num_classes)``."""
        return self.net(name)(self.region(x, name))

    def spatial_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T, C, 141, 324)`` -> raw SF ``(B, T, 6, 256)``, regions in layout order."""
        frames = x.flatten(0, 1)
        sf = torch.stack([self.net(r.name).features(self.region(frames, r.name)) for r in self.layout], dim=1)
        return sf.reshape(*x.shape[:2], *sf.shape[1:])

    @torch.no_grad()
    def set_standardisation(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Sets the per-region SF statistics ``(6, 256)`` the temporal model standardises with."""
        self.feature_mean.copy_(mean)
        self.feature_std.copy_(std.clamp_min(1e-6))

    def temporal(self, sf: torch.Tensor) -> torch.Tensor:
        """Stage 2: raw SF ``(B, T, 6, 256)`` -> logits ``(B, num_classes)`` (eq. 6-8)."""
        sf = (sf - self.feature_mean) / self.feature_std
        outputs = []
        for i, r in enumerate(self.layout):
            seq, _ = self.lstms[r.name](sf[:, :, i])
            outputs.append(self.after_lstm(seq[:, -1]))  # STF(r): the last step's output (eq. 6)
        return self.classifier(self.temporal_se(torch.cat(outputs, dim=1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``(B, T, C, 141, 324)`` -> logits ``(B, num_classes)``."""
        return self.temporal(self.spatial_features(x))
