"""Which backend ``"auto"`` means on this machine."""

from __future__ import annotations

from rtmer.errors import InputError

BACKENDS = ("torch", "onnx", "tensorrt")


def resolve(backend: str) -> str:
    """``backend`` itself when it names one of :data:`BACKENDS`; for ``"auto"``: ``"tensorrt"``
    when the ``[gpu]`` extra is installed and a CUDA GPU is present, else ``"onnx"``."""
    if backend == "auto":
        from rtmer.backends.tensorrt import available

        return "tensorrt" if available() else "onnx"
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r}; choose auto, {', '.join(BACKENDS)}")
    return backend
