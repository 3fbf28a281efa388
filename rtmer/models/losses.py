"""The papers' losses: focal loss (CNN-LSTM-SE) and label-smoothing cross-entropy (CropNet).

Both take logits ``(B, K)`` and integer targets ``(B,)`` and return the mean over the batch.
"""

from __future__ import annotations

import torch

from rtmer.errors import InputError


def inverse_frequency(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Focal-loss class weights ``(K,)`` from training labels: alpha_c proportional to 1 / n_c.

    **[rtmer]** normalised to sum to 1 (the paper's alpha_i in [0, 1], Aouayeb et al. 2022 eq. 9);
    a class absent from ``labels`` gets 0 (no target of it can occur in that training set).
    """
    counts = torch.bincount(labels.flatten().long(), minlength=num_classes)[:num_classes].double()
    inv = torch.where(counts > 0, 1.0 / counts.clamp_min(1), torch.zeros_like(counts))
    if inv.sum() == 0:
        raise InputError("inverse_frequency needs at least one label")
    return (inv / inv.sum()).float()


def focal_loss(
    logits: torch.Tensor, target: torch.Tensor, gamma: float = 2.0, alpha: torch.Tensor | None = None
) -> torch.Tensor:
    """Focal loss (Lin et al. 2018; Aouayeb et al. 2022 eq. 9), mean over the batch:
    -alpha_y (1 - p_y)^gamma log p_y. ``alpha``: per-class weights ``(K,)`` (None: all 1), e.g.
    :func:`inverse_frequency`. With gamma = 0 and no alpha it is the cross-entropy."""
    log_p = torch.log_softmax(logits, dim=1).gather(1, target[:, None]).squeeze(1)
    loss = -((1.0 - log_p.exp()) ** gamma) * log_p
    if alpha is not None:
        loss = alpha.to(loss)[target] * loss
    return loss.mean()


def label_smoothing_loss(logits: torch.Tensor, target: torch.Tensor, smoothing: float = 0.1) -> torch.Tensor:
    """Label-smoothing cross-entropy (CropNet, Zhao et al. 2021 sec. 4.2), mean over the batch:
    the cross-entropy against (1 - smoothing) one-hot(y) + smoothing / K, as
    ``F.cross_entropy(..., label_smoothing=smoothing)``. **[rtmer]** smoothing 0.1 (the paper
    gives none; Szegedy et al. 2016's value)."""
    if not 0.0 <= smoothing <= 1.0:
        raise InputError(f"smoothing must be in [0, 1], got {smoothing}")
    log_p = torch.log_softmax(logits, dim=1)
    nll = -log_p.gather(1, target[:, None]).squeeze(1)
    return ((1.0 - smoothing) * nll - smoothing * log_p.mean(dim=1)).mean()
