"""rtmer train / eval / models end to end on a small synthetic set: run folder, report, predictions,
weights with their card (ONNX included), re-scoring, scoring weights on data, clear errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from rtmer.cli import main
from rtmer.synth.generator import generate_clips

torch = pytest.importorskip("torch", reason="torch is not installed (pip install -e .[train])")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("train_synthetic")
    generate_clips(out, subjects=3, clips_per_subject=5, size=(256, 256), progress=False, contact_sheets=0)
    return out


@pytest.fixture(scope="module")
def run(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("runs")
    args = ["train", "--model", "ststnet", "--data", f"synthetic={data}", "--out", str(base / "run"),
            "--epochs", "3", "--final", "--quiet", "--cache", str(base / "cache")]  # fmt: skip
    assert main(args) == 0
    return base / "run"


def test_train_writes_the_run_folder(run: Path, data: Path) -> None:
    report = json.loads((run / "report.json").read_text())
    assert report["manifest"]["data"]["subjects"] == 3
    assert report["manifest"]["config"]["run"]["folds"] == "loso"
    assert len(report["manifest"]["data"]["fingerprint"]) == 64
    composite = report["scores"]["composite"]
    with (run / "predictions.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == composite["clips"] == report["manifest"]["data"]["clips"]
    assert {r["subject"] for r in rows} == {"synthetic/sub01", "synthetic/sub02", "synthetic/sub03"}
    assert (run / "confusion_composite.png").stat().st_size > 1000
    assert sorted(p.suffix for p in (run / "folds").iterdir()) == [".json"] * 3 + [".safetensors"] * 3
    assert "## Manifest" in (run / "report.md").read_text()


def test_final_weights_have_a_synthetic_card(run: Path) -> None:
    from rtmer.weights import SYNTHETIC_STATEMENT, read_card

    card = read_card(run / "ststnet-synthetic.json")
    assert card.synthetic and card.statement == SYNTHETIC_STATEMENT
    assert card.model == "ststnet" and card.classes == ("negative", "positive", "surprise")
    assert card.file("onnx").stat().st_size > 0 and card.file("torch").stat().st_size > 0
    assert card.params == 1683
    assert card.training["generator"][0]["seed"] == 0 and card.training["generator"][0]["subjects"] == 3
    report = json.loads((run / "report.json").read_text())
    assert card.metrics["uf1"] == pytest.approx(report["scores"]["composite"]["uf1"], abs=1e-4)


def test_eval_rescores_a_run(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = json.loads((run / "report.json").read_text())["scores"]["composite"]
    capsys.readouterr()
    assert main(["eval", str(run)]) == 0
    assert f"{before['uf1']:.4f}" in capsys.readouterr().out
    after = json.loads((run / "report.json").read_text())["scores"]["composite"]
    assert after == before


def test_eval_scores_weights_on_data(
    run: Path, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    card = run / "ststnet-synthetic.json"
    args = ["eval", "--weights", str(card), "--data", f"synthetic={data}", "--backend", "onnx",
            "--out", str(tmp_path / "ev"), "--quiet", "--cache", str(run.parent / "cache")]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    report = json.loads((tmp_path / "ev" / "report.json").read_text())
    assert report["scores"]["composite"]["clips"] > 0 and "| composite |" in out
    assert any("synthetic data only" in n for n in report["notes"])


def test_the_job_api_behind_the_commands(run: Path, data: Path) -> None:
    """rtmer train and rtmer eval map their flags onto rtmer.train.job and rtmer.train.evaluate."""
    from rtmer.errors import InputError
    from rtmer.train import DEFAULT_CACHE
    from rtmer.train.evaluate import rescore_run
    from rtmer.train.job import TrainJob, run_job

    stored = json.loads((run / "report.json").read_text())["scores"]["composite"]
    again = rescore_run(run)
    assert again.report == run / "report.md" and again.scores["composite"].uf1 == pytest.approx(stored["uf1"])
    job = TrainJob(model="ststnet", data=[("synthetic", str(data))], out=run)
    assert job.cache == DEFAULT_CACHE and job.folds == "loso" and not job.final
    with pytest.raises(InputError, match="pass --resume"):
        run_job(job)


def test_models_lists_models_and_prints_a_card(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name in ("ststnet", "laenet", "mjfn", "cropnet", "aggregation", "cnn_lstm_se"):
        assert f"  {name} " in out
    assert main(["models", str(run / "ststnet-synthetic.json")]) == 0
    assert json.loads(capsys.readouterr().out)["synthetic"] is True


def test_train_errors_are_one_line(
    run: Path, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["train", "--model", "ststnet", "--data", f"synthetic={data}", "--out", str(run)]) == 2
    assert "pass --resume" in capsys.readouterr().err
    assert (
        main(["train", "--model", "nope", "--data", f"synthetic={data}", "--out", str(tmp_path / "x")]) == 2
    )
    assert "unknown model 'nope'" in capsys.readouterr().err
    assert (
        main(
            [
                "train",
                "--model",
                "ststnet",
                "--data",
                f"casme2={tmp_path / 'none'}",
                "--out",
                str(tmp_path / "y"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("rtmer: error:") and err.count("\n") == 1
    assert main(["eval", str(tmp_path)]) == 2
    assert "no predictions.csv" in capsys.readouterr().err


def _ckplus_from_synthetic(data: Path, root: Path) -> Path:
    """CK+'s layout (cohn-kanade-images/S.../..., Emotion/ files) holding synthetic clips' frames,
    gray PNG as CK+ ships them: one sequence per clip, onset..apex, labelled happy or surprise."""
    import cv2

    from rtmer.data import load

    codes = {"happiness": 5, "surprise": 7}
    clips = [c for c in load("synthetic", data).clips if c.emotion in codes]
    for i, clip in enumerate(clips):
        stem, rel = f"S{100 + i:03d}_001", Path(f"S{100 + i:03d}") / "001"
        folder = root / "cohn-kanade-images" / rel
        folder.mkdir(parents=True)
        frames = clip.frames[clip.onset : clip.apex + 1]
        for n, path in enumerate(frames, 1):
            gray = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2GRAY)
            cv2.imwrite(str(folder / f"{stem}_{n:08d}.png"), gray)
        (root / "Emotion" / rel).mkdir(parents=True)
        (root / "Emotion" / rel / f"{stem}_{len(frames):08d}_emotion.txt").write_text(
            f"   {float(codes[clip.emotion]):.7e}\n"
        )
    return root


def test_ckplus_pretraining_then_fine_tuning(run: Path, data: Path, tmp_path: Path) -> None:
    """LAENet's recipe: pre-train on CK+ (7 classes), then every fold starts from those weights
    with a fresh 3-class classifier."""
    from safetensors.torch import load_file

    from rtmer.train.loso import RunConfig, build_model
    from rtmer.train.recipes import recipe

    ck = _ckplus_from_synthetic(data, tmp_path / "ckplus")
    out = tmp_path / "run"
    args = ["train", "--model", "laenet", "--data", f"synthetic={data}", "--pretrain", f"ckplus={ck}",
            "--pretrain-epochs", "2", "--epochs", "1", "--out", str(out), "--quiet",
            "--cache", str(run.parent / "cache")]  # fmt: skip
    assert main(args) == 0
    state = load_file(str(out / "pretrain.safetensors"))
    assert json.loads((out / "config.json").read_text())["pretrain"] == f"ckplus={ck}"
    head = [k for k, v in state.items() if v.ndim == 2]
    assert head and all(state[k].shape[0] == 7 for k in head)  # the CK+ classifier
    model = build_model(RunConfig(model="laenet", recipe=recipe("laenet"), num_classes=3), state)
    own = model.state_dict()
    shared = [k for k in state if own[k].shape == state[k].shape]
    assert shared and all(torch.equal(own[k], state[k]) for k in shared)
    assert all(own[k].shape[0] == 3 for k in head)
