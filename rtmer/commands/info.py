"""``rtmer info``: versions, how the native module was built, and what this machine offers it."""

from __future__ import annotations

import argparse
import json
import platform
import sys
from typing import Any

from rtmer import __version__

#: Keys of ``rtmer._C.build_info()`` shown under "build".
_BUILD_KEYS = ("compiler", "cxx_flags", "simd", "openmp", "max_threads", "cuda_archs", "nvcc")


def _dist_version(dist: str) -> str | None:
    """Installed version of a distribution, without importing it (None when it is not installed)."""
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _module_version(module: str) -> str | None:
    """``module.__version__`` (None when the module cannot be imported)."""
    import importlib

    try:
        return str(getattr(importlib.import_module(module), "__version__", "unknown"))
    except ImportError:
        return None


def cpu_model() -> str:
    """The CPU's marketing name ("model name" in /proc/cpuinfo), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                key, sep, value = line.partition(":")
                if sep and key.strip() == "model name" and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _face_backend() -> str:
    """The default face backend's name, or why it is not usable (RTMER_FACE_BACKEND misspelt)."""
    from rtmer.errors import InputError
    from rtmer.face.landmarks import default_backend_name

    try:
        return default_backend_name()
    except InputError as exc:
        return str(exc)


def collect_info() -> dict[str, Any]:
    """Everything ``rtmer info`` reports, as a JSON-serialisable dict."""
    from rtmer import _native

    native = _native.build_info()
    info: dict[str, Any] = {
        "rtmer": __version__,
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "platform": platform.platform(),
        "numpy": _module_version("numpy"),
        "opencv": _module_version("cv2"),
        "scikit_image": _dist_version("scikit-image"),
        "dlib": _dist_version("dlib-bin") or _dist_version("dlib"),
        "mediapipe": _dist_version("mediapipe"),
        "face_backend": _face_backend(),
        "native": bool(native["native"]),
        "native_error": native.get("import_error"),
        "cuda_compiled": bool(native["cuda_compiled"]),
        "cuda_available": bool(native["cuda_available"]),
        "cuda_devices": int(native.get("cuda_devices", 0)),
        "cuda_device": native.get("cuda_device", "") or "",
        "build": {key: native[key] for key in _BUILD_KEYS if key in native},
        "cpu_model": cpu_model(),
        "cpu_count": native.get("cpu_count"),
        "cpu_features": list(native.get("cpu_features", [])),
    }
    return info


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def format_info(info: dict[str, Any]) -> str:
    """``collect_info()`` as aligned ``name  value`` lines."""
    missing = "not installed"
    rows: list[tuple[str, str]] = [
        ("rtmer", info["rtmer"]),
        ("python", f"{info['python']} ({info['python_executable']})"),
        ("platform", info["platform"]),
        ("numpy", info["numpy"] or missing),
        ("opencv", info["opencv"] or missing),
        ("scikit-image", info["scikit_image"] or missing),
        ("dlib", info["dlib"] or missing),
        ("mediapipe", info["mediapipe"] or "not installed (optional: rtmer[mediapipe])"),
        ("face backend", info["face_backend"]),
        ("native module", _yes_no(info["native"]) + ("" if info["native"] else f" ({info['native_error']})")),
        ("cuda compiled", _yes_no(info["cuda_compiled"])),
    ]
    if info["cuda_available"]:
        rows.append(("cuda device", f"yes: {info['cuda_device']} ({info['cuda_devices']} device(s))"))
    else:
        rows.append(("cuda device", "no" + (" (no usable CUDA device)" if info["cuda_compiled"] else "")))
    build = info["build"]
    if build:
        rows += [(f"build {key}", str(build[key]) or "-") for key in _BUILD_KEYS if key in build]
    rows.append(("cpu", f"{info['cpu_model']} ({info['cpu_count']} logical cores)"))
    rows.append(("cpu features", " ".join(info["cpu_features"]) or "-"))
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def run(args: argparse.Namespace) -> int:
    info = collect_info()
    print(json.dumps(info) if args.json else format_info(info))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "info",
        help="show versions, the native build and this machine's CPU/GPU",
        description="Show versions, how rtmer._C was built and what this machine offers it.",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(handler=run)
