"""Guarded import of the native module ``rtmer._C``.

``HAS_NATIVE``: the C++ kernels are importable. ``HAS_CUDA``: they were compiled with CUDA *and* a
CUDA device is usable now. Without ``_C`` (a source install whose native build failed) rtmer runs
its numpy reference twins and warns once.
"""

from __future__ import annotations

import os
import platform
from typing import Any

_C: Any
try:
    from rtmer import _C
except ImportError as exc:  # a failed native build: the reference path still works
    _C = None
    _IMPORT_ERROR: str | None = str(exc)
else:
    _IMPORT_ERROR = None

HAS_NATIVE: bool = _C is not None
if HAS_NATIVE:
    # One thread unless asked: the TV-L1 solver synchronises its threads every iteration, and on a
    # machine whose cores are busy (a live pipeline's capture and display threads, other programs)
    # OpenMP's spin-waiting barriers were measured to turn 27 ms into 2.3 s at 256 x 256.
    # Opt in with RTMER_NUM_THREADS=N or rtmer.motion.set_num_threads(N).
    _C.set_num_threads(max(1, int(os.environ.get("RTMER_NUM_THREADS", "1") or 1)))
CUDA_COMPILED: bool = bool(HAS_NATIVE and _C.build_info()["cuda_compiled"])
HAS_CUDA: bool = bool(CUDA_COMPILED and _C.cuda_device_count() > 0)


def cpu_features() -> list[str]:
    """SIMD features this CPU reports (Linux /proc/cpuinfo; empty elsewhere)."""
    wanted = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "neon", "asimd")
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith(("flags", "Features")):
                    have = set(line.split(":", 1)[1].split())
                    return [f for f in wanted if f in have]
    except OSError:
        pass
    return []


def build_info() -> dict[str, Any]:
    """How rtmer._C was built and what this machine offers it."""
    info: dict[str, Any] = {
        "native": HAS_NATIVE,
        "cuda_compiled": CUDA_COMPILED,
        "cuda_available": HAS_CUDA,
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpu_features": cpu_features(),
    }
    if HAS_NATIVE:
        info.update(_C.build_info())
        info["cuda_devices"] = _C.cuda_device_count()
        info["cuda_device"] = _C.cuda_device_name() if HAS_CUDA else ""
    else:
        info["import_error"] = _IMPORT_ERROR
    return info
