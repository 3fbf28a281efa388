"""Motion: residual sums, TV-L1 optical flow, optical strain, flow colour coding, remap
(:mod:`rtmer.motion.ops`), the per-frame engine (:mod:`rtmer.motion.engine`), their numpy twins
(:mod:`rtmer.motion.reference`) and the TV-L1 settings (:mod:`rtmer.motion.settings`).
"""

from rtmer.motion.engine import IncrementalMotion
from rtmer.motion.ops import (
    Impl,
    Tvl1Result,
    absolute_residual_sum,
    flow_to_color,
    get_num_threads,
    optical_strain,
    relative_residual_sum,
    remap,
    residual_sum,
    set_num_threads,
    tvl1_flow,
    tvl1_flow_stats,
)
from rtmer.motion.reference import key_frames
from rtmer.motion.settings import Tvl1Settings

__all__ = [
    "Impl",
    "IncrementalMotion",
    "Tvl1Result",
    "Tvl1Settings",
    "absolute_residual_sum",
    "flow_to_color",
    "get_num_threads",
    "key_frames",
    "optical_strain",
    "relative_residual_sum",
    "remap",
    "residual_sum",
    "set_num_threads",
    "tvl1_flow",
    "tvl1_flow_stats",
]
