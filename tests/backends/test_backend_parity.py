"""Every model exported to ONNX runs on ONNX Runtime with torch's probabilities (FP32, <= 1e-4)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from backend_helpers import NAMES, Exported, items

from rtmer.backends import open_backend
from rtmer.export.onnx import FEATURES, INPUT_NAME, OPSET, PROBABILITIES
from rtmer.heads.svm import video_features
from rtmer.models import registry

pytest.importorskip("torch", reason="the torch reference needs torch (pip install -e .[train])")


@pytest.mark.parametrize("name", NAMES)
def test_onnx_runtime_matches_torch(exported: dict[str, Exported], name: str) -> None:
    card, spec = exported[name].card, registry.get(name)
    x = items(spec, 2, seed=1)
    with open_backend(card, "torch", threads=1) as ref, open_backend(card, "onnx", threads=1) as ort:
        expected = ref(x)
        for got in (ort(x[:1]), ort(x)):
            assert got.shape == (len(got), len(card.classes)) and got.dtype == np.float32
            np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)
            assert np.abs(got - expected[: len(got)]).max() <= 1e-4
        stats = ort.latency()
    assert stats.n == 2 and stats.budget_ms == spec.budget_cpu_ms
    assert 0 < stats.p50_ms <= stats.p99_ms and stats.mean_ms > 0


@pytest.mark.parametrize("name", NAMES)
def test_onnx_graph_has_fixed_names_opset_and_dynamic_batch(exported: dict[str, Exported], name: str) -> None:
    graph_model = onnx.load(str(exported[name].card.file("onnx")), load_external_data=False)
    assert {o.domain: o.version for o in graph_model.opset_import}[""] == OPSET
    (inp,), (out,) = graph_model.graph.input, graph_model.graph.output
    assert inp.name == INPUT_NAME
    assert out.name == (FEATURES if name == "aggregation" else PROBABILITIES)
    dims = inp.type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch"
    assert tuple(d.dim_value for d in dims[1:]) == registry.get(name).input.shape


def test_aggregation_clip_probabilities_are_the_svm_on_frame_features(exported: dict[str, Exported]) -> None:
    """The backend's clip head = scikit-learn's SVM on the aggregated FC-64 features of the frames."""
    import torch

    e = exported["aggregation"]
    spec = registry.get("aggregation")
    x = items(spec, 2, seed=3)
    with torch.inference_mode():
        feats = e.model.frame_features(torch.from_numpy(x).flatten(0, 1)).reshape(2, x.shape[1], -1).numpy()
    decision = e.svm.decision_function(feats)
    expected = np.exp(decision - decision.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    with open_backend(e.card, "onnx", threads=1) as ort:
        got = ort(x)
    np.testing.assert_allclose(got, expected, atol=1e-4)
    np.testing.assert_array_equal(got.argmax(axis=1), e.svm.predict(feats))
    assert video_features(feats).shape == (2, 192)


def test_torch_backend_rebuilds_with_the_cards_model_options(tmp_path) -> None:
    """Weights trained with non-default constructor options reload into the same model."""
    import torch

    from rtmer.export.weights import save_weights
    from rtmer.weights import WeightCard

    spec = registry.get("mjfn")
    torch.manual_seed(1)
    model = spec.build(fusion="average").eval()
    card = WeightCard(tmp_path / "m.json", "m", "mjfn", spec.classes, spec.protocol, files={})
    card = save_weights(model, card, options={"fusion": "average"})
    assert card.training["model_options"] == {"fusion": "average"}
    x = items(spec, 1, seed=2)
    with torch.inference_mode():
        expected = torch.softmax(model(torch.from_numpy(x)), dim=1).numpy()
    with open_backend(card.path, "torch") as ref, open_backend(card.path, "onnx") as ort:
        np.testing.assert_allclose(ref(x), expected, atol=1e-6)
        np.testing.assert_allclose(ort(x), expected, atol=1e-4)
