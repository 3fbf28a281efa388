"""Every registered model runs its forward pass on the input the feature path builds for it, and
model_input turns each feature kind into exactly the model's InputSpec."""

from __future__ import annotations

import numpy as np
import pytest

from rtmer import features
from rtmer.data import load
from rtmer.errors import InputError
from rtmer.features import ClipFrames, FeatureSpec
from rtmer.models import inputs, registry
from rtmer.models.inputs import build_input, model_input
from rtmer.motion import Tvl1Settings
from rtmer.synth.generator import generate_clips
from rtmer.types import Clip

FAST = FeatureSpec(tvl1=Tvl1Settings(scales=3, warps=2, outer_iterations=3))


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Clip:
    out = tmp_path_factory.mktemp("synthetic_inputs")
    generate_clips(out, subjects=1, clips_per_subject=1, size=(256, 256), progress=False)
    return load("synthetic", out).clips[0]


@pytest.fixture(scope="module")
def onset_landmarks(clip: Clip) -> np.ndarray:
    return features.detect_landmarks(ClipFrames(clip).frame(clip.onset))


@pytest.mark.parametrize("name", list(registry.MODELS))
def test_forward_on_built_input(name: str, clip: Clip, onset_landmarks: np.ndarray) -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install -e .[train])")
    spec = registry.get(name)
    x = build_input(spec, ClipFrames(clip), clip, landmarks68=onset_landmarks, spec=FAST)
    item = (
        spec.input.shape
        if spec.input.clip_frames is None or spec.input.kind == "regions"
        else (spec.input.clip_frames, *spec.input.shape)
    )
    assert x.shape == item and x.dtype == np.float32 and np.isfinite(x).all()
    if spec.input.value_range is not None:
        lo, hi = spec.input.value_range
        assert lo <= x.min() and x.max() <= hi and x.max() > lo
    torch.manual_seed(0)
    model = spec.build().eval()
    # The aggregation network classifies frames: a clip's T frames are its batch.
    batch = x if spec.input.kind == "frames" else x[None]
    with torch.no_grad():
        logits = model(torch.from_numpy(batch))
    rows = x.shape[0] if spec.input.kind == "frames" else 1
    assert logits.shape == (rows, len(spec.classes)) and torch.isfinite(logits).all()


def test_model_input_scales_and_transposes() -> None:
    rng = np.random.default_rng(0)
    color = rng.integers(0, 256, (224, 224, 3), dtype=np.uint8)
    x = model_input(color, "mjfn")
    assert x.shape == (3, 224, 224)
    np.testing.assert_allclose(x[:, 5, 7], color[5, 7] / 255.0, rtol=1e-6)
    flow = rng.normal(0, 1, (28, 28, 3)).astype(np.float32)
    np.testing.assert_array_equal(model_input(flow, "laenet"), flow.transpose(2, 0, 1))
    seq = rng.integers(0, 256, (64, 140, 120), dtype=np.uint8)
    y = model_input(seq, "aggregation")
    assert y.shape == (64, 1, 140, 120)
    np.testing.assert_allclose(y[3, 0], seq[3] / 255.0, rtol=1e-6)


def test_model_input_rejects_wrong_shapes() -> None:
    with pytest.raises(InputError, match=r"mjfn needs a flow_color input of shape \(3, 224, 224\)"):
        model_input(np.zeros((128, 128, 3), np.uint8), "mjfn")
    with pytest.raises(InputError, match="feature_options"):
        model_input(np.zeros((16, 140, 120), np.uint8), "aggregation")
    with pytest.raises(InputError, match="regions feature"):
        model_input(np.zeros((32, 10, 10), np.float32), "cnn_lstm_se")
    assert inputs.feature_options("cnn_lstm_se") == {"length": 32}
    assert inputs.feature_options("laenet") == {}
