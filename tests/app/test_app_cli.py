"""`rtmer replay`, `rtmer live`, `rtmer demo` end to end, headless, as CI runs them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from rtmer import cli
from rtmer.app import demo
from rtmer.errors import InputError
from rtmer.face.landmarks import default_backend_name


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _replay_spotting_only(video: Path, events: Path, capsys) -> str:
    """``rtmer replay VIDEO --model none --no-window --events EVENTS``; its stdout."""
    assert cli.main(["replay", str(video), "--model", "none", "--no-window", "--events", str(events)]) == 0
    return capsys.readouterr().out


def test_replay_real_smile_is_one_macro_event(feat_data: Path, tmp_path: Path, capsys) -> None:
    """One macro event, its apex inside the smile (frames 17-70; where inside: see
    tests/app/test_pipeline_spotting.py::test_real_smile_is_one_macro_event)."""
    events = tmp_path / "e.jsonl"
    out = _replay_spotting_only(feat_data / "single_face.mp4", events, capsys)
    records = _records(events)
    assert len({r["event_id"] for r in records}) == 1
    apex = records[0]
    assert apex["stage"] == "apex" and apex["kind"] == "macro" and 17 < apex["apex"] < 70
    assert apex["model"] is None and apex["class"] is None and apex["dropped"] == 0
    assert "summary: 72 frames" in out and "0 dropped" in out and "events: 1 (0 micro, 1 macro)" in out
    assert "p99 ms" in out and "event latency" in out


def test_replay_without_a_face_says_so(feat_data: Path, tmp_path: Path, capsys) -> None:
    events = tmp_path / "e.jsonl"
    out = _replay_spotting_only(feat_data / "no_face.mp4", events, capsys)
    assert events.read_text() == ""
    assert "NO FACE found in any of the" in out and "events: 0" in out


def test_replay_headless_fallback_and_annotated_video(
    feat_data: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    """Without a display and without --no-window: one line says so and the run goes on headless;
    --save writes every frame, annotated."""
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    saved = tmp_path / "annotated.mp4"
    src = feat_data / "single_face.mp4"
    assert cli.main(["replay", str(src), "--model", "none", "--quiet", "--save", str(saved)]) == 0
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if line.startswith("rtmer:")] == [
        "rtmer: no display (DISPLAY is unset): running without the overlay window "
        "(--no-window says so and silences this)"
    ]
    a, b = cv2.VideoCapture(str(src)), cv2.VideoCapture(str(saved))
    try:
        assert int(b.get(cv2.CAP_PROP_FRAME_COUNT)) == 72
        for _ in range(50):  # into the smile: the overlay has a face box, a plot, thumbnails
            ok_a, fa = a.read()
            ok_b, fb = b.read()
        assert ok_a and ok_b and fa.shape == fb.shape and cv2.absdiff(fa, fb).mean() > 3
    finally:
        a.release()
        b.release()


@pytest.fixture(scope="module")
def cut_video(demo_frames, tmp_path_factory) -> tuple[Path, list[demo.Truth], float]:
    """The demo clip as an MJPG AVI cut between its first and second expressions: the first
    decodes whole, then the file ends short of the frame count its header announces."""
    images, truth, fps = demo_frames
    full = tmp_path_factory.mktemp("cut") / "full.avi"
    h, w = images[0].shape[:2]
    writer = cv2.VideoWriter(str(full), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    for image in images:
        writer.write(image)
    writer.release()
    cut = full.with_name("cut.avi")
    data = full.read_bytes()
    between = (truth[0].offset + truth[1].onset) // 2
    cut.write_bytes(data[: int(len(data) * between / len(images))])
    return cut, truth, fps


def test_replay_of_a_truncated_video_keeps_the_events_before_the_cut(
    cut_video, tmp_path: Path, capsys
) -> None:
    path, truth, fps = cut_video
    events = tmp_path / "e.jsonl"
    args = ["replay", str(path), "--fps", str(fps), "--model", "none", "--no-window", "--events", str(events)]
    assert cli.main(args) == 2
    captured = capsys.readouterr()
    err = [line for line in captured.err.splitlines() if line.startswith("rtmer:")]
    assert len(err) == 1 and err[0].startswith("rtmer: error: ") and "truncated or damaged" in err[0]
    assert "Traceback" not in captured.err
    records = _records(events)
    assert {r["event_id"] for r in records} == {0} and truth[0].onset <= records[0]["apex"] <= truth[0].offset
    assert "summary:" in captured.out and "(error)" in captured.out


def test_live_without_that_camera_is_one_error_line(capsys) -> None:
    assert cli.main(["live", "--camera", "57", "--no-window", "--model", "none"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rtmer: error: ") and "camera 57" in err and "\n" not in err


def test_replay_missing_file_and_image_folder_without_fps(tmp_path: Path, capsys) -> None:
    assert cli.main(["replay", str(tmp_path / "nope.mp4"), "--no-window"]) == 2
    assert "does not exist" in capsys.readouterr().err
    cv2.imwrite(str(tmp_path / "img1.png"), cv2.UMat(8, 8, cv2.CV_8UC3).get())
    assert cli.main(["replay", str(tmp_path), "--no-window"]) == 2
    assert "image folder: give its frame rate (--fps)" in capsys.readouterr().err


def test_demo_spots_every_expression(capsys) -> None:
    """The demo on a fresh install (here without classifying, so it runs before weights ship)."""
    assert cli.main(["demo", "--size", "320x240", "--fps", "100", "--model", "none", "--no-window"]) == 0
    out = capsys.readouterr().out
    assert "demo: 3/3 expressions found, not classified, 0 false alarm(s)" in out


def test_demo_classifies_every_expression_with_the_shipped_weights(capsys) -> None:
    from rtmer.weights import shipped

    if not any(c.model == "laenet" for c in shipped()):
        pytest.skip("the LAENet demo weights are not shipped in this checkout yet")
    pytest.importorskip("rtmer.backends")
    pytest.importorskip("onnxruntime")
    # At the rate the demo weights were trained at (200 fps): at 100 fps the onset -> apex flow of
    # the first expression (happiness) looks like surprise to them.
    assert cli.main(["demo", "--size", "320x240", "--fps", "200", "--no-window", "--backend", "onnx"]) == 0
    out = capsys.readouterr().out
    assert "demo: 3/3 expressions found, 3/3 with the right class, 0 false alarm(s)" in out


def test_replay_realtime_paces_at_the_recorded_rate(feat_data: Path, capsys) -> None:
    """single_face.mp4 is 72 frames at 30 fps: 2.4 s, paced; as fast as possible it is far quicker."""
    import re

    args = ["replay", str(feat_data / "single_face.mp4"), "--model", "none", "--no-window", "--quiet"]
    assert cli.main([*args, "--realtime"]) == 0
    seconds = float(re.search(r"in ([0-9.]+) s:", capsys.readouterr().out).group(1))
    assert 2.3 <= seconds < 4.0


def test_ctrl_c_stops_cleanly_with_a_summary(feat_data: Path, tmp_path: Path) -> None:
    """SIGINT to a running `rtmer replay --realtime`: exit 0, no traceback, the summary says so."""
    import signal
    import subprocess
    import sys
    import time

    events = tmp_path / "e.jsonl"
    cmd = [sys.executable, "-u", "-m", "rtmer", "replay", str(feat_data / "single_face.mp4"), "--realtime"]
    cmd += ["--fps", "10", "--model", "none", "--no-window", "--events", str(events)]  # 7.2 s paced
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # "source: ..." once the run has started
        assert first.startswith("source:"), first
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "(interrupted)" in out and "summary:" in out
    assert events.exists()


def test_replay_of_an_image_folder(demo_frames, tmp_path: Path, capsys) -> None:
    images, _, fps = demo_frames
    for k, image in enumerate(images[:40]):
        cv2.imwrite(str(tmp_path / f"img{k + 1}.png"), image)
    assert (
        cli.main(["replay", str(tmp_path), "--fps", str(fps), "--model", "none", "--no-window", "--quiet"])
        == 0
    )
    out = capsys.readouterr().out
    assert f"summary: 40 frames from {tmp_path} (end of file)" in out and "found in 40 of 40 frames" in out


def test_replay_classifies_a_real_face_with_the_shipped_weights(feat_data: Path, tmp_path: Path) -> None:
    """The smile's record carries the shipped LAENet's class and probabilities (whatever they are:
    the demo weights never saw a real face); its onset, 26 frames before the apex at 30 fps, is
    still in the ring."""
    from rtmer.weights import find

    try:
        card = find("laenet")
    except InputError:
        pytest.skip("the LAENet demo weights are not shipped in this checkout yet")
    pytest.importorskip("onnxruntime")
    events = tmp_path / "e.jsonl"
    args = ["replay", str(feat_data / "single_face.mp4"), "--no-window", "--quiet", "--backend", "onnx"]
    assert cli.main([*args, "--events", str(events)]) == 0
    (record,) = _records(events)
    assert record["model"] == card.name and record["backend"] == "onnx"
    assert set(record["probabilities"]) == set(card.classes) and record["class"] in card.classes
    assert sum(record["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    assert record["latency_ms"] > 0


#: What third-party native start-up output looks like (TensorFlow Lite, absl/glog, OpenCV's loader).
_FOREIGN = re.compile(r"^(INFO: |WARNING: |[IWEF]\d{4} |\[ WARN:|\[ERROR:)|XNNPACK|absl::|TensorFlow")


def _replay_lines(video: Path, *flags: str) -> list[str]:
    """Every line ``rtmer replay`` prints (stdout and stderr, at the file-descriptor level)."""
    cmd = [sys.executable, "-m", "rtmer", "replay", str(video), "--model", "none", "--no-window", *flags]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=True)
    return (proc.stdout + proc.stderr).splitlines()


def test_replay_prints_rtmer_lines_only(feat_data: Path) -> None:
    """Quiet by default: no third-party log line; with --verbose, MediaPipe's start-up lines come
    through (the pattern is checked against them where that backend runs)."""
    lines = _replay_lines(feat_data / "single_face.mp4")
    assert [line for line in lines if _FOREIGN.search(line)] == []
    assert any(line.startswith("summary: 72 frames") for line in lines)
    if default_backend_name() == "mediapipe":
        verbose = _replay_lines(feat_data / "single_face.mp4", "--verbose")
        assert any(_FOREIGN.search(line) for line in verbose)


def test_spot_takes_a_folder_of_frames(feat_data: Path, tmp_path: Path, capsys) -> None:
    """``rtmer spot FOLDER --fps N`` as the README says; a folder without --fps is one error line."""
    folder = tmp_path / "frames"
    folder.mkdir()
    cap = cv2.VideoCapture(str(feat_data / "single_face.mp4"))
    n = 0
    while True:
        ok, image = cap.read()
        if not ok:
            break
        cv2.imwrite(str(folder / f"frame{n}.png"), image)
        n += 1
    cap.release()
    events, from_video = tmp_path / "e.jsonl", tmp_path / "video.jsonl"
    assert cli.main(["spot", str(folder), "--fps", "30", "--events", str(events)]) == 0
    out = capsys.readouterr().out
    assert f"{n} frames at 30 fps" in out
    records = _records(events)
    assert len({r["event_id"] for r in records}) == 1 and records[0]["kind"] == "macro"
    # frame10 sorts after frame9 (natural order): the folder spots what the video itself does.
    assert cli.main(["spot", str(feat_data / "single_face.mp4"), "--events", str(from_video)]) == 0
    capsys.readouterr()
    keys = ("event_id", "stage", "onset", "apex", "offset", "kind")
    assert [[r[k] for k in keys] for r in records] == [[r[k] for k in keys] for r in _records(from_video)]
    assert cli.main(["spot", str(folder)]) == 2
    assert "image folder: give its frame rate (--fps)" in capsys.readouterr().err
