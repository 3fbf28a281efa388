"""The fit strategies beyond one-input-one-label (the aggregation network's frames + SVM, CNN-LSTM-SE's
two stages), CropNet's augmentation, and the optimisers."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed (pip install -e .[train])")

from rtmer.models import registry  # noqa: E402
from rtmer.train.loop import cropnet_augment, fit, optimizer, predict  # noqa: E402
from rtmer.train.recipes import RECIPES, Recipe, recipe  # noqa: E402


def _clips(shape: tuple[int, ...], n: int = 6, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` clips of frames whose brightness codes the class (0, 1, 2): learnable in a few steps."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    x = 0.1 * torch.rand((n, *shape), generator=g) + 0.3 * y.float().reshape(-1, *([1] * len(shape)))
    return x, y


def test_frames_svm_trains_frames_then_an_svm() -> None:
    x, y = _clips((3, 1, 140, 120), n=3)
    model = registry.get("aggregation").build(num_classes=3, width=4)
    rec = recipe("aggregation").with_overrides(epochs=2, frames_per_clip=2, batch_size=4)
    fitted = fit(model, x, y, 3, rec, torch.Generator().manual_seed(0))
    assert fitted.svm is not None
    probs = predict(fitted, x)
    assert probs.shape == (3, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert (probs.argmax(axis=1) == y.numpy()).mean() == 1.0  # the SVM separates the training clips


def test_two_stage_trains_spatial_then_temporal() -> None:
    x, y = _clips((2, 1, *registry.ATLAS_SIZE), n=3)
    torch.manual_seed(0)
    model = registry.get("cnn_lstm_se").build(num_classes=3)
    lstm_before = model.lstms["mouth"].weight_hh_l0.detach().clone()
    spatial_before = model.spatial["mouth"].head[1].weight.detach().clone()
    rec = recipe("cnn_lstm_se").with_overrides(epochs=1, stage2_epochs=1, batch_size=3, frames_per_clip=1)
    fitted = fit(model, x, y, 3, rec, torch.Generator().manual_seed(0))
    spatial_after = fitted.net.spatial["mouth"].head[1].weight
    assert not torch.equal(spatial_before, spatial_after)
    assert not torch.equal(lstm_before, fitted.net.lstms["mouth"].weight_hh_l0)
    assert not torch.equal(fitted.net.feature_std, torch.ones_like(fitted.net.feature_std))  # standardised
    assert predict(fitted, x).shape == (3, 3)


def test_cropnet_augmentation_is_seeded_and_keeps_range() -> None:
    x = torch.rand((4, 3, 64, 64), generator=torch.Generator().manual_seed(1))
    a = cropnet_augment(x, torch.Generator().manual_seed(5))
    b = cropnet_augment(x, torch.Generator().manual_seed(5))
    c = cropnet_augment(x, torch.Generator().manual_seed(6))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)
    assert a.min() >= 0 and a.max() <= 1


def test_hue_rotation_by_a_full_turn_is_the_identity() -> None:
    from rtmer.train.loop import _hue_shift

    x = torch.rand((2, 3, 8, 8), generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(_hue_shift(x, torch.tensor([1.0, 0.0])), x, atol=1e-5, rtol=0)
    gray = x.mean(dim=1, keepdim=True).expand_as(x).contiguous()
    torch.testing.assert_close(_hue_shift(gray, torch.tensor([0.3, -0.2])), gray, atol=1e-5, rtol=0)


def test_recipes_cover_every_model_and_optimisers_build() -> None:
    assert set(RECIPES) == set(registry.MODELS)
    assert recipe("mjfn").lr == 1e-4 and recipe("mjfn").batch_size == 12 and recipe("mjfn").epochs == 300
    assert recipe("cropnet").optimizer == "adamp" and recipe("cropnet").loss == "smooth"
    assert recipe("cnn_lstm_se").loss == "focal" and recipe("cnn_lstm_se").stage2_lr == 5e-5
    p = [torch.nn.Parameter(torch.zeros(2))]
    assert type(optimizer(p, "adamp", 1e-3, 0.0)).__name__ == "AdamP"
    assert isinstance(optimizer(p, "adam", 1e-3, 0.0), torch.optim.Adam)
    assert Recipe().with_overrides(epochs=None, lr=0.5).lr == 0.5
