"""The shipped demo weights: labelled synthetic everywhere, loadable without torch through ONNX
Runtime, the same outputs from the ONNX and torch files, and right on held-out synthetic clips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rtmer.backends import item_shape, open_backend
from rtmer.data import load
from rtmer.data.protocols import apply
from rtmer.synth.generator import generate_clips
from rtmer.train.metrics import uf1
from rtmer.weights import SYNTHETIC_STATEMENT, WEIGHTS_DIR, WeightCard, find, shipped

CARDS = shipped()


def test_demo_weights_ship_with_cards() -> None:
    assert {c.model for c in CARDS} >= {"ststnet", "laenet"}
    for card in CARDS:
        assert card.synthetic and card.statement == SYNTHETIC_STATEMENT
        assert card.name.endswith("-synthetic")
        assert {"uf1", "uar", "accuracy", "protocol"} <= set(card.metrics)
        assert card.training["generator"] and card.training["subjects"] >= 20
        assert card.file("onnx").is_file() and card.file("torch").is_file()
        assert (WEIGHTS_DIR / f"{card.name}.md").read_text().count("SYNTHETIC DATA ONLY") == 1
        assert find(card.model) == find(card.name)


@pytest.mark.parametrize("card", CARDS, ids=lambda c: c.name)
def test_onnx_and_torch_files_agree(card: WeightCard) -> None:
    pytest.importorskip("torch", reason="torch is not installed (pip install -e .[train])")
    onnx_backend = open_backend(card, "onnx")
    torch_backend = open_backend(card, "torch")
    shape = item_shape(onnx_backend.spec)
    x = np.random.default_rng(0).normal(0, 1, (2, *shape)).astype(np.float32)
    np.testing.assert_allclose(onnx_backend(x), torch_backend(x), rtol=0, atol=1e-4)


@pytest.fixture(scope="module")
def held_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic clips of a seed the demo weights never saw (they were trained on seed 0)."""
    out = tmp_path_factory.mktemp("held_out")
    generate_clips(
        out, subjects=2, clips_per_subject=5, size=(256, 256), seed=7, progress=False, contact_sheets=0
    )
    return out


@pytest.mark.parametrize("card", [c for c in CARDS if c.model in ("ststnet", "laenet")], ids=lambda c: c.name)
def test_flow_weights_classify_held_out_synthetic_clips(card: WeightCard, held_out: Path) -> None:
    from rtmer.train.inputs import model_inputs

    labelled = apply(card.protocol, load("synthetic", held_out).clips)
    x = model_inputs(labelled, card.model, card.feature_spec())
    probs = open_backend(card, "onnx")(x)
    assert uf1(labelled.labels, probs.argmax(axis=1), len(card.classes)) >= 0.8
