"""Fitting one model on one training side, and predicting a test side: the three strategies of
:mod:`rtmer.train.recipes` ("clip", "frames_svm", "two_stage"), the papers' losses and optimisers,
CropNet's augmentation.

Every function here is deterministic for a given ``torch.Generator`` (batches, frame samples and
augmentation all draw from it) and never sees the test side: :func:`fit` gets the training inputs
only, :func:`predict` gets a fitted model and inputs.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rtmer.errors import MissingDependencyError
from rtmer.models.aggregation import ClipSVM
from rtmer.models.losses import focal_loss, inverse_frequency, label_smoothing_loss
from rtmer.train import metrics
from rtmer.train.recipes import Recipe

if TYPE_CHECKING:
    from rtmer.models.aggregation import AggregationNet
    from rtmer.models.cnn_lstm_se import CnnLstmSe

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class Fitted:
    """A trained model: the network, and for "frames_svm" the clip SVM on its frame features."""

    net: nn.Module
    svm: ClipSVM | None = None


def loss_function(name: str, train_labels: torch.Tensor, k: int) -> LossFn:
    """The recipe's loss; focal alpha from the training labels only (the test labels stay unseen)."""
    if name == "focal":
        alpha = inverse_frequency(train_labels, k)
        return lambda logits, y: focal_loss(logits, y, gamma=2.0, alpha=alpha)
    if name == "smooth":
        return label_smoothing_loss
    return F.cross_entropy


def optimizer(params: object, name: str, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """Adam, or AdamP (CropNet) from the ``adamp`` package."""
    if name == "adamp":
        try:
            from adamp import AdamP
        except ImportError as exc:
            raise MissingDependencyError(
                f"CropNet's AdamP optimiser needs the adamp package ({exc}); pip install 'rtmer[train]'"
            ) from exc
        return AdamP(params, lr=lr, weight_decay=weight_decay)
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)  # type: ignore[arg-type]


def batches(n: int, batch_size: int, gen: torch.Generator) -> list[torch.Tensor]:
    """A shuffled epoch of index batches; a lone last sample joins the previous batch (batch norm
    cannot train on one sample)."""
    order = torch.randperm(n, generator=gen)
    out = list(torch.split(order, batch_size))
    if len(out) > 1 and out[-1].numel() == 1:
        out[-2:] = [torch.cat(out[-2:])]
    return out


def _rand(gen: torch.Generator, n: int, lo: float, hi: float) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=gen)


def _gray(x: torch.Tensor) -> torch.Tensor:
    return (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2])[:, None]


def _hue_shift(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Rotates hue by ``shift`` turns (torchvision's adjust_hue, in the YIQ plane: a rotation of
    the chroma vector, exact up to clipping)."""
    yiq = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
    rgb = torch.linalg.inv(yiq)
    q = torch.einsum("ij,bjhw->bihw", yiq, x)
    angle = 2 * math.pi * shift[:, None, None]
    c, s = torch.cos(angle), torch.sin(angle)
    i2 = c * q[:, 1] - s * q[:, 2]
    q2 = s * q[:, 1] + c * q[:, 2]
    return torch.einsum("ij,bjhw->bihw", rgb, torch.stack([q[:, 0], i2, q2], dim=1))


def cropnet_augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """CropNet's training augmentation (sec. 4.2) on a batch ``(B, 3, H, W)`` in [0, 1]:
    brightness, contrast and saturation x U[0.2, 1.8], hue +- 0.5 of the colour circle (torchvision's
    ``ColorJitter(0.8, 0.8, 0.8, 0.5)``), grayscale p = 0.2, horizontal flip p = 0.5, rotation
    +- 15 degrees. Each image draws its own parameters from ``gen``."""
    b = x.shape[0]
    x = x * _rand(gen, b, 0.2, 1.8)[:, None, None, None]
    mean = _gray(x).mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * _rand(gen, b, 0.2, 1.8)[:, None, None, None] + mean
    g = _gray(x)
    x = (x - g) * _rand(gen, b, 0.2, 1.8)[:, None, None, None] + g
    x = _hue_shift(x.clamp(0, 1), _rand(gen, b, -0.5, 0.5))
    gray = torch.rand(b, generator=gen) < 0.2
    x = torch.where(gray[:, None, None, None], _gray(x).expand_as(x), x)
    flip = torch.rand(b, generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    angle = _rand(gen, b, -15.0, 15.0) * math.pi / 180
    cos, sin = torch.cos(angle), torch.sin(angle)
    zero = torch.zeros_like(cos)
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x.clamp(0, 1), grid, align_corners=False, padding_mode="zeros")


def _epochs(
    model: nn.Module,
    step: Callable[[torch.Tensor], torch.Tensor],
    n: int,
    recipe: Recipe,
    epochs: int,
    lr: float,
    gen: torch.Generator,
    params: object | None = None,
    on_epoch: Callable[[int], None] | None = None,
) -> None:
    """``epochs`` passes over ``n`` items; ``step(batch_indices)`` returns the batch loss."""
    opt = optimizer(
        model.parameters() if params is None else params, recipe.optimizer, lr, recipe.weight_decay
    )
    for epoch in range(epochs):
        model.train()
        for idx in batches(n, recipe.batch_size, gen):
            opt.zero_grad()
            step(idx).backward()
            opt.step()
        if on_epoch is not None:
            on_epoch(epoch + 1)


def _frame_sample(
    n_clips: int, t: int, per_clip: int, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """(clip, frame) indices of ``per_clip`` random frames of each clip."""
    clips = torch.arange(n_clips).repeat_interleave(per_clip)
    frames = torch.randint(0, t, (n_clips * per_clip,), generator=gen)
    return clips, frames


def fit(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    k: int,
    recipe: Recipe,
    gen: torch.Generator,
    *,
    epochs: int | None = None,
    device: torch.device | str = "cpu",
    on_epoch: Callable[[int, Fitted], None] | None = None,
) -> Fitted:
    """Trains ``model`` on ``(x, y)`` with ``recipe`` for ``epochs`` (default ``recipe.epochs``).

    ``on_epoch(epoch, fitted)`` is called after each epoch (validation scoring); for
    "frames_svm" the SVM is fitted at the end only, so ``fitted.svm`` is None in the callback.
    """
    device = torch.device(device)
    epochs = recipe.epochs if epochs is None else epochs
    model = model.to(device)
    loss_fn = loss_function(recipe.loss, y, k)
    fitted = Fitted(model)
    callback = None if on_epoch is None else (lambda e: on_epoch(e, fitted))

    if recipe.strategy == "clip":

        def step(idx: torch.Tensor) -> torch.Tensor:
            xb = x[idx].to(device)
            if recipe.augment == "cropnet":
                xb = cropnet_augment(xb, gen)
            return loss_fn(model(xb), y[idx].to(device))

        _epochs(model, step, x.shape[0], recipe, epochs, recipe.lr, gen, on_epoch=callback)
        return fitted

    if recipe.strategy == "frames_svm":
        # The aggregation paper trains the frame network with each frame labelled as its clip.
        frames_of: list[tuple[torch.Tensor, torch.Tensor]] = []

        def frames_epoch(e: int) -> None:
            frames_of.clear()
            if callback is not None:
                callback(e)

        def frame_step(idx: torch.Tensor) -> torch.Tensor:
            if not frames_of:
                frames_of.append(_frame_sample(x.shape[0], x.shape[1], recipe.frames_per_clip, gen))
            clips, frames = frames_of[0]
            return loss_fn(model(x[clips[idx], frames[idx]].to(device)), y[clips[idx]].to(device))

        n_items = x.shape[0] * recipe.frames_per_clip
        _epochs(model, frame_step, n_items, recipe, epochs, recipe.lr, gen, on_epoch=frames_epoch)
        svm = ClipSVM()
        svm.fit(frame_features(model, x, device), y.numpy())
        fitted.svm = svm
        return fitted

    # "two_stage": CNN-LSTM-SE, sec. 3.4: spatial nets on single frames first (every region's
    # head on the clip's label), then the temporal model on standardised, frozen spatial features.
    net = cast("CnnLstmSe", model)
    names = [r.name for r in net.layout]

    def spatial_step(idx: torch.Tensor) -> torch.Tensor:
        clips, frames = _frame_sample(idx.numel(), x.shape[1], recipe.frames_per_clip, gen)
        xb = x[idx[clips], frames].to(device)
        yb = y[idx[clips]].to(device)
        losses = [loss_fn(net.spatial_logits(xb, name), yb) for name in names]
        return functools.reduce(operator.add, losses) / len(names)

    spatial_params = net.spatial.parameters()
    _epochs(model, spatial_step, x.shape[0], recipe, epochs, recipe.lr, gen, params=spatial_params)
    sf = spatial_feature_bank(model, x, device)
    flat = sf.flatten(0, 1)
    net.set_standardisation(flat.mean(dim=0), flat.std(dim=0))
    temporal_params = [p for n, p in model.named_parameters() if not n.startswith("spatial.")]

    def temporal_step(idx: torch.Tensor) -> torch.Tensor:
        return loss_fn(net.temporal(sf[idx]), y[idx].to(device))

    _epochs(
        model, temporal_step, x.shape[0], recipe, recipe.stage2_epochs, recipe.stage2_lr, gen,
        params=temporal_params, on_epoch=callback,
    )  # fmt: skip
    return fitted


@torch.no_grad()
def frame_features(model: nn.Module, x: torch.Tensor, device: torch.device, chunk: int = 256) -> np.ndarray:
    """The aggregation network's FC-64 features of every frame: ``(N, T, ...)`` -> ``(N, T, 64)``."""
    model.eval()
    flat = x.flatten(0, 1)
    net = cast("AggregationNet", model)
    out = [net.frame_features(flat[i : i + chunk].to(device)).cpu() for i in range(0, flat.shape[0], chunk)]
    return torch.cat(out).reshape(x.shape[0], x.shape[1], -1).numpy()


@torch.no_grad()
def spatial_feature_bank(
    model: nn.Module, x: torch.Tensor, device: torch.device, chunk: int = 8
) -> torch.Tensor:
    """CNN-LSTM-SE's raw spatial features of every clip ``(N, T, 6, 256)`` (eval mode: no dropout)."""
    model.eval()
    net = cast("CnnLstmSe", model)
    return torch.cat([net.spatial_features(x[i : i + chunk].to(device)) for i in range(0, x.shape[0], chunk)])


@torch.no_grad()
def predict(
    fitted: Fitted, x: torch.Tensor, device: torch.device | str = "cpu", chunk: int = 64
) -> np.ndarray:
    """Class probabilities ``(N, K)`` of inputs ``x``.

    "frames_svm": the softmax of the SVM's one-vs-rest decision values (an SVM has no
    probabilities; the order of the classes is what the metrics use).
    """
    device = torch.device(device)
    net = fitted.net.eval()
    if fitted.svm is not None:
        decision = fitted.svm.decision_function(frame_features(net, x, device))
        return torch.softmax(torch.from_numpy(np.asarray(decision, np.float64)), dim=1).float().numpy()
    out = [torch.softmax(net(x[i : i + chunk].to(device)), dim=1).cpu() for i in range(0, x.shape[0], chunk)]
    return torch.cat(out).numpy()


def uf1_of(fitted: Fitted, x: torch.Tensor, y: np.ndarray, k: int, device: torch.device | str) -> float:
    """UF1 of a fitted model on ``(x, y)``; "frames_svm" before its SVM exists: frame logits
    averaged over each clip."""
    if fitted.svm is None and x.ndim == 5 and hasattr(fitted.net, "frame_features"):
        net = fitted.net.eval()
        with torch.no_grad():
            logits = torch.stack([net(clip.to(device)).mean(dim=0) for clip in x]).cpu()
        pred = logits.argmax(dim=1).numpy()
    else:
        pred = predict(fitted, x, device).argmax(axis=1)
    return metrics.uf1(y, pred, k)
