"""Assembly: a :class:`rtmer.config.PipelineConfig` and a source -> the stages of a run, wired once.

The stage configs are their owners' classes (the tracker's, the spotter's) with the config file's
overrides on top; :func:`build_runner` makes everything a run needs and hands it to the
:class:`rtmer.app.runner.Runner`, which owns it from then on and closes it when the run ends.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from rtmer.config import PipelineConfig, scalar_defaults, stage_settings

if TYPE_CHECKING:
    from rtmer.app.classify import Classifier
    from rtmer.app.pipeline import Pipeline
    from rtmer.app.runner import Runner
    from rtmer.capture.sources import Source
    from rtmer.face.landmarks import LandmarkBackend
    from rtmer.face.tracker import TrackerConfig
    from rtmer.spotting.apex import SpotterConfig

#: Spotter fields the builder sets from the source, never from a config file.
_SPOTTER_FIXED = ("fps",)


def tracker_config(config: PipelineConfig) -> TrackerConfig:
    """The tracker's config: its defaults with ``config``'s ``[tracker]`` overrides."""
    from rtmer.face.tracker import TrackerConfig

    return TrackerConfig(**stage_settings(TrackerConfig, "tracker", config.tracker.as_dict()))  # type: ignore[arg-type]


def spotter_config(config: PipelineConfig, fps: float) -> SpotterConfig:
    """The spotter's config for a source of ``fps``: its defaults with ``[spotter]`` overrides."""
    from rtmer.spotting.apex import SpotterConfig

    overrides = stage_settings(SpotterConfig, "spotter", config.spotter.as_dict(), _SPOTTER_FIXED)
    return SpotterConfig(fps=fps, **overrides)  # type: ignore[arg-type]


def check_stages(config: PipelineConfig) -> None:
    """Check ``[tracker]`` and ``[spotter]`` against their stages before any source exists."""
    from rtmer.spotting.apex import SpotterConfig

    tracker_config(config)
    stage_settings(SpotterConfig, "spotter", config.spotter.as_dict(), _SPOTTER_FIXED)


def stage_defaults() -> dict[str, dict[str, Any]]:
    """The tracker's and spotter's scalar defaults (for ``rtmer config show``)."""
    from rtmer.face.tracker import TrackerConfig
    from rtmer.spotting.apex import SpotterConfig

    return {
        "tracker": scalar_defaults(TrackerConfig),
        "spotter": scalar_defaults(SpotterConfig, _SPOTTER_FIXED),
    }


def build_pipeline(
    config: PipelineConfig, fps: float, *, landmarks: LandmarkBackend | None = None
) -> Pipeline:
    """The per-frame :class:`Pipeline` with ``config``'s tracker and spotter settings."""
    from rtmer.app.pipeline import Pipeline
    from rtmer.face.tracker import FaceTracker

    tracker = FaceTracker(landmarks, tracker_config(config))
    return Pipeline(fps, tracker=tracker, spotter=spotter_config(config, fps))


def open_classifier(config: PipelineConfig) -> Classifier | None:
    """The classifier ``[classifier]`` names, warmed up; None for ``model = "none"``."""
    from rtmer.app.classify import Classifier

    c = config.classifier
    if not c.enabled:
        return None
    return Classifier.open(c.model, c.backend, threads=c.threads or None, fp16=c.fp16)


def build_runner(source: Source, config: PipelineConfig) -> Runner:
    """The runner for ``source``: pipeline, classifier (unless ``model = "none"``) and the sinks
    ``[output]`` asks for. The runner owns all of it, ``source`` included; if building fails,
    whatever was opened is closed."""
    from rtmer.app.overlay import Overlay
    from rtmer.app.runner import Runner
    from rtmer.app.sinks import ConsoleSink, JsonlSink, OverlaySink, Sink, display_available

    out = config.output
    opened: list[Any] = [source]
    try:
        window = out.window
        if window and not display_available():
            print(
                "rtmer: no display (DISPLAY is unset): running without the overlay window "
                "(--no-window says so and silences this)",
                file=sys.stderr,
            )
            window = False
        classifier = open_classifier(config)
        opened.append(classifier)
        pipeline = build_pipeline(config, source.info.fps)
        opened.append(pipeline)
        sinks: list[Sink] = [ConsoleSink(quiet=out.quiet)]
        if out.events:
            sinks.append(JsonlSink(out.events))
        if window or out.save:
            overlay = Overlay(source.info.fps, out.plot_seconds)
            sinks.append(OverlaySink(overlay, window=window, save=out.save or None))
    except BaseException:
        for part in reversed(opened):
            if part is not None:
                part.close()
        raise
    return Runner(
        source, pipeline, classifier=classifier, sinks=sinks, ring_seconds=config.capture.ring_seconds
    )


__all__ = [
    "build_pipeline",
    "build_runner",
    "check_stages",
    "open_classifier",
    "spotter_config",
    "stage_defaults",
    "tracker_config",
]
