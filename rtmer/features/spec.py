"""The options of the feature builders, and what a model card stores of them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Literal

from rtmer.errors import InputError
from rtmer.motion import Impl, Tvl1Settings


@dataclass(frozen=True)
class FeatureSpec:
    """Options of the feature builders; each kind reads only its own
    (:attr:`rtmer.features.FeatureKind.options`).

    flow_size: (width, height) of the LAENet crop the 28 x 28 flow is computed on (the paper
    computes flow on its crop at the data set's resolution, CASME II's about 170 x 140, then
    resizes); flow3_size: the side of the flow3 output; color_size: the side of MJFN's crop, on
    which its flow is computed (MJFN does not say how it reaches 224 x 224; computing at the input
    size avoids resampling a colour image); n_hues: colours of MJFN's wheel; residual: "ars" or
    "rrs" (CropNet eq. 5 or 6-7); n_key: CropNet's key frame count (eq. 3); length: T, the frames
    of a time-interpolated sequence (64 in the aggregation paper; CNN-LSTM-SE's N); color: RGB
    sequences instead of gray; tvl1: TV-L1 settings (OpenCV's defaults); impl: which motion
    kernels run (see :mod:`rtmer.motion`; not part of the cache key, as the implementations agree
    to within their parity tests).
    """

    flow_size: tuple[int, int] = (128, 128)
    flow3_size: int = 28
    color_size: int = 224
    n_hues: int = 55
    residual: Literal["ars", "rrs"] = "ars"
    n_key: int = 5
    length: int = 64
    color: bool = False
    tvl1: Tvl1Settings = field(default_factory=Tvl1Settings)
    impl: Impl = "auto"

    def __post_init__(self) -> None:
        checks = [
            (len(self.flow_size) == 2 and min(self.flow_size) >= 8, f"flow_size {self.flow_size}: >= 8 px"),
            (self.flow3_size >= 1, f"flow3_size {self.flow3_size}: >= 1"),
            (self.color_size >= 8, f"color_size {self.color_size}: >= 8"),
            (self.residual in ("ars", "rrs"), f"residual {self.residual!r}: 'ars' or 'rrs'"),
            (self.n_key >= 1, f"n_key {self.n_key}: >= 1"),
            (self.length >= 2, f"length {self.length}: >= 2"),
            (isinstance(self.tvl1, Tvl1Settings), "tvl1: a rtmer.motion.Tvl1Settings"),
        ]
        for ok, message in checks:
            if not ok:
                raise InputError(f"invalid feature option {message}")

    def overrides(self) -> dict[str, object]:
        """The fields that differ from the defaults, JSON-ready (what a model card stores)."""
        default, values = asdict(FeatureSpec()), asdict(self)
        return {k: v for k, v in values.items() if k != "impl" and v != default[k]}

    @classmethod
    def from_overrides(cls, overrides: Mapping[str, object]) -> FeatureSpec:
        """The spec a card's ``feature`` mapping describes (:meth:`overrides` read back)."""
        check_options(overrides, {f.name for f in fields(cls)} - {"impl"})
        kw: dict[str, object] = dict(overrides)
        if "tvl1" in kw:
            kw["tvl1"] = Tvl1Settings(**kw["tvl1"])  # type: ignore[arg-type]
        if "flow_size" in kw:
            kw["flow_size"] = tuple(kw["flow_size"])  # type: ignore[arg-type]
        return cls(**kw)  # type: ignore[arg-type]


def check_options(options: Mapping[str, object], known: set[str]) -> None:
    """:class:`InputError` naming the ``options`` that are not among the ``known`` field names."""
    unknown = sorted(set(options) - known)
    if unknown:
        raise InputError(f"unknown feature option(s) {', '.join(unknown)}; see rtmer.features.FeatureSpec")
