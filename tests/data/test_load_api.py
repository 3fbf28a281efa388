"""``rtmer.data.load``, the mirror fixture's composition, and the helpers the loaders share."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from rtmer.data import DATASETS, LoadResult, Skipped, load
from rtmer.data.common import format_numbers, frame_number, natural_key, parse_aus, parse_frame, subject_id
from rtmer.data.protocols import apply
from rtmer.errors import DatasetError
from rtmer.types import Clip
from tests.data.fixtures import (
    CASME2_EMOTIONS,
    CKPLUS_EMOTIONS,
    MIRROR,
    SAMM_EMOTIONS,
    SMIC_EMOTIONS,
    MirrorRoots,
)

CKPLUS_NAMES = ("anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise")


def test_datasets_and_unknown_name(tmp_path: Path) -> None:
    assert DATASETS == ("casme2", "samm", "smic", "ckplus", "synthetic")
    with pytest.raises(DatasetError, match="unknown data set 'casme'; expected one of casme2, samm"):
        load("casme", tmp_path)


@pytest.mark.parametrize("dataset", ["casme2", "samm", "smic", "ckplus"])
def test_mirror_loads_with_the_real_counts(mirror: MirrorRoots, dataset: str) -> None:
    res = load(dataset, str(getattr(mirror, dataset)))  # a str root works as well as a Path
    assert isinstance(res, LoadResult) and res.root == getattr(mirror, dataset)
    expected = MIRROR[dataset]
    assert len(res.clips) == expected["clips"]
    assert len({c.subject for c in res.clips}) == expected["subjects"]
    emotions = Counter(c.emotion for c in res.clips)
    table = {
        "casme2": CASME2_EMOTIONS,
        "samm": {k.lower(): v for k, v in SAMM_EMOTIONS.items()},
        "smic": SMIC_EMOTIONS,
        "ckplus": dict(zip(CKPLUS_NAMES, CKPLUS_EMOTIONS.values(), strict=True)),
    }[dataset]
    assert emotions == table
    if dataset == "ckplus":
        assert len(res.skipped) == expected["sequences"] - expected["clips"]
        assert {s.reason for s in res.skipped} == {"unlabelled: no Emotion/ file (CK+ labels 327 of 593)"}
    else:
        assert res.skipped == ()
    for clip in res.clips:
        assert isinstance(clip, Clip) and clip.dataset == dataset
        assert list(clip.frame_numbers) == sorted(clip.frame_numbers)
        assert (
            0
            <= clip.onset
            <= (clip.offset if clip.apex is None else clip.apex)
            <= clip.offset
            < len(clip.frames)
        )
        assert all(p.is_file() for p in clip.frames)


def test_mirror_gives_the_megc2019_composite(mirror: MirrorRoots) -> None:
    clips = [c for name in ("smic", "casme2", "samm") for c in load(name, getattr(mirror, name)).clips]
    composite = apply("megc2019", clips)
    assert len(composite) == 442 and len(composite.subject_set()) == 68
    assert composite.class_counts() == {"negative": 250, "positive": 109, "surprise": 83}
    assert composite.dataset_subjects() == {"casme2": 24, "samm": 28, "smic": 16}
    per_set = {name: sum(counts.values()) for name, counts in composite.dataset_counts().items()}
    assert per_set == {name: MIRROR[name]["composite_clips"] for name in ("smic", "casme2", "samm")}


def test_records_are_frozen(tmp_path: Path) -> None:
    skipped = Skipped(tmp_path, "why")
    with pytest.raises(dataclasses.FrozenInstanceError):
        skipped.reason = "other"  # type: ignore[misc]
    result = LoadResult("smic", tmp_path, "v", (), (skipped,))
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.clips = ()  # type: ignore[misc]


def test_loaders_import_no_torch(mirror: MirrorRoots) -> None:
    roots = {name: str(root) for name, root in mirror._asdict().items()}
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from rtmer.data import load\n"
        f"for name, root in {roots!r}.items():\n"
        "    assert load(name, root).clips, name\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])


# --- shared helpers -------------------------------------------------------------------------------


def test_natural_order_and_frame_numbers() -> None:
    names = ["img10.jpg", "img2.jpg", "img1.jpg", "img100.jpg"]
    assert sorted(names, key=natural_key) == ["img1.jpg", "img2.jpg", "img10.jpg", "img100.jpg"]
    assert [frame_number(n) for n in ("img46.jpg", "reg_img46.jpg", "006_05562.jpg", "image000012.bmp")] == [
        46,
        46,
        5562,
        12,
    ]
    assert frame_number("S005_001_00000011.png") == 11 and frame_number("Thumbs.db") is None


@pytest.mark.parametrize(
    ("cell", "aus"),
    [
        ("4+L10", ("4", "L10")),
        ("R12", ("R12",)),
        ("4 + 7", ("4", "7")),
        ("AU4", ("4",)),
        ("AU 4+AU7", ("4", "7")),
        ("?", ()),
        ("", ()),
        (None, ()),
        (12, ("12",)),
        (12.0, ("12",)),
        ("R14A", ("R14",)),
        ("L14 or R14", ("L14", "R14")),
        ("1+2+(5)", ("1", "2", "5")),
        ("04+4", ("4",)),
    ],
)
def test_parse_aus(cell: object, aus: tuple[str, ...]) -> None:
    assert parse_aus(cell) == aus


def test_subject_ids() -> None:
    assert [subject_id(v, prefix="", width=3) for v in ("6", "06", "006", 6, 6.0)] == ["006"] * 5
    assert [subject_id(v, prefix="sub", width=2) for v in ("sub1", "sub01", "1", 1, "01")] == ["sub01"] * 5
    assert subject_id("s01", prefix="s", width=1) == "s1"
    with pytest.raises(ValueError, match="subject 'S1_2' is not a subject number"):
        subject_id("S1_2", prefix="s", width=1)


def test_frame_cells_and_number_lists() -> None:
    assert [parse_frame(v, "ApexFrame") for v in (46, 46.0, " 46 ", "/", "", None, -1, "-1", "?")] == [
        46,
        46,
        46,
        None,
        None,
        None,
        None,
        None,
        None,
    ]
    with pytest.raises(ValueError, match="ApexFrame '46.5' is not a frame number"):
        parse_frame(46.5, "ApexFrame")
    with pytest.raises(ValueError, match="OnsetFrame -3 is negative"):
        parse_frame(-3, "OnsetFrame")
    assert format_numbers([9, 4, 5, 6, 12, 13]) == "4-6, 9, 12-13"
    assert format_numbers(range(0, 40, 2), limit=3) == "0, 2, 4, ... (+17 more)"
