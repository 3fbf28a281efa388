"""dlib's shape predictor (Kazemi and Sullivan 2014, an ensemble of regression trees) in rtmer:
the model read from dlib's own file, the native kernel, and its numpy twin.

:func:`load_model` parses a serialized ``dlib::shape_predictor`` (the 68-point
``shape_predictor_68_face_landmarks.dat``: 15 cascades of 500 trees of depth 4, 500 feature
pixels per cascade) without dlib. The format, from dlib's sources (``dlib/serialize.h``,
``float_details.h``, ``matrix/matrix.h``, ``geometry/vector.h``, ``image_processing/
shape_predictor.h``): every value is an integer in dlib's portable form (a control byte holding the
byte count and the sign, then the magnitude's bytes, little endian; decoded by
``rtmer._C.unpack_dlib``), a float is two of them (mantissa, then exponent; exponents 32000,
32001, 32002 mean +inf, -inf, NaN), a ``std::vector`` is its size then its items, a column
``matrix<float,0,1>`` its rows and columns (both negated in the current format) then its
elements, a ``dlib::vector<float,2>`` x then y, a split feature ``idx1, idx2, thresh`` and a tree
its splits then its leaves. The predictor is ``version`` (1), ``initial_shape``, ``forests``,
``anchor_idx``, ``deltas``. dlib's older text format for floats is not read (an InputError says so).

:class:`ErtPredictor` (``rtmer._C``, GIL released) and :func:`predict_reference` (numpy) compute
what ``shape_predictor::operator()`` computes, in dlib's float arithmetic, and return the points
in float pixels where dlib rounds them to whole pixels.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rtmer import _native
from rtmer.errors import InputError, NativeUnavailableError
from rtmer.face.landmarks import Box


@dataclass(frozen=True)
class ErtModel:
    """A shape predictor's arrays: P parts, C cascades of T full trees with S = 2^D - 1 splits and
    S + 1 leaves each, F feature pixels per cascade. Shapes are in the face box's unit square ((0, 0)
    its top-left, (1, 1) its bottom-right corner), x then y.

    initial: (P, 2) float32, the mean shape every prediction starts from; anchor: (C, F) int64, the
    part each feature pixel moves with; deltas: (C, F, 2) float32, its offset from that part in the
    initial shape; split_idx: (C, T, S, 2) int64, the two feature pixels each split compares (node
    i's children are 2i + 1, taken when ``f[a] - f[b] > thresh``, and 2i + 2); thresh: (C, T, S)
    float32; leaves: (C, T, S + 1, 2P) float32, the shape increments (x0, y0, x1, y1, ...).
    """

    initial: np.ndarray
    anchor: np.ndarray
    deltas: np.ndarray
    split_idx: np.ndarray
    thresh: np.ndarray
    leaves: np.ndarray

    @property
    def parts(self) -> int:
        return int(self.initial.shape[0])


class _Reader:
    """A cursor over a serialized dlib object, read as runs of records of integers and floats."""

    def __init__(self, data: np.ndarray, path: Path) -> None:
        self.data, self.path, self.pos = data, path, 0

    def fail(self, what: str) -> InputError:
        return InputError(f"{self.path} is not a dlib shape predictor that rtmer reads: {what}")

    def records(self, count: int, n_ints: int, n_floats: int) -> tuple[np.ndarray, np.ndarray]:
        """``count`` records of ``n_ints`` integers then ``n_floats`` floats: (count, n_ints) int64
        and (count, n_floats) float32."""
        try:
            ints, floats, self.pos = _native._C.unpack_dlib(self.data, self.pos, count, n_ints, n_floats)
        except ValueError as exc:
            raise self.fail(str(exc)) from None
        return ints, floats

    def size(self, what: str) -> int:
        n = int(self.records(1, 1, 0)[0][0, 0])
        if n < 0:
            raise self.fail(f"a negative {what} ({n}) before byte {self.pos}")
        return n

    def column(self, what: str) -> np.ndarray:
        """A ``matrix<float,0,1>``: its rows and columns (negated in dlib's current format), then
        its elements."""
        rows, cols = (abs(int(v)) for v in self.records(1, 2, 0)[0][0])
        if cols != 1:
            raise self.fail(f"{what} has {cols} columns, not 1")
        return self.records(1, 0, rows)[1][0]


def unpack_reference(
    data: np.ndarray, offset: int, count: int, n_ints: int, n_floats: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """The pure-Python twin of ``rtmer._C.unpack_dlib`` (slow: a Python loop): ``count`` records
    of ``n_ints`` integers then ``n_floats`` floats from ``data[offset:]``, and the offset after
    them. ValueError where the native decoder raises it."""
    buf = memoryview(np.ascontiguousarray(data, np.uint8).tobytes())
    pos = offset

    def integer() -> int:
        nonlocal pos
        if pos >= len(buf):
            raise ValueError(f"the data ends at byte {len(buf)} where an integer should begin")
        control, size = buf[pos], buf[pos] & 0x0F
        if control & 0x70 or size > 8:
            raise ValueError(f"byte {pos} ({control}) is not a control byte of dlib's binary number format")
        if pos + 1 + size > len(buf):
            raise ValueError(f"the data ends at byte {len(buf)} inside the integer at byte {pos}")
        value = int.from_bytes(buf[pos + 1 : pos + 1 + size], "little")
        if value >= 2**63:
            raise ValueError(f"the integer at byte {pos} exceeds int64")
        pos += 1 + size
        return -value if control & 0x80 else value

    def real() -> float:
        mantissa, at, exponent = integer(), pos, integer()
        if not -(2**15) <= exponent < 2**15:
            raise ValueError(f"the float exponent at byte {at} exceeds int16")
        if exponent < 32000:  # float_details: (float)mantissa * 2^exponent, then +inf, -inf, NaN
            with np.errstate(over="ignore", under="ignore"):
                return float(np.ldexp(np.array(mantissa, np.int64).astype(np.float32), exponent))
        return {32000: math.inf, 32001: -math.inf}.get(exponent, math.nan)

    ints = np.zeros((count, n_ints), np.int64)
    floats = np.zeros((count, n_floats), np.float32)
    for r in range(count):
        for i in range(n_ints):
            ints[r, i] = integer()
        for i in range(n_floats):
            floats[r, i] = real()
    return ints, floats, pos


def load_model(path: str | Path) -> ErtModel:
    """The arrays of the dlib shape predictor serialized in ``path`` (0.6-1.3 s for the 100 MB
    68-point model on one core here). InputError for an unreadable file or one that is not such a
    predictor."""
    if not _native.HAS_NATIVE:
        raise NativeUnavailableError(
            "reading a dlib shape predictor needs rtmer._C; reinstall rtmer with a C++17 compiler"
        )
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise InputError(f"cannot read the shape predictor {path}: {exc.strerror or exc}") from None
    r = _Reader(data, path)
    version = r.size("version")
    if version != 1:
        raise r.fail(f"version {version}, expected 1")
    initial = r.column("the initial shape")
    if initial.size < 4 or initial.size % 2:
        raise r.fail(f"an initial shape of {initial.size} values (need an even number >= 4)")
    n = initial.size
    forests = [_read_forest(r, n) for _ in range(r.size("cascade count"))]
    if r.size("anchor list count") != len(forests):
        raise r.fail("anchor lists do not match the cascades")
    anchor = [r.records(r.size("anchor count"), 1, 0)[0][:, 0] for _ in forests]
    if r.size("delta list count") != len(forests):
        raise r.fail("delta lists do not match the cascades")
    deltas = [r.records(r.size("delta count"), 0, 2)[1] for _ in forests]
    if r.pos != data.size:
        raise r.fail(f"{data.size - r.pos} bytes left after the predictor")
    if not forests or len({len(f) for f in forests}) != 1:
        raise r.fail("no cascades, or cascades of different tree counts (rtmer's kernel needs equal ones)")
    shape = (len(forests), len(forests[0]))
    trees = [t for f in forests for t in f]
    try:  # one copy of the 65 MB of leaves, not one per cascade and another for the whole
        model = ErtModel(
            initial=initial.reshape(-1, 2),
            anchor=np.stack(anchor),
            deltas=np.stack(deltas),
            split_idx=np.stack([t[0] for t in trees]).reshape(*shape, -1, 2),
            thresh=np.stack([t[1] for t in trees]).reshape(*shape, -1),
            leaves=np.stack([t[2] for t in trees]).reshape(*shape, -1, n),
        )
    except ValueError:
        raise r.fail(
            "trees of different depths or cascades of different pixel counts (rtmer's kernel "
            "needs equal ones)"
        ) from None
    _check_model(model, r)
    return model


def _read_forest(r: _Reader, n: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """One cascade's trees, each its split indices (S, 2), thresholds (S,) and leaves (S + 1, n)."""
    trees = []
    for _ in range(r.size("tree count")):
        s = r.size("split count")
        pairs, thresh = r.records(s, 2, 1)  # split_feature: idx1, idx2, thresh
        if r.size("leaf count") != s + 1:
            raise r.fail(f"a tree of {s} splits without {s + 1} leaves")
        head, leaves = r.records(s + 1, 2, n)  # each leaf a column matrix: rows, columns, values
        if np.any(np.abs(head) != (n, 1)):
            raise r.fail(f"a leaf that is not a column of {n} values")
        trees.append((pairs, thresh[:, 0], leaves))
    return trees


def _check_model(m: ErtModel, r: _Reader) -> None:
    s = m.split_idx.shape[2]
    if s & (s + 1):
        raise r.fail(f"trees of {s} splits are not full binary trees")
    if m.anchor.size and (m.anchor.min() < 0 or m.anchor.max() >= m.parts):
        raise r.fail("an anchor that is not one of the parts")
    features = m.anchor.shape[1]
    if m.split_idx.size and (m.split_idx.min() < 0 or m.split_idx.max() >= features):
        raise r.fail(f"a split on a feature pixel beyond the {features} of its cascade")


def _check_inputs(image: np.ndarray, box: Box) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """A gray uint8 image and a box (x0, y0, x1, y1) with x1 > x0 and y1 > y0 as the predictors take
    them; InputError otherwise. dlib's box: its corners map to the unit square's."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 2 or image.size == 0:
        got = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise InputError(f"the shape predictor takes a non-empty H x W uint8 gray image, got {got}")
    values = tuple(box) if isinstance(box, (tuple, list, np.ndarray)) else ()
    if len(values) != 4 or not all(isinstance(v, numbers.Real) for v in values):
        raise InputError(f"the face box must be 4 numbers (x0, y0, x1, y1), got {box!r}")
    x0, y0, x1, y1 = (float(v) for v in values)
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)) or x1 <= x0 or y1 <= y0:
        raise InputError(f"the face box {box!r} is degenerate: need finite x0 < x1 and y0 < y1")
    return image, (x0, y0, x1, y1)


class ErtPredictor:
    """The native shape predictor for ``model``: ``predictor(gray, box)`` -> (P, 2) float32 points.

    Holds its own copy of the model (leaves padded to whole cache lines: 70 MB for the 68-point
    model); thread-safe, and releases the GIL while it runs.
    """

    def __init__(self, model: ErtModel) -> None:
        if not _native.HAS_NATIVE:
            raise NativeUnavailableError(
                "the native shape predictor needs rtmer._C; reinstall rtmer with a C++17 compiler"
            )
        self._impl = _native._C.ErtPredictor(
            model.initial, model.anchor, model.deltas, model.split_idx, model.thresh, model.leaves
        )

    def __call__(self, image: np.ndarray, box: Box) -> np.ndarray:
        gray, b = _check_inputs(image, box)
        return self._impl.predict(np.ascontiguousarray(gray), *b)


def predict_reference(model: ErtModel, image: np.ndarray, box: Box) -> np.ndarray:
    """The numpy twin of :class:`ErtPredictor`: dlib's ``shape_predictor::operator()`` step by step."""
    gray, (x0, y0, x1, y1) = _check_inputs(image, box)
    h, w = gray.shape
    bw, bh = x1 - x0, y1 - y0
    f32 = np.float32
    shape = model.initial.astype(f32).copy()
    centred = model.initial.astype(np.float64) - model.initial.astype(np.float64).mean(axis=0)
    spread = float((centred**2).sum())
    trees = np.arange(model.split_idx.shape[1])
    splits = model.split_idx.shape[2]
    for c in range(model.anchor.shape[0]):
        # The similarity from the initial to the current shape (dlib's find_similarity_transform,
        # Umeyama), its 2 x 2 part in float as dlib casts it.
        t = shape.astype(np.float64) - shape.astype(np.float64).mean(axis=0)
        cov = t.T @ centred
        a, b = (cov[0, 0] + cov[1, 1]) / spread, (cov[1, 0] - cov[0, 1]) / spread
        m = np.array([[a, -b], [b, a]]).astype(f32)
        # Each feature pixel at its anchor part plus the transformed delta, in float in dlib's
        # order (m00 dx + m01 dy, then + the part), then to the image through the box in double,
        # rounded half up; outside the image it reads 0.
        d, at = model.deltas[c], shape[model.anchor[c]]
        px = m[0, 0] * d[:, 0] + m[0, 1] * d[:, 1] + at[:, 0]
        py = m[1, 0] * d[:, 0] + m[1, 1] * d[:, 1] + at[:, 1]
        fx = np.floor(bw * px.astype(np.float64) + x0 + 0.5)
        fy = np.floor(bh * py.astype(np.float64) + y0 + 0.5)
        inside = (fx >= 0) & (fx <= w - 1) & (fy >= 0) & (fy <= h - 1)
        feature = np.where(
            inside, gray[np.where(inside, fy, 0).astype(np.intp), np.where(inside, fx, 0).astype(np.intp)], 0
        )
        feature = feature.astype(f32)
        node = np.zeros(trees.size, np.intp)
        for _ in range(splits.bit_length()):
            pair = model.split_idx[c, trees, node]
            left = feature[pair[:, 0]] - feature[pair[:, 1]] > model.thresh[c, trees, node]
            node = 2 * node + np.where(left, 1, 2)
        chosen = model.leaves[c, trees, node - splits].reshape(trees.size, -1, 2)
        for leaf in chosen:  # one tree at a time, as dlib adds them: float sums depend on the order
            shape += leaf
    out = np.empty_like(shape)
    out[:, 0] = bw * shape[:, 0].astype(np.float64) + x0
    out[:, 1] = bh * shape[:, 1].astype(np.float64) + y0
    return out
