"""The application's settings: :class:`PipelineConfig`, read from a TOML file, overridden by flags.

One section per pipeline stage::

    [capture]     fps, size, fourcc, ring_seconds, realtime
    [tracker]     FaceTracker settings (rtmer.face.tracker.TrackerConfig scalars: landmark_every, ...)
    [spotter]     ApexSpotter settings (rtmer.spotting.apex.SpotterConfig fields, fps excluded)
    [classifier]  model ("laenet", a card .json, or "none"), backend, threads, fp16
    [output]      events, save, window, quiet, plot_seconds

``[capture]``, ``[classifier]`` and ``[output]`` are typed here; ``[tracker]`` and ``[spotter]``
hold overrides of their stage's own config classes, checked against those classes where the
pipeline is built (:func:`stage_settings`, called by :mod:`rtmer.app.build`), so the stage owners
keep their defaults in one place. TOML has no null: ``0`` and ``""`` mean "not set" where a field says so.

This module imports nothing of rtmer but its errors.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from rtmer.errors import InputError, MissingDependencyError

Scalar = bool | int | float | str


@dataclass(frozen=True)
class CaptureConfig:
    """fps: the source's rate (0: what the camera or container says; needed for image folders);
    size: a camera's requested "WIDTHxHEIGHT" ("" its default); fourcc: a camera pixel format
    ("" its default); ring_seconds: how much video the frame ring holds (at least a second; the
    classifier reads an event's frames from it, so it bounds the longest rise classified; 2 s of
    640x480 colour at 200 fps is 370 MB);
    realtime: replay files at their recorded rate (else as fast as they are processed)."""

    fps: float = 0.0
    size: str = ""
    fourcc: str = ""
    ring_seconds: float = 2.0
    realtime: bool = False

    def __post_init__(self) -> None:
        if self.fps < 0:
            raise InputError(f"[capture] fps must be >= 0 (0: the source's own rate), got {self.fps}")
        if self.ring_seconds <= 0:
            raise InputError(f"[capture] ring_seconds must be positive, got {self.ring_seconds}")
        if self.size:
            parse_size(self.size)

    @property
    def size_wh(self) -> tuple[int, int] | None:
        return parse_size(self.size) if self.size else None


@dataclass(frozen=True)
class ClassifierConfig:
    """model: shipped weights by name, a model card .json, or "none" (spotting only); backend:
    "auto", "onnx", "torch" or "tensorrt"; threads: inference threads (0: the runtime's choice).

    One thread by default: bench/inference.py measured MJFN at 8.9 ms on one ONNX Runtime thread
    and 17.4 ms on its default one per core, whose spinning threads compete with the capture and
    motion work on the same cores; the flow models gain nothing from more."""

    model: str = "laenet"
    backend: str = "auto"
    threads: int = 1
    fp16: bool = False

    def __post_init__(self) -> None:
        if self.threads < 0:
            raise InputError(
                f"[classifier] threads must be >= 0 (0: the runtime's choice), got {self.threads}"
            )
        if not self.model:
            raise InputError('[classifier] model is empty; name weights (laenet) or "none"')

    @property
    def enabled(self) -> bool:
        return self.model.lower() != "none"


@dataclass(frozen=True)
class OutputConfig:
    """events: JSON-lines file of event records ("" none); save: annotated video ("" none);
    window: show the overlay window; quiet: print only the summary; plot_seconds: the
    overlay's signal plot length."""

    events: str = ""
    save: str = ""
    window: bool = True
    quiet: bool = False
    plot_seconds: float = 2.0

    def __post_init__(self) -> None:
        if self.plot_seconds <= 0:
            raise InputError(f"[output] plot_seconds must be positive, got {self.plot_seconds}")


@dataclass(frozen=True)
class Overrides:
    """A stage config's fields set by the user, checked where the stage is built."""

    values: tuple[tuple[str, Scalar], ...] = ()

    def as_dict(self) -> dict[str, Scalar]:
        return dict(self.values)


@dataclass(frozen=True)
class PipelineConfig:
    capture: CaptureConfig = field(default_factory=CaptureConfig)
    tracker: Overrides = field(default_factory=Overrides)
    spotter: Overrides = field(default_factory=Overrides)
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)
    output: OutputConfig = field(default_factory=OutputConfig)


_TYPED = {"capture": CaptureConfig, "classifier": ClassifierConfig, "output": OutputConfig}
_SECTIONS = ("capture", "tracker", "spotter", "classifier", "output")


def parse_size(text: str) -> tuple[int, int]:
    """ "640x480" -> (640, 480)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise InputError(f"a size is WIDTHxHEIGHT (640x480), got {text!r}") from None
    if w < 1 or h < 1:
        raise InputError(f"a size needs a positive width and height, got {text!r}")
    return w, h


def _coerce(where: str, value: object, default: object) -> Scalar:
    """``value`` as the type of ``default``; an int is accepted for a float."""
    if isinstance(default, bool) or isinstance(value, bool):
        ok = isinstance(default, bool) and isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float)
        value = float(value) if ok else value  # type: ignore[arg-type]
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise InputError(f"{where} must be a {type(default).__name__}, got {value!r}")
    return value  # type: ignore[return-value]


def scalar_defaults(cls: type, skip: Collection[str] = ()) -> dict[str, Scalar]:
    """The defaults of the dataclass ``cls``'s scalar fields (bool, int, float, str), less ``skip``."""
    out = {f.name: f.default for f in fields(cls) if f.name not in skip}
    return {k: v for k, v in out.items() if isinstance(v, bool | int | float | str)}


def stage_settings(
    cls: type, name: str, overrides: Mapping[str, object], fixed: Collection[str] = ()
) -> dict[str, Scalar]:
    """A stage's ``[name]`` overrides checked against the scalar fields of its config class
    ``cls`` (less ``fixed``, which the pipeline's builder sets) and coerced to their types."""
    known = scalar_defaults(cls, fixed)
    for key in overrides:
        if key not in known:
            raise InputError(f"unknown key {key!r} in [{name}]; known: {', '.join(known)}")
    return {k: _coerce(f"[{name}] {k}", v, known[k]) for k, v in overrides.items()}


def _section(name: str, table: object, origin: str) -> object:
    if not isinstance(table, Mapping):
        raise InputError(f"{origin}: [{name}] must be a table of settings, got {table!r}")
    if name in _TYPED:
        cls = _TYPED[name]
        known = {f.name: f.default for f in fields(cls)}
        for key in table:
            if key not in known:
                raise InputError(f"{origin}: unknown key {key!r} in [{name}]; known: {', '.join(known)}")
        return cls(**{k: _coerce(f"{origin}: [{name}] {k}", v, known[k]) for k, v in table.items()})
    for key, value in table.items():
        if not isinstance(value, bool | int | float | str):
            raise InputError(f"{origin}: [{name}] {key} must be a number, string or boolean, got {value!r}")
    return Overrides(tuple(sorted(table.items())))


def from_mapping(data: Mapping[str, Any], origin: str = "config") -> PipelineConfig:
    """A config from parsed TOML; unknown sections or keys are an :class:`InputError` naming them."""
    for name in data:
        if name not in _SECTIONS:
            raise InputError(f"{origin}: unknown section [{name}]; known: {', '.join(_SECTIONS)}")
    return PipelineConfig(**{name: _section(name, table, origin) for name, table in data.items()})  # type: ignore[arg-type]


def _toml_module() -> Any:
    try:
        return importlib.import_module("tomllib")
    except ModuleNotFoundError:  # Python 3.10
        try:
            return importlib.import_module("tomli")
        except ModuleNotFoundError:
            raise MissingDependencyError(
                "reading a TOML config needs Python 3.11 or the tomli package (pip install tomli)"
            ) from None


def load_config(path: str | Path | None = None) -> PipelineConfig:
    """The config in the TOML file ``path``; the defaults when None."""
    if path is None:
        return PipelineConfig()
    p = Path(path)
    if not p.is_file():
        raise InputError(f"config file {p} does not exist; write one (rtmer config show > rtmer.toml)")
    tomllib = _toml_module()
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"config file {p} is not valid TOML: {exc}") from None
    return from_mapping(data, str(p))


def with_overrides(config: PipelineConfig, overrides: Mapping[str, object]) -> PipelineConfig:
    """``config`` with ``{"section.key": value}`` set (None values are skipped: a flag not given)."""
    out = config
    for dotted, value in overrides.items():
        if value is None:
            continue
        name, _, key = dotted.partition(".")
        if name not in _SECTIONS or not key:
            raise InputError(f"unknown setting {dotted!r}; settings are section.key, sections: {_SECTIONS}")
        section = getattr(out, name)
        if isinstance(section, Overrides):
            values = section.as_dict() | {key: value}
            new: object = Overrides(tuple(sorted(values.items())))  # type: ignore[arg-type]
        else:
            new = _section(name, {**_plain(section), key: value}, "flags")
        out = replace(out, **{name: new})  # type: ignore[arg-type]
    return out


def _plain(section: object) -> dict[str, Scalar]:
    if isinstance(section, Overrides):
        return section.as_dict()
    return {f.name: getattr(section, f.name) for f in fields(section)}  # type: ignore[arg-type]


def _toml_value(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string: the same escapes as JSON
    return repr(value)


def to_toml(config: PipelineConfig, defaults: Mapping[str, Mapping[str, Scalar]] | None = None) -> str:
    """``config`` as TOML that :func:`load_config` reads back; ``defaults`` fill the override
    sections (``{"tracker": {...}, "spotter": {...}}``) so the effective values are shown."""
    lines: list[str] = []
    for name in _SECTIONS:
        values = dict((defaults or {}).get(name, {})) | _plain(getattr(config, name))
        lines.append(f"[{name}]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in values.items()]
        lines.append("")
    return "\n".join(lines)


__all__ = [
    "CaptureConfig",
    "ClassifierConfig",
    "OutputConfig",
    "Overrides",
    "PipelineConfig",
    "from_mapping",
    "load_config",
    "parse_size",
    "scalar_defaults",
    "stage_settings",
    "to_toml",
    "with_overrides",
]
