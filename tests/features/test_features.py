"""The feature path: shapes and ranges per kind, flow against the synthetic ground truth, the same
inputs from a clip and from a buffer of the same frames, the eye mask, the disk cache, errors."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import typing
from pathlib import Path

import cv2
import numpy as np
import pytest

from rtmer import __version__, features, motion
from rtmer.data import load
from rtmer.errors import DatasetError, InputError
from rtmer.face import align, regions
from rtmer.features import ClipFrames, DictFrames, FeatureCache, FeatureSpec, build
from rtmer.motion import Tvl1Settings
from rtmer.synth.generator import generate_clips
from rtmer.types import Clip, SpotEvent

# Fewer TV-L1 iterations where a test is about plumbing, not flow accuracy.
FAST = FeatureSpec(tvl1=Tvl1Settings(scales=3, warps=2, outer_iterations=3))


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synthetic")
    generate_clips(out, subjects=1, clips_per_subject=2, size=(256, 256), progress=False)
    return out


@pytest.fixture(scope="module")
def clips(root: Path) -> tuple[Clip, ...]:
    result = load("synthetic", root)
    assert len(result.clips) == 2
    return result.clips


@pytest.fixture(scope="module")
def landmarks(clips: tuple[Clip, ...]) -> dict[str, np.ndarray]:
    """Each clip's onset landmarks, detected once (MediaPipe)."""
    return {c.key: features.detect_landmarks(ClipFrames(c).frame(c.onset)) for c in clips}


def live_copy(clip: Clip, base: int = 1000) -> tuple[DictFrames, SpotEvent]:
    """The clip's decoded frames as a ring buffer would hold them (absolute indices from ``base``),
    and the SpotEvent the spotter would emit for it."""
    src = ClipFrames(clip)
    held = {base + i: src.frame(i) for i in range(len(clip.frames))}
    t = 1.0 / clip.fps
    event = SpotEvent(
        event_id=7,
        onset=base + clip.onset,
        apex=base + clip.apex,
        offset=base + clip.offset,
        onset_t=(base + clip.onset) * t,
        apex_t=(base + clip.apex) * t,
        offset_t=(base + clip.offset) * t,
        kind="micro",
        score=1.0,
        regions=("mouth",),
        emitted_index=base + clip.offset,
    )
    return DictFrames(held), event


def toy_landmarks() -> np.ndarray:
    """68 points for a 64 x 64 frame: eyes and nose tip where a face has them, the rest scattered
    (enough for the crop transforms; for tests whose frames are not faces)."""
    rng = np.random.default_rng(0)
    p = rng.uniform(12, 52, (68, 2))
    p[36:42] = (22, 26) + rng.normal(0, 1, (6, 2))
    p[42:48] = (42, 26) + rng.normal(0, 1, (6, 2))
    p[30] = (32, 38)
    return p


# --- each kind: shape, dtype, range --------------------------------------------------------------


def test_flow3_shape_and_values(clips: tuple[Clip, ...], landmarks: dict[str, np.ndarray]) -> None:
    c = clips[1]
    x = build("flow3", ClipFrames(c), c, landmarks68=landmarks[c.key])
    assert x.shape == (28, 28, 3) and x.dtype == np.float32
    assert np.isfinite(x).all()
    assert x[..., 2].min() >= 0  # strain is a magnitude
    assert np.abs(x[..., :2]).max() > 0.5  # the synthetic surprise moves brows by a couple of px


def test_flow_color_shape(clips: tuple[Clip, ...], landmarks: dict[str, np.ndarray]) -> None:
    c = clips[1]
    x = build("flow_color", ClipFrames(c), c, landmarks68=landmarks[c.key], spec=FAST)
    assert x.shape == (224, 224, 3) and x.dtype == np.uint8
    # Still skin is (near) white on the Middlebury wheel; the raised brows and dropped jaw of the
    # synthetic surprise (AU 1 + 2 + 26) are strongly coloured.
    saturation = 255 - x.min(axis=2)
    assert (saturation < 25).mean() > 0.2 and (saturation > 127).mean() > 0.05


@pytest.mark.parametrize("which", ["ars", "rrs"])
def test_residual_shape(clips: tuple[Clip, ...], landmarks: dict[str, np.ndarray], which: str) -> None:
    c = clips[1]
    x = build("residual", ClipFrames(c), c, landmarks68=landmarks[c.key], residual=which)
    assert x.shape == (320, 320, 3) and x.dtype == np.uint8
    assert x.max() > 0
    if which == "rrs":  # stretched to the full range over the whole image (eq. 6-7)
        assert x.min() == 0 and x.max() == 255


@pytest.mark.parametrize("color", [False, True])
def test_frames_shape_and_ends(
    clips: tuple[Clip, ...], landmarks: dict[str, np.ndarray], color: bool
) -> None:
    c = clips[1]
    p = landmarks[c.key]
    x = build("frames", ClipFrames(c), c, landmarks68=p, color=color)
    assert x.shape == ((64, 140, 120, 3) if color else (64, 140, 120)) and x.dtype == np.uint8
    # Linear interpolation is exact at both ends: the onset and offset crops themselves.
    m = align.aggregation_transform(p)
    for k, i in ((0, c.onset), (63, c.offset)):
        image = ClipFrames(c).frame(i)
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB if color else cv2.COLOR_BGR2GRAY)
        np.testing.assert_array_equal(x[k], align.warp(image, m, (120, 140)))


def test_frames_interpolate_linearly() -> None:
    """Three frames of constant grey 0, 100, 200 resampled to 5: 0, 50, 100, 150, 200."""
    grey = {i: np.full((64, 64), 100 * i, np.uint8) for i in range(3)}
    span = SpotEvent(0, 0, 1, 2, 0.0, 0.0, 0.0, "micro", 0.0, (), 2)
    x = features.frames(DictFrames(grey), span, toy_landmarks(), FeatureSpec(length=5))
    np.testing.assert_array_equal(x[:, 70, 60], [0, 50, 100, 150, 200])


def test_regions_shapes_and_range(clips: tuple[Clip, ...], landmarks: dict[str, np.ndarray]) -> None:
    c = clips[0]
    x = build("regions", ClipFrames(c), c, landmarks68=landmarks[c.key], length=16)
    assert set(x) == set(regions.REGIONS)
    for name, (_, (h, w)) in align.CNN_LSTM_SE_REGIONS.items():
        assert x[name].shape == (16, h, w) and x[name].dtype == np.float32, name
        assert 0.0 <= x[name].min() and x[name].max() <= 1.0 and x[name].max() > 0.2, name


# --- accuracy against the synthetic ground truth -------------------------------------------------


def test_flow3_agrees_with_ground_truth(
    root: Path, clips: tuple[Clip, ...], landmarks: dict[str, np.ndarray]
) -> None:
    """The ground truth (frame pixels, onset -> apex) mapped like the feature: warped into LAENet's
    128 x 128 crop, its vectors multiplied by the crop's linear part, eyes zeroed, INTER_AREA to 28.

    Bound: relative L2 error below 0.7 and a magnitude-weighted mean cosine above 0.9. Loose on
    purpose: the apex displacements are 0.25-2 px, TV-L1 with OpenCV's lambda = 0.15 shrinks such
    small motions (about 25 % here), and JPEG plus sensor noise perturb them; the accuracy of TV-L1
    itself is tested in tests/motion. The bound catches what this path can get wrong: a zero field
    scores 1.0, swapped u/v or a wrong sign above 1.1, a flipped crop above 0.8.
    """
    for c in clips:
        p = landmarks[c.key]
        est = build("flow3", ClipFrames(c), c, landmarks68=p)[..., :2]
        gt = np.load(root / "ground_truth" / c.subject / f"{c.clip_id}.npy")
        m = align.laenet_transform(p, (128, 128))
        g = cv2.warpAffine(gt, m, (128, 128), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        g = (g @ m[:, :2].T).astype(np.float32)
        g[regions.eye_mask(align.apply(m, p), g.shape)] = 0
        g = cv2.resize(g, (28, 28), interpolation=cv2.INTER_AREA)
        rel = np.linalg.norm(est - g) / np.linalg.norm(g)
        mag = np.linalg.norm(g, axis=2)
        cos = (est * g).sum(axis=2) / (np.linalg.norm(est, axis=2) * mag + 1e-12)
        weighted_cos = (cos * mag).sum() / mag.sum()
        assert rel < 0.7 and weighted_cos > 0.9, (c.key, rel, weighted_cos)


def test_flow3_eyes_are_zero(clips: tuple[Clip, ...], landmarks: dict[str, np.ndarray]) -> None:
    c = clips[1]
    p = landmarks[c.key]
    x = build("flow3", ClipFrames(c), c, landmarks68=p, spec=FAST)
    m = align.laenet_transform(p, (128, 128))
    eyes = regions.eye_mask(align.apply(m, p), (128, 128)).astype(np.float32)
    # Output cells whose whole 128 -> 28 footprint lies inside an eye average zeros only.
    inside = cv2.resize(eyes, (28, 28), interpolation=cv2.INTER_AREA) == 1.0
    assert inside.sum() >= 2
    assert (x[inside] == 0).all()
    assert (x[~inside] != 0).any()


# --- one feature path: a clip and a buffer of the same frames ------------------------------------


def test_clip_and_buffer_give_identical_inputs(clips: tuple[Clip, ...]) -> None:
    """The issue's test: from the files (ClipFrames, clip positions) and from a buffer holding the
    same decoded frames under live indices (DictFrames, SpotEvent), with landmarks detected on the
    onset frame both times, every kind is bit-identical."""
    c = clips[1]
    buffer, event = live_copy(c)
    for kind in features.KINDS:
        a = build(kind, ClipFrames(c), c, spec=FAST)
        b = build(kind, buffer, event, spec=FAST)
        if kind == "regions":
            assert a.keys() == b.keys()
            for name in a:
                np.testing.assert_array_equal(a[name], b[name], err_msg=f"{kind}/{name}")
        else:
            np.testing.assert_array_equal(a, b, err_msg=kind)


def test_live_event_without_offset(clips: tuple[Clip, ...], landmarks: dict[str, np.ndarray]) -> None:
    """At apex confirmation (offset None) the apex-based inputs build; onset..offset ones say why not."""
    c = clips[0]
    buffer, event = live_copy(c)
    early = dataclasses.replace(event, offset=None, offset_t=None)
    p = landmarks[c.key]
    np.testing.assert_array_equal(
        build("flow3", buffer, early, landmarks68=p, spec=FAST),
        build("flow3", buffer, event, landmarks68=p, spec=FAST),
    )
    assert c.apex - c.onset >= 10  # so CropNet's key frames end at the apex (eq. 2)
    np.testing.assert_array_equal(
        build("residual", buffer, early, landmarks68=p), build("residual", buffer, event, landmarks68=p)
    )
    with pytest.raises(InputError, match="no offset"):
        build("frames", buffer, early, landmarks68=p)
    short = dataclasses.replace(early, apex=early.onset + 3)
    with pytest.raises(InputError, match="no offset"):
        build("residual", buffer, short, landmarks68=p)


# --- the kind table ------------------------------------------------------------------------------


def test_the_kind_table() -> None:
    """One row per kind of the Kind type; when an input needs the offset; the item shape rule."""
    assert typing.get_args(features.Kind) == features.KINDS == tuple(features.FEATURE_KINDS)
    long, short = (SpotEvent(0, 5, 5 + rise, None, 0.0, 0.0, None, "micro", 1.0, (), 20) for rise in (10, 9))
    assert {k for k in features.KINDS if features.feature_kind(k).needs_offset(long)} == {"frames", "regions"}
    assert {k for k in features.KINDS if features.feature_kind(k).needs_offset(short)} == {
        "residual", "frames", "regions"
    }  # fmt: skip
    assert features.feature_kind("frames").item_shape((1, 140, 120), 64) == (64, 1, 140, 120)
    assert features.feature_kind("regions").item_shape((32, 1, 8, 8), 32) == (32, 1, 8, 8)
    with pytest.raises(InputError, match="clip_frames"):
        features.feature_kind("frames").item_shape((1, 140, 120), None)
    with pytest.raises(InputError, match="unknown feature kind 'optical'"):
        features.feature_kind("optical")


# --- errors --------------------------------------------------------------------------------------


def test_missing_frame_names_its_index(clips: tuple[Clip, ...], landmarks: dict[str, np.ndarray]) -> None:
    c = clips[1]
    buffer, event = live_copy(c)
    del buffer.frames[event.apex]
    with pytest.raises(InputError, match=f"frame {event.apex} "):
        build("flow3", buffer, event, landmarks68=landmarks[c.key])


def test_unreadable_clip_file_names_index_and_path(tmp_path: Path, clips: tuple[Clip, ...]) -> None:
    c = clips[1]
    gone = tmp_path / "img_missing.jpg"
    broken = dataclasses.replace(c, frames=(*c.frames[: c.apex], gone, *c.frames[c.apex + 1 :]))
    with pytest.raises(DatasetError, match=f"frame {c.apex} .*img_missing.jpg"):
        ClipFrames(broken).frame(c.apex)


def test_bad_arguments(clips: tuple[Clip, ...], landmarks: dict[str, np.ndarray]) -> None:
    c = clips[1]
    with pytest.raises(InputError, match="unknown feature kind"):
        build("optical", ClipFrames(c), c, landmarks68=landmarks[c.key])  # type: ignore[arg-type]
    with pytest.raises(InputError, match="unknown feature option"):
        build("flow3", ClipFrames(c), c, landmarks68=landmarks[c.key], sizes=3)
    with pytest.raises(InputError, match="residual"):
        FeatureSpec(residual="sum")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="needs an apex"):
        build("flow3", ClipFrames(c), dataclasses.replace(c, apex=None), landmarks68=landmarks[c.key])
    with pytest.raises(InputError, match="no face"):
        features.detect_landmarks(np.zeros((120, 100, 3), np.uint8))


# --- the disk cache ------------------------------------------------------------------------------


def test_cache_hit_skips_the_flow(
    tmp_path: Path, clips: tuple[Clip, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    c = clips[1]
    cache = FeatureCache(tmp_path)
    first = cache.get_or_build(c, "flow3", FAST)
    assert cache.path(c, "flow3", FAST).is_file() and cache.misses == 1

    def no_flow(*args: object, **kwargs: object) -> None:
        raise AssertionError("TV-L1 ran on a cache hit")

    monkeypatch.setattr(motion, "tvl1_flow_stats", no_flow)
    again = cache.get_or_build(c, "flow3", FAST)
    np.testing.assert_array_equal(first, again)
    assert again.dtype == np.float32 and cache.hits == 1
    # Options of other kinds do not touch this entry.
    assert cache.path(c, "flow3", dataclasses.replace(FAST, length=32)) == cache.path(c, "flow3", FAST)


def test_cache_keys_differ_by_options_and_span(tmp_path: Path, clips: tuple[Clip, ...]) -> None:
    c = clips[1]
    cache = FeatureCache(tmp_path)
    ars = cache.get_or_build(c, "residual", FeatureSpec(residual="ars"))
    rrs = cache.get_or_build(c, "residual", FeatureSpec(residual="rrs"))
    assert not np.array_equal(ars, rrs)
    stored = sorted(tmp_path.rglob("*.npy"))
    assert len(stored) == 2 and cache.misses == 2
    assert f"rtmer-{__version__}" in str(stored[0])
    moved = dataclasses.replace(c, apex=c.apex - 1)  # e.g. another apex convention for SMIC
    assert cache.path(moved, "residual", FeatureSpec()) != cache.path(c, "residual", FeatureSpec())


def test_cache_stores_region_dicts(tmp_path: Path, clips: tuple[Clip, ...]) -> None:
    c = clips[1]
    cache = FeatureCache(tmp_path)
    spec = FeatureSpec(length=8)
    built = cache.get_or_build(c, "regions", spec)
    read = cache.get_or_build(c, "regions", spec)
    assert cache.path(c, "regions", spec).suffix == ".npz" and cache.hits == 1
    assert built.keys() == read.keys()
    for name in built:
        np.testing.assert_array_equal(built[name], read[name])


def test_interrupted_write_leaves_no_file(
    tmp_path: Path, clips: tuple[Clip, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    c = clips[1]
    cache = FeatureCache(tmp_path)
    spec = FeatureSpec(length=8)
    real_save = np.save

    def interrupted(file: object, arr: np.ndarray, **kwargs: object) -> None:
        file.write(b"\x93NUMPY half a header")  # type: ignore[attr-defined]
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        cache.get_or_build(c, "frames", spec)
    final = cache.path(c, "frames", spec)
    assert not final.exists()
    assert not any(p.is_file() for p in tmp_path.rglob("*"))  # the temporary file is gone too
    monkeypatch.setattr(np, "save", real_save)
    cache.get_or_build(c, "frames", spec)
    assert final.is_file() and np.load(final).shape == (8, 140, 120)


# --- boundaries ----------------------------------------------------------------------------------


def test_runs_without_torch() -> None:
    """Import and a build (flow, strain, eye mask, resize) with torch made unimportable."""
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import numpy as np\n"
        "from rtmer import features\n"
        "from rtmer.types import SpotEvent\n"
        "rng = np.random.default_rng(0)\n"
        "a = (rng.random((64, 64)) * 255).astype(np.uint8)\n"
        "frames = features.DictFrames({0: a, 1: np.roll(a, 1, axis=1)})\n"
        "p = rng.uniform(12, 52, (68, 2)); p[36:42] = (22, 26); p[42:48] = (42, 26)\n"
        "p[36:42] += rng.normal(0, 1, (6, 2)); p[42:48] += rng.normal(0, 1, (6, 2))\n"
        "event = SpotEvent(0, 0, 1, 1, 0.0, 0.0, 0.0, 'micro', 0.0, (), 1)\n"
        "assert features.build('flow3', frames, event, landmarks68=p).shape == (28, 28, 3)\n"
        "assert 'torch' not in {m.split('.')[0] for m, v in sys.modules.items() if v is not None}\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, cwd=Path(__file__).parents[2])
