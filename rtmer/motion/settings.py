"""TV-L1 settings shared by the native solver, its reference twin and the OpenCV wrapper."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from rtmer import _native
from rtmer.errors import InputError


@dataclass(frozen=True)
class Tvl1Settings:
    """TV-L1 parameters; names, defaults and meaning as OpenCV's ``DualTVL1OpticalFlow``.

    Their ranges are checked where the solvers check them, ``csrc/ops/tvl1.h`` (through the native
    ``Tvl1Params``), and a bad value raises :class:`rtmer.errors.InputError`. Without ``rtmer._C``
    only the numpy twin runs, which takes the settings unchecked.
    """

    tau: float = 0.25
    lambda_: float = 0.15
    theta: float = 0.3
    epsilon: float = 0.01
    scales: int = 5
    scale_step: float = 0.8
    warps: int = 5
    inner_iterations: int = 30
    outer_iterations: int = 10
    median_filter: int = 5

    def __post_init__(self) -> None:
        if _native.HAS_NATIVE:
            try:
                self.native()
            except ValueError as exc:
                raise InputError(f"invalid TV-L1 settings: {exc}") from None

    def native(self) -> Any:
        """These settings as the native ``Tvl1Params``."""
        return _native._C.Tvl1Params(**asdict(self))
