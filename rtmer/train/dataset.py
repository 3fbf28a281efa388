"""A ``torch.utils.data.Dataset`` over a :class:`rtmer.data.protocols.Labelled` set.

torch is imported here and never by :mod:`rtmer.data`, so the loaders run without it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from rtmer.data.protocols import Labelled
from rtmer.errors import InputError, MissingDependencyError
from rtmer.types import Clip

try:
    from torch.utils.data import Dataset
except ImportError as exc:
    raise MissingDependencyError(
        f"rtmer.train needs torch ({exc}); install the training extra: pip install 'rtmer[train]'"
    ) from exc


class ClipDataset(Dataset):
    """Item i = (``build(clip)``, label) for the i-th selected clip of ``labelled``.

    ``build`` turns a clip into the model input (a numpy array; the default collate function
    stacks them into a tensor); ``indices`` selects clips (a fold's train or test side), default all.
    """

    def __init__(
        self,
        labelled: Labelled,
        build: Callable[[Clip], np.ndarray],
        indices: Sequence[int] | np.ndarray | None = None,
    ) -> None:
        idx = np.arange(len(labelled)) if indices is None else np.asarray(indices, dtype=np.int64)
        if idx.ndim != 1 or (idx.size and (idx.min() < 0 or idx.max() >= len(labelled))):
            raise InputError(f"indices must be a 1-D list of positions in 0..{len(labelled) - 1}")
        self.labelled = labelled
        self.build = build
        self.indices = idx

    def __len__(self) -> int:
        return int(self.indices.size)

    @property
    def labels(self) -> np.ndarray:
        """The labels of the selected clips, in item order."""
        return self.labelled.labels[self.indices]

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        j = int(self.indices[i])
        clip = self.labelled.clips[j]
        x = self.build(clip)
        if not isinstance(x, np.ndarray):
            raise InputError(f"build() must return a numpy array, got {type(x).__name__} for {clip.key}")
        return x, int(self.labelled.labels[j])
