"""Builds the private extension ``rtmer._C`` from ``csrc/``.

Environment:
  RTMER_CUDA=auto|0|1     compile the CUDA twins (auto: when nvcc is found). 1 fails without nvcc.
  RTMER_STRICT_BUILD=1    a failed native build is an error (CI); otherwise rtmer installs without
                          ``_C`` and runs its numpy reference path with a warning.
  RTMER_MARCH=native|...  value of -march for the CPU kernels (default native: rtmer is built where it runs).
  CUDA_HOME / CUDA_PATH   where the CUDA toolkit lies (default: the directory above nvcc).
  RTMER_CUDA_ARCHS        nvcc -gencode list, e.g. "80;90" (default: 70;75;80;86;89;90 plus PTX).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from pybind11.setup_helpers import Pybind11Extension
from setuptools import setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
CSRC = ROOT / "csrc"


def _env_flag(name: str, default: str) -> str:
    return os.environ.get(name, default).strip().lower()


def _find_nvcc() -> str | None:
    for var in ("CUDA_HOME", "CUDA_PATH"):
        home = os.environ.get(var)
        if home and (Path(home) / "bin" / "nvcc").exists():
            return str(Path(home) / "bin" / "nvcc")
    return shutil.which("nvcc")


def _cuda_home(nvcc: str) -> Path:
    """The toolkit folder holding lib64/libcudart_static.a (nvcc on PATH may be a wrapper script)."""
    candidates = [
        os.environ.get("CUDA_HOME"),
        os.environ.get("CUDA_PATH"),
        Path(nvcc).resolve().parent.parent,
        "/usr/local/cuda",
    ]
    for c in candidates:
        if c and any(
            (Path(c) / d / "libcudart_static.a").exists()
            for d in ("lib64", "lib", "targets/x86_64-linux/lib")
        ):
            return Path(c)
    raise RuntimeError(f"found {nvcc} but no CUDA toolkit with libcudart_static.a; set CUDA_HOME")


def _cuda_archs() -> list[str]:
    raw = os.environ.get("RTMER_CUDA_ARCHS", "70;75;80;86;89;90")
    return [a.strip() for a in raw.replace(",", ";").split(";") if a.strip()]


def _nvcc_supported_archs(nvcc: str) -> set[str]:
    try:
        out = subprocess.run([nvcc, "--list-gpu-arch"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return set()
    return {line.strip().removeprefix("compute_") for line in out.split() if line.startswith("compute_")}


def _rel(paths: list[Path]) -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in paths)


CPU_SOURCES = _rel(list((CSRC / "ops" / "cpu").glob("*.cpp")) + list((CSRC / "common").glob("*.cpp")))
CUDA_SOURCES = _rel(list((CSRC / "ops" / "cuda").glob("*.cu")))


class RtmerBuildExt(build_ext):
    """pybind11 build_ext that adds nvcc-compiled objects when CUDA is wanted and found."""

    def build_extensions(self) -> None:
        strict = _env_flag("RTMER_STRICT_BUILD", "0") in ("1", "true", "yes")
        try:
            self._configure_and_build()
        except Exception as exc:
            if strict:
                raise
            print(
                f"rtmer: native build FAILED ({exc}); installing the numpy reference path only.",
                file=sys.stderr,
            )

    def _configure_and_build(self) -> None:
        cuda_mode = _env_flag("RTMER_CUDA", "auto")
        nvcc = _find_nvcc() if cuda_mode != "0" else None
        if cuda_mode == "1" and nvcc is None:
            raise RuntimeError("RTMER_CUDA=1 but nvcc was not found (set CUDA_HOME or put nvcc on PATH)")
        march = os.environ.get("RTMER_MARCH", "native")
        ext = self.extensions[0]
        cxx_flags = [
            "-O3",
            "-std=c++17",
            "-fno-math-errno",
            "-fopenmp",
            "-fvisibility=hidden",
            "-Wall",
            "-Wno-unknown-pragmas",
            "-Wno-maybe-uninitialized",
        ]  # GCC 12 warns inside its own AVX-512 headers
        if march:
            cxx_flags.append(f"-march={march}")
        ext.extra_compile_args += cxx_flags
        ext.extra_link_args += ["-fopenmp"]
        build = {
            "compiler": self.compiler.compiler_so[0] if hasattr(self.compiler, "compiler_so") else "?",
            "cxx_flags": " ".join(cxx_flags),
            "cuda": "no",
            "cuda_archs": "",
            "nvcc": "",
        }
        if nvcc is not None:
            objects, archs = self._compile_cuda(nvcc, ext)
            ext.extra_objects += objects
            cuda_home = _cuda_home(nvcc)
            libdirs = [cuda_home / "lib64", cuda_home / "lib", cuda_home / "targets" / "x86_64-linux" / "lib"]
            for d in libdirs:
                if d.is_dir():
                    ext.library_dirs.append(str(d))
            # Static cudart: the module imports on machines with no CUDA runtime installed and simply
            # reports no device; the driver (libcuda) is loaded lazily by cudart at first use.
            ext.libraries += ["cudart_static", "dl", "rt", "pthread"]
            ext.define_macros.append(("RTMER_WITH_CUDA", "1"))
            build.update(cuda="yes", cuda_archs=";".join(archs), nvcc=self._nvcc_version(nvcc))
        for key, value in build.items():
            ext.define_macros.append((f"RTMER_BUILD_{key.upper()}", f'"{value}"'))
        print("rtmer build configuration:", file=sys.stderr)
        for key, value in build.items():
            print(f"  {key:10s} {value}", file=sys.stderr)
        super().build_extensions()

    @staticmethod
    def _nvcc_version(nvcc: str) -> str:
        out = subprocess.run([nvcc, "--version"], capture_output=True, text=True).stdout.strip().splitlines()
        return out[-1].replace('"', "'") if out else "unknown"

    def _compile_cuda(self, nvcc: str, ext: Pybind11Extension) -> tuple[list[str], list[str]]:
        supported = _nvcc_supported_archs(nvcc)
        archs = [a for a in _cuda_archs() if not supported or a in supported]
        if not archs:
            raise RuntimeError(f"none of RTMER_CUDA_ARCHS={_cuda_archs()} is supported by {nvcc}")
        gencode = []
        for a in archs:
            gencode += ["-gencode", f"arch=compute_{a},code=sm_{a}"]
        gencode += ["-gencode", f"arch=compute_{archs[-1]},code=compute_{archs[-1]}"]
        out_dir = Path(self.build_temp) / "cuda"
        out_dir.mkdir(parents=True, exist_ok=True)
        includes = [f"-I{CSRC}", f"-I{sysconfig.get_paths()['include']}"]
        objects = []
        for src in CUDA_SOURCES:
            obj = out_dir / (Path(src).stem + ".cu.o")
            cmd = [
                nvcc,
                "-c",
                str(ROOT / src),
                "-o",
                str(obj),
                "-O3",
                "-std=c++17",
                "-Xcompiler",
                "-fPIC",
                "-DRTMER_WITH_CUDA=1",
                *includes,
                *gencode,
            ]
            print(" ".join(cmd), file=sys.stderr)
            subprocess.run(cmd, check=True)
            objects.append(str(obj))
        return objects, archs


ext_modules = [
    Pybind11Extension(
        "rtmer._C",
        ["csrc/bindings.cpp", *CPU_SOURCES],
        include_dirs=[str(CSRC)],
        cxx_std=17,
    )
]

setup(ext_modules=ext_modules, cmdclass={"build_ext": RtmerBuildExt})
