"""export_onnx refuses a graph that does not reproduce torch; save_weights writes a complete card."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rtmer.backends import ExportError
from rtmer.models import registry
from rtmer.weights import WeightCard, read_card

torch = pytest.importorskip("torch", reason="export needs torch (pip install -e .[train])")
from rtmer.export.onnx import export_onnx  # noqa: E402
from rtmer.export.weights import save_weights  # noqa: E402

SPEC = registry.get("laenet")


class CallCounting(torch.nn.Module):
    """Scales its logits by how often it was called: tracing freezes the count into the graph, so
    the exported graph no longer computes what the model does."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = SPEC.build()
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.inner(x) * (10.0 * self.calls)


def card_at(path, model: str = "laenet") -> WeightCard:
    spec = registry.get(model)
    return WeightCard(
        path=path, name=path.stem, model=model, classes=spec.classes, protocol=spec.protocol, files={}
    )


def test_a_graph_that_differs_from_torch_is_refused_and_not_left_behind(tmp_path) -> None:
    torch.manual_seed(0)
    model = CallCounting().eval()
    with pytest.raises(ExportError, match=r"laenet: ONNX Runtime differs from torch by .* \(> 0.0001"):
        export_onnx(model, SPEC, tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []


def test_save_weights_writes_weights_onnx_and_card(tmp_path) -> None:
    torch.manual_seed(0)
    model = SPEC.build()
    card = save_weights(model, card_at(tmp_path / "laenet-demo.json"))
    assert card.files == {"torch": "laenet-demo.safetensors", "onnx": "laenet-demo.onnx"}
    assert card.params == 843
    assert read_card(card.path) == card
    from safetensors.torch import load_file

    state = load_file(str(card.file("torch")))
    assert set(state) == set(model.state_dict())
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    assert json.loads(card.path.read_text())["files"]["onnx"] == "laenet-demo.onnx"


def test_save_weights_needs_the_svm_exactly_for_the_aggregation_network(tmp_path) -> None:
    with pytest.raises(ExportError, match="aggregation needs its fitted ClipSVM"):
        save_weights(registry.get("aggregation").build(), card_at(tmp_path / "a.json", "aggregation"))
    from rtmer.models.aggregation import ClipSVM

    svm = ClipSVM().fit(np.random.default_rng(0).normal(size=(6, 4, 64)), [0, 1, 2] * 2)
    with pytest.raises(ExportError, match="laenet takes no SVM"):
        save_weights(SPEC.build(), card_at(tmp_path / "l.json"), svm=svm)
    assert not any(tmp_path.iterdir())
