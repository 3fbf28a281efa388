"""rtmer export: ONNX from a card's torch weights; TensorRT without TensorRT is one clear line."""

from __future__ import annotations

import importlib.util

import pytest

from rtmer.cli import main
from rtmer.models import registry
from rtmer.weights import WeightCard, read_card

torch = pytest.importorskip("torch", reason="export needs torch (pip install -e .[train])")


@pytest.fixture()
def card(tmp_path) -> WeightCard:
    """STSTNet weights with only their torch file, as a training run might leave them."""
    from safetensors.torch import save_file

    spec = registry.get("ststnet")
    torch.manual_seed(0)
    save_file(spec.build().state_dict(), tmp_path / "st.safetensors")
    c = WeightCard(
        tmp_path / "st.json", "st", "ststnet", spec.classes, spec.protocol, {"torch": "st.safetensors"}
    )
    from rtmer.weights import write_card

    write_card(c)
    return c


def test_export_onnx_adds_the_file_to_the_card(card: WeightCard, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--model", "ststnet", "--weights", str(card.path), "--format", "onnx"]) == 0
    assert "wrote" in capsys.readouterr().out
    written = read_card(card.path)
    assert written.files == {"torch": "st.safetensors", "onnx": "st.onnx"}
    assert written.file("onnx").stat().st_size > 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model", "laenet", "--format", "onnx"], "are for model 'ststnet', not 'laenet'"),
        (["--format", "onnx", "--fp16"], "--fp16 applies to --format tensorrt only"),
    ],
)
def test_export_usage_errors(
    card: WeightCard, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["export", "--weights", str(card.path), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None, reason="TensorRT is installed here")
def test_export_tensorrt_without_tensorrt_names_the_extra(
    card: WeightCard, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "--weights", str(card.path), "--format", "onnx"]) == 0
    capsys.readouterr()
    assert main(["export", "--weights", str(card.path), "--format", "tensorrt", "--fp16"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "pip install 'rtmer[gpu]'" in err
