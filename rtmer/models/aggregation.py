"""The multiple-aggregation network (She, Lv, Tao, Liu, Niu, APSIPA): four residual branches on
each frame, FC-64 frame features, video features from their statistics, an SVM per clip.

- Input (sec. III-A): the face crop resized to 120 x 140, clips time-interpolated to 64 frames.
  **[rtmer]** 120 wide and 140 high (:func:`rtmer.face.align.aggregation_transform`), one gray
  channel by default (the paper does not say; SAMM is recorded in gray, so a composite is gray).
- Regions (sec. III-B): the crop is a 12 x 14 grid of 10-px blocks; "left eye + eyebrow", "right
  eye + eyebrow" and "mouth" are cut from it (:func:`rtmer.face.regions.grid_cuts`). **[rtmer]**
  one network needs the same cuts for every frame and clip: they are fixed when the model is
  built, by default :data:`DEFAULT_CUTS`.
- Branches (sec. III-C, fig. 1): "residual networks" of unstated depth. **[rtmer]** each branch a
  small ResNet: 3 x 3 stride-2 stem of ``width`` channels + BN + ReLU, then three stages of one
  basic block each (``width``, 2 ``width``, 4 ``width`` channels; strides 1, 2, 2; identity
  shortcuts, 1 x 1 projections where the shape changes), global average pooling; ``width`` 16 by
  default (325 k parameters in all; 32 quadruples the cost of a 64-frame clip for little gain on
  data sets of a few hundred clips).
- Head (sec. IV-B c): the four branch features concatenated -> FC 64 -> FC classes, ReLU, dropout
  0.5; the FC-64 output is the frame-level feature. **[rtmer]** dropout between the two FCs only:
  the paper's dropout "after each FC" would also drop logits.
- Video level (sec. III-C, eq. 4): mean, standard deviation and median of the frame features over
  the clip, concatenated -> an SVM (LIBSVM in the paper; scikit-learn's SVC, which wraps it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np
import torch
from torch import nn

from rtmer.errors import InputError, MissingDependencyError
from rtmer.face.regions import GridCut
from rtmer.heads.svm import video_features

#: **[rtmer]** default cuts: :func:`rtmer.face.regions.grid_cuts` of a frontal face (scikit-image's
#: astronaut photo, MediaPipe landmarks) in the aggregation crop; the landmark box puts the brows
#: at the crop's top and the chin at its bottom, so aligned faces land on about the same blocks.
#: Kept fixed (the shipped weights were trained on them): dlib's landmarks of the same photo give
#: the same eye cuts and a mouth cut one block larger (rows 60-120, columns 10-100).
DEFAULT_CUTS: Mapping[str, GridCut] = MappingProxyType(
    {
        "eye_brow_left": GridCut(slice(0, 40), slice(60, 120)),
        "eye_brow_right": GridCut(slice(0, 40), slice(0, 60)),
        "mouth": GridCut(slice(70, 120), slice(20, 100)),
    }
)
BRANCHES = ("face", "eye_brow_left", "eye_brow_right", "mouth")
FEATURE_DIM = 64  # the frame-level feature (sec. IV-B c)


class BasicBlock(nn.Module):
    """ResNet's two 3 x 3 convs with BN and an identity (or 1 x 1 projection) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(),
            nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False),
            nn.BatchNorm2d(c_out),
        )
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))  # eq. 1, y = F(x) + x


class ResidualBranch(nn.Module):
    """``(N, C, h, w)`` -> ``(N, 4 * width)``: stem, three basic blocks, global average pooling."""

    def __init__(self, in_channels: int = 1, width: int = 16) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, 2, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            BasicBlock(width, width, 1),
            BasicBlock(width, 2 * width, 2),
            BasicBlock(2 * width, 4 * width, 2),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.out_features = 4 * width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class AggregationNet(nn.Module):
    """Frame-level network: ``(N, C, 140, 120)`` frames in [0, 1] -> logits ``(N, num_classes)``.

    ``cuts``: the eye + brow and mouth cuts of the crop (:data:`DEFAULT_CUTS`); ``width``: the
    branches' first channel count.
    """

    def __init__(
        self,
        num_classes: int = 4,
        in_channels: int = 1,
        cuts: Mapping[str, GridCut] = DEFAULT_CUTS,
        width: int = 16,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        if set(cuts) != set(BRANCHES[1:]):
            raise InputError(f"cuts must name {', '.join(BRANCHES[1:])}, got {', '.join(sorted(cuts))}")
        self.cuts = {name: (cuts[name].rows, cuts[name].cols) for name in BRANCHES[1:]}
        self.branches = nn.ModuleDict({name: ResidualBranch(in_channels, width) for name in BRANCHES})
        self.fc1 = nn.Linear(len(BRANCHES) * 4 * width, FEATURE_DIM)
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(FEATURE_DIM, num_classes)

    def frame_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, 140, 120)`` -> ``(N, 64)``: the FC-64 activations (after ReLU), eq. 2-3."""
        parts = [self.branches["face"](x)]
        for name, (rows, cols) in self.cuts.items():
            parts.append(self.branches[name](x[:, :, rows, cols]))
        return torch.relu(self.fc1(torch.cat(parts, dim=1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``(N, C, 140, 120)`` -> logits ``(N, num_classes)``, one per frame."""
        return self.fc2(self.dropout(self.frame_features(x)))


def aggregate(frame_features: np.ndarray) -> np.ndarray:
    """Video-level feature (eq. 4): ``(T, F)`` -> ``(3F,)`` = [mean, std, median] over the T
    frames; ``(N, T, F)`` -> ``(N, 3F)``. The standard deviation is the population one (ddof 0)."""
    f = np.asarray(frame_features, np.float64)
    if f.ndim not in (2, 3):
        raise InputError(f"frame features must be (T, F) or (N, T, F) with T >= 1, got shape {f.shape}")
    # One implementation for training and the torch-free backends (rtmer.heads.svm).
    return video_features(f[None])[0] if f.ndim == 2 else video_features(f)


class ClipSVM:
    """The paper's clip classifier: :func:`aggregate` of each clip's frame features -> SVM.

    ``C``, ``kernel``: scikit-learn's ``SVC`` (RBF with C = 1 is LIBSVM's default, the paper's
    tool). **[rtmer]** the video features are standardised first (LIBSVM's guide scales features).
    Clips are given as a sequence of ``(T_i, F)`` arrays (T may differ) or an ``(N, T, F)`` array.
    """

    def __init__(self, C: float = 1.0, kernel: str = "rbf") -> None:
        try:
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler
            from sklearn.svm import SVC
        except ImportError as exc:
            raise MissingDependencyError(
                f"the aggregation network's SVM needs scikit-learn ({exc}); install the training extra: "
                "pip install 'rtmer[train]'"
            ) from exc
        self.pipeline = make_pipeline(StandardScaler(), SVC(C=C, kernel=kernel))

    @staticmethod
    def _video(clips: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
        if isinstance(clips, np.ndarray) and clips.ndim == 3:
            return aggregate(clips)
        return np.stack([aggregate(c) for c in clips])

    def fit(self, clips: Sequence[np.ndarray] | np.ndarray, labels: Sequence[int] | np.ndarray) -> ClipSVM:
        """Fits on the clips' frame features and their labels; returns self."""
        self.pipeline.fit(self._video(clips), np.asarray(labels))
        return self

    def predict(self, clips: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
        """``(N,)`` predicted labels."""
        return self.pipeline.predict(self._video(clips))

    def decision_function(self, clips: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
        """The SVM's decision values, ``(N, K)`` for K > 2 classes (one-vs-rest shape)."""
        return self.pipeline.decision_function(self._video(clips))
