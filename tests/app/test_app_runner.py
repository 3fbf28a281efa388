"""The threaded runner: capture -> ring -> pipeline -> classifier -> sinks, records and summary."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from rtmer.app import demo
from rtmer.app.build import build_pipeline
from rtmer.app.classify import Classifier
from rtmer.app.overlay import Overlay
from rtmer.app.records import EventRecord, LiveStatus
from rtmer.app.runner import Runner
from rtmer.app.sinks import JsonlSink, Sink
from rtmer.app.sources import RenderedSource
from rtmer.capture.sources import Source
from rtmer.config import PipelineConfig
from rtmer.types import Frame
from rtmer.weights import WeightCard

RECORD_KEYS = {
    "event_id", "stage", "onset", "apex", "offset", "onset_t", "apex_t", "offset_t", "kind", "class",
    "probabilities", "model", "backend", "latency_ms", "dropped", "source",
}  # fmt: skip
FPS = 100.0  # the demo_frames fixture's rate (checked where it is used)
MISSING = range(125, 129)  # inside the first expression (onset 120, offset 145 at 100 fps)


class FakeBackend:
    """Records the inputs it is given; answers 'surprise'."""

    name = "fake-runtime"

    def __init__(self) -> None:
        from rtmer.backends.base import LatencyMeter

        self.inputs: list[np.ndarray] = []
        self.meter = LatencyMeter(budget_ms=0.05)
        self.closed = 0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.inputs.append(x)
        self.meter.add(1.0)  # every call "over budget": the summary must say so
        return np.array([[0.1, 0.2, 0.7]], np.float32)

    def latency(self) -> object:
        return self.meter.stats()

    def close(self) -> None:
        self.closed += 1


class Skipping(Source):
    """Frames from a list, with some indices never delivered (as if the ring had dropped them)."""

    def __init__(self, images: list[np.ndarray], fps: float, skip: range = range(0)) -> None:
        from rtmer.capture.sources import SourceInfo

        self.images, self.skip = images, skip
        h, w = images[0].shape[:2]
        self.info = SourceInfo("synthetic", "test clip", fps, fps, (w, h), len(images))
        self.closed = False

    def __iter__(self) -> Iterator[Frame]:
        for k, image in enumerate(self.images):
            if k not in self.skip:
                yield Frame(k, k / self.info.fps, image)
        self.end_reason = "end of file"

    def close(self) -> None:
        self.closed = True


class Collect(Sink):
    def __init__(
        self, stop_at: int | None = None, interrupt_at: int | None = None, runner: Runner | None = None
    ) -> None:
        self.records: list[EventRecord] = []
        self.frames = 0
        self.stop_at, self.interrupt_at, self.runner = stop_at, interrupt_at, runner
        self.closed = None

    def on_frame(self, frame, result, status: LiveStatus) -> None:
        self.frames += 1
        if self.frames == self.interrupt_at:
            raise KeyboardInterrupt
        if self.frames == self.stop_at:
            if self.runner is not None:
                self.runner.stop()  # as another thread would
            else:
                self.wants_stop = True

    def on_event(self, record: EventRecord) -> None:
        self.records.append(record)

    def close(self, summary) -> None:
        self.closed = summary


@pytest.fixture(scope="module")
def classified_run(demo_frames, tmp_path_factory):
    images, truth, fps = demo_frames
    assert fps == FPS and truth[0].onset < MISSING[0] < MISSING[-1] < truth[0].offset
    card = WeightCard(
        Path("fake.json"), "fake-laenet", "laenet", ("negative", "positive", "surprise"), "megc2019", {}
    )
    backend = FakeBackend()
    events = tmp_path_factory.mktemp("run") / "events.jsonl"
    sink = Collect()
    cfg = PipelineConfig()
    runner = Runner(
        Skipping(images, FPS, MISSING),
        build_pipeline(cfg, FPS),
        classifier=Classifier(card, backend),
        sinks=[sink, JsonlSink(events)],
    )
    summary = runner.run()
    return runner, summary, sink, backend, events, truth, len(images)


def test_the_runner_closes_what_it_owns(classified_run, demo_frames) -> None:
    """After its run: the sinks (with the summary), the pipeline and the classifier's backend,
    each once; a runner that never runs closes them (and its source) on close()."""
    runner, summary, sink, backend, *_ = classified_run
    assert sink.closed is summary and runner.pipeline.closed and backend.closed == 1
    runner.close()
    assert backend.closed == 1
    with pytest.raises(RuntimeError, match="runs once"):
        runner.run()
    images, _, _ = demo_frames
    source, other = Skipping(images[:5], FPS), FakeBackend()
    card = WeightCard(Path("f.json"), "fake", "laenet", ("negative", "positive", "surprise"), "megc2019", {})
    with Runner(source, build_pipeline(PipelineConfig(), FPS), classifier=Classifier(card, other)) as idle:
        pass
    assert idle.pipeline.closed and other.closed == 1 and source.closed


def test_every_expression_is_found_and_classified_at_its_apex(classified_run) -> None:
    runner, summary, sink, backend, _, truth, n = classified_run
    matches, extra = demo.match(truth, sink.records)
    assert all(m.found is not None for m in matches) and extra == []
    # LAENet's input, built from the ring with the tracker's landmarks: one call per event.
    assert len(backend.inputs) == len(truth)
    assert all(
        x.shape == (1, 3, 28, 28) and x.dtype == np.float32 and np.abs(x).max() > 0 for x in backend.inputs
    )
    for r in sink.records:
        assert r.prediction is not None and r.prediction.label == "surprise"
        assert r.model == "fake-laenet" and r.backend == "fake-runtime"
    apex = [r for r in sink.records if r.stage == "apex"]
    assert len(apex) == len(truth) and all(r.latency_ms >= r.prediction.features_ms > 0 for r in apex)
    assert summary.frames == n - len(MISSING) and summary.events == len(truth) and summary.unclassified == 0
    assert summary.latency is not None and summary.latency.n == len(truth)
    # The backend's latency against its budget reaches the summary, breaches counted.
    assert summary.inference is not None and summary.inference.breaches == summary.inference.n == len(truth)
    assert f"{len(truth)} over budget" in "\n".join(summary.lines())
    assert {"face", "motion", "spot", "features", "infer", "frame"} <= set(summary.stages)
    assert sink.closed is summary and summary.end_reason == "end of file" and summary.error is None


def test_frames_dropped_inside_a_clip_are_reported_with_its_event(classified_run) -> None:
    _, summary, sink, _, _, truth, _ = classified_run
    assert summary.dropped == len(MISSING)
    by_event = {}
    for r in sink.records:
        by_event.setdefault(r.event.event_id, []).append(r.dropped)
    first = min(by_event)
    assert by_event[first] == [len(MISSING)] * len(by_event[first])  # both its records
    assert all(d == [0] * len(d) for i, d in by_event.items() if i != first)


def test_event_lines_hold_exactly_the_record_fields(classified_run) -> None:
    _, _, sink, _, events, _, _ = classified_run
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    assert len(lines) == len(sink.records) and all(set(d) == RECORD_KEYS for d in lines)
    d = lines[0]
    assert d["stage"] == "apex" and d["offset"] is None and d["class"] == "surprise"
    assert d["probabilities"] == pytest.approx({"negative": 0.1, "positive": 0.2, "surprise": 0.7})
    assert d["source"] == "test clip" and d["apex_t"] == pytest.approx(d["apex"] / FPS)


def test_an_overloaded_live_run_drops_and_counts_frames(demo_frames) -> None:
    """A camera-like (not lossless) run slower than its source: the ring drops frames and every
    frame is either processed or counted as dropped."""
    images, _, _ = demo_frames
    n = 3 * int(FPS)

    class Slow(Collect):
        def on_frame(self, frame, result, status) -> None:
            super().on_frame(frame, result, status)
            import time

            time.sleep(0.004)

    sink = Slow()
    source = Skipping([images[0]] * n, FPS)  # the producer outruns the consumer at once
    runner = Runner(
        source, build_pipeline(PipelineConfig(), FPS), sinks=[sink], ring_seconds=0.1, lossless=False
    )
    summary = runner.run()
    assert summary.dropped > 0 and summary.frames + summary.dropped == n


@pytest.mark.parametrize("how", ["window", "stop", "interrupt"])
def test_a_stopped_run_flushes_its_events(demo_frames, how: str) -> None:
    """q in the window (a sink's stop), Runner.stop or Ctrl-C inside the expression: the event
    under way is emitted at the end, the summary says why the run ended."""
    images, truth, _ = demo_frames
    at = truth[0].apex + 3  # after the apex of the first expression, before its offset
    sink = Collect(**({"interrupt_at": at} if how == "interrupt" else {"stop_at": at}))
    runner = Runner(Skipping(images, FPS), build_pipeline(PipelineConfig(), FPS), sinks=[sink])
    sink.runner = runner if how == "stop" else None
    summary = runner.run()
    assert summary.end_reason == ("interrupted" if how == "interrupt" else "stopped")
    assert summary.frames == at
    ids = {r.event.event_id for r in sink.records}
    assert len(ids) == 1 and abs(sink.records[0].event.apex - truth[0].apex) <= 3
    assert sink.closed is summary


def test_overlay_draws_without_touching_the_frame(demo_frames) -> None:
    images, _, _ = demo_frames
    frames = [Frame(k, k / FPS, im) for k, im in enumerate(images[:12])]
    overlay = Overlay(FPS)
    with build_pipeline(PipelineConfig(), FPS) as pipe:
        results = [pipe.process(f) for f in frames]
    status = LiveStatus(FPS, 0, 0.1, None)
    last = frames[-1].image.copy()
    for r in results:
        overlay.observe(r, status)
    out = overlay.render(frames[-1].image, results[-1], status)
    assert results[-1].motion is not None and results[-1].crop is not None
    assert out.shape == last.shape and np.array_equal(frames[-1].image, last)
    assert np.count_nonzero(np.any(out != last, axis=2)) > 0.05 * out.shape[0] * out.shape[1]
    blank = np.zeros_like(last)
    no_face = results[0].__class__(0, 0.0, results[0].status, None, None, (), {})
    assert np.any(overlay.render(blank, no_face, status) != 0)  # says "no face" on a black frame


def test_rendered_source_stamps_frames_at_its_rate() -> None:
    src = RenderedSource(lambda k: np.full((4, 6, 3), k, np.uint8), 5, 50.0, "ramp")
    got = list(src)
    assert [f.index for f in got] == list(range(5)) and [f.t for f in got] == [k / 50 for k in range(5)]
    assert src.info.size == (6, 4) and src.end_reason == "end of file"


def test_classifier_runs_exported_weights_on_onnx_runtime(demo_frames, tmp_path: Path) -> None:
    """The real chain with untrained LAENet weights: card -> rtmer.backends (ONNX Runtime) ->
    probabilities over the card's classes for an event built from a frame source."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    from rtmer.export.weights import save_weights
    from rtmer.face.landmarks import open_landmarks
    from rtmer.features import DictFrames, detect_landmarks
    from rtmer.models import registry
    from rtmer.types import SpotEvent

    images, truth, _ = demo_frames
    torch.manual_seed(0)
    spec = registry.get("laenet")
    card = WeightCard(tmp_path / "l.json", "laenet-untrained", "laenet", spec.classes, spec.protocol, {})
    card = save_weights(spec.build().eval(), card)
    t = truth[0]
    event = SpotEvent(0, t.onset, t.apex, None, 0.0, 0.0, None, "micro", 1.0, (), t.apex + 2)
    lm = open_landmarks()
    try:
        landmarks = detect_landmarks(images[t.onset], lm)
    finally:
        lm.close()
    clf = Classifier.open(card.path, "onnx")
    try:
        assert clf.backend.name == "onnx" and not clf.needs_offset(event)
        p = clf(DictFrames(dict(enumerate(images))), event, landmarks)
    finally:
        clf.close()
    probs = dict(p.probabilities)
    assert tuple(probs) == spec.classes and sum(probs.values()) == pytest.approx(1.0, abs=1e-5)
    assert p.label == max(probs, key=probs.get) and p.model == "laenet-untrained" and p.backend == "onnx"


def test_camera_loss_ends_the_run_cleanly(demo_frames) -> None:
    """A camera that stops delivering mid-expression: the run ends with "camera lost", not lossless
    (a camera is never throttled), and the expression under way is still emitted."""
    images, truth, fps = demo_frames

    class LostCamera(Skipping):
        def __iter__(self) -> Iterator[Frame]:
            for k in range(truth[0].apex + 3):
                yield Frame(k, k / fps, self.images[k])
            self.end_reason = "camera lost"

    source = LostCamera(images, fps)
    source.info = replace(source.info, kind="camera")
    sink = Collect()
    runner = Runner(source, build_pipeline(PipelineConfig(), fps), sinks=[sink])
    assert not runner.lossless
    summary = runner.run()
    assert summary.end_reason == "camera lost" and summary.error is None
    assert summary.events == 1 and abs(sink.records[0].event.apex - truth[0].apex) <= 3
