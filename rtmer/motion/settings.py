"""TV-L1 settings shared by the native solver, its reference twin and the OpenCV wrapper."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from rtmer import _native
from rtmer.errors import InputError


@dataclass(frozen=True)
class Tvl1Settings:
    """TV-L1 parameters; names, defaults and meaning as OpenCV's ``DualTVL1OpticalFlow``."""

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
        checks = [
            (self.tau > 0 and self.theta > 0 and self.lambda_ > 0, "tau, lambda_ and theta must be positive"),
            (self.epsilon >= 0, "epsilon must be >= 0"),
            (self.scales >= 1 and self.warps >= 1, "scales and warps must be >= 1"),
            (0 < self.scale_step < 1, "scale_step must lie strictly between 0 and 1"),
            (self.inner_iterations >= 1 and self.outer_iterations >= 1, "iterations must be >= 1"),
            (self.median_filter in (0, 1, 3, 5), "median_filter must be 0, 1, 3 or 5 (as OpenCV's)"),
        ]
        for ok, message in checks:
            if not ok:
                raise InputError(f"invalid TV-L1 settings: {message}")

    def native(self) -> object:
        """These settings as the native ``Tvl1Params``."""
        return _native._C.Tvl1Params(**asdict(self))

    def with_(self, **changes: float | int) -> Tvl1Settings:
        return replace(self, **changes)
