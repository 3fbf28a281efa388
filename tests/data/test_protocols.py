"""Protocols: class mappings, emotion spellings, drop reasons, and the MEGC2019 composite counts.

The counts are checked through the loaders on the ``mirror`` fixture (``mirror_counts``: the four
data sets with their real composition).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rtmer.data import LoadResult, load, protocols
from rtmer.data.protocols import PROTOCOLS, apply, get_protocol, normalize_emotion
from rtmer.errors import DatasetError, InputError
from rtmer.types import Clip
from tests.data.fixtures import MirrorRoots


def load_all(roots: MirrorRoots) -> dict[str, LoadResult]:
    """Every data set ``mirror_counts`` wrote, loaded."""
    return {name: load(name, getattr(roots, name)) for name in MirrorRoots._fields}


def composite_clips(results: dict[str, LoadResult]) -> list[Clip]:
    """The clips of the three MEGC2019 data sets, SMIC-HS, CASME II and SAMM."""
    return [c for name in ("smic", "casme2", "samm") for c in results[name].clips]


@pytest.fixture(scope="module")
def loaded(mirror: MirrorRoots) -> dict[str, LoadResult]:
    return load_all(mirror)


def clip(dataset: str, subject: str, clip_id: str, emotion: str) -> Clip:
    """A clip record with two placeholder frames (protocols never read frames)."""
    frames = (Path(f"/nonexistent/{clip_id}/0.jpg"), Path(f"/nonexistent/{clip_id}/1.jpg"))
    return Clip(dataset, subject, clip_id, frames, (0, 1), 200.0, 0, 1, 1, emotion)


def test_normalize_emotion_spellings() -> None:
    assert normalize_emotion("Happiness") == normalize_emotion(" happy ") == "happiness"
    assert normalize_emotion("Other") == normalize_emotion("others") == "others"
    assert normalize_emotion("Anger") == normalize_emotion("ANGRY") == "anger"
    assert normalize_emotion("Repression") == "repression"
    assert normalize_emotion("po") == "positive" and normalize_emotion("sur") == "surprise"
    assert normalize_emotion("3", "ckplus") == normalize_emotion("3.0000000e+00", "ckplus") == "disgust"
    assert normalize_emotion("0", "ckplus") == "neutral"
    assert normalize_emotion("3") == "3"  # numeric codes only mean something in CK+


def test_megc2019_composite_counts(loaded: dict[str, LoadResult]) -> None:
    clips = composite_clips(loaded)
    labelled = apply("megc2019", clips)
    assert len(labelled) == 442
    assert len(labelled.subject_set()) == 68
    assert labelled.class_counts() == {"negative": 250, "positive": 109, "surprise": 83}
    assert labelled.dataset_counts() == {
        "smic": {"negative": 70, "positive": 51, "surprise": 43},
        "casme2": {"negative": 88, "positive": 32, "surprise": 25},
        "samm": {"negative": 92, "positive": 26, "surprise": 15},
    }
    assert {d: sum(row.values()) for d, row in labelled.dataset_counts().items()} == {
        "smic": 164,
        "casme2": 145,
        "samm": 133,
    }
    assert labelled.dataset_subjects() == {"casme2": 24, "samm": 28, "smic": 16}
    dropped = labelled.dropped_counts()
    assert dropped["casme2 emotion 'others' is not used by megc2019"] == 99
    assert dropped["casme2 emotion 'fear' is not used by megc2019"] == 2
    assert dropped["casme2 emotion 'sadness' is not used by megc2019"] == 7
    assert dropped["samm emotion 'others' is not used by megc2019"] == 26
    assert sum(dropped.values()) == len(clips) - 442
    assert dropped["casme2/sub24/EP02_07 is not in the MEGC2019 composite list"] == 1
    excluded = {d.clip.key for d in labelled.dropped if "is not in the MEGC2019" in d.reason}
    assert excluded == {"casme2/sub04/EP12_01f", "casme2/sub24/EP02_07"}


def test_labelled_is_consistent(loaded: dict[str, LoadResult]) -> None:
    labelled = apply("megc2019", composite_clips(loaded))
    assert labelled.labels.dtype == np.int64 and not labelled.labels.flags.writeable
    assert labelled.subjects == tuple(c.subject_key for c in labelled.clips)
    for c, name in zip(labelled.clips, labelled.class_names, strict=True):
        assert PROTOCOLS["megc2019"].classify(c) == name
    sub = labelled.subset([5, 0, 3])
    assert sub.clips == (labelled.clips[5], labelled.clips[0], labelled.clips[3])
    assert list(sub.labels) == [labelled.labels[5], labelled.labels[0], labelled.labels[3]]


def test_casme2_five_classes(loaded: dict[str, LoadResult]) -> None:
    labelled = apply("casme2-5", loaded["casme2"].clips)
    assert labelled.class_counts() == {
        "others": 99,
        "disgust": 63,
        "happiness": 32,
        "repression": 27,
        "surprise": 25,
    }
    assert sorted({d.clip.emotion for d in labelled.dropped}) == ["fear", "sadness"]
    assert len(labelled.subject_set()) == 26


def test_aggregation_four_classes(loaded: dict[str, LoadResult]) -> None:
    labelled = apply("aggregation-4", composite_clips(loaded))
    assert labelled.classes == ("positive", "surprise", "negative", "others")
    assert labelled.dataset_counts() == {
        "smic": {"positive": 51, "surprise": 43, "negative": 70, "others": 0},
        # negative = disgust + fear + sadness; repression joins others
        "casme2": {"positive": 32, "surprise": 25, "negative": 63 + 2 + 7, "others": 99 + 27},
    }
    assert labelled.dropped_counts() == {"data set 'samm' is not part of aggregation-4": 159}


def test_ckplus_seven_classes(loaded: dict[str, LoadResult]) -> None:
    labelled = apply("ckplus-7", loaded["ckplus"].clips)
    assert labelled.class_counts() == {
        "anger": 45,
        "contempt": 18,
        "disgust": 59,
        "fear": 25,
        "happy": 69,
        "sadness": 28,
        "surprise": 83,
    }
    codes = [
        clip("ckplus", "S005", f"S005_00{i}", code) for i, code in enumerate(["0", "5.0000000e+00", "Happy"])
    ]
    direct = apply("ckplus-7", codes)
    assert direct.class_names == ("happy", "happy")
    assert [d.reason for d in direct.dropped] == ["ckplus emotion 'neutral' is not used by ckplus-7"]


def test_unknown_emotion_is_reported_not_guessed() -> None:
    labelled = apply(
        "megc2019", [clip("casme2", "sub01", "EP01", "hapiness"), clip("smic", "s1", "x", "joy")]
    )
    assert len(labelled) == 0
    reasons = [d.reason for d in labelled.dropped]
    assert reasons[0].startswith("unknown casme2 emotion 'hapiness' (known: disgust, fear")
    assert reasons[1].startswith("unknown smic emotion 'joy'")


def test_synthetic_clips() -> None:
    """Synthetic clips carry CASME II / SAMM emotion names (or a class name) and join every protocol."""
    emotions = ["happiness", "surprise", "disgust", "repression", "sadness", "fear", "anger"]
    emotions += ["contempt", "others", "Negative", "positive"]
    clips = [clip("synthetic", f"syn{i % 3}", f"c{i:02d}", e) for i, e in enumerate(emotions)]
    megc = apply("megc2019", clips)
    assert megc.class_counts() == {"negative": 7, "positive": 2, "surprise": 1}
    assert [d.clip.emotion for d in megc.dropped] == ["others"]
    assert apply("casme2-5", clips).class_counts() == {
        "others": 1,
        "disgust": 1,
        "happiness": 1,
        "repression": 1,
        "surprise": 1,
    }
    agg = apply("aggregation-4", clips)
    assert agg.class_counts() == {"positive": 2, "surprise": 1, "negative": 4, "others": 2}
    assert sorted(d.clip.emotion for d in agg.dropped) == ["anger", "contempt"]
    assert apply("ckplus-7", clips).class_counts()["happy"] == 1
    unknown = apply("megc2019", [clip("synthetic", "syn0", "x", "joy")])
    assert unknown.dropped[0].reason.startswith("unknown synthetic emotion 'joy'")


def test_duplicate_clip_is_an_error() -> None:
    c = clip("casme2", "sub01", "EP02_01f", "happiness")
    with pytest.raises(DatasetError, match="casme2/sub01/EP02_01f appears twice"):
        apply("megc2019", [c, c])


def test_same_subject_id_in_two_datasets_stays_two_subjects() -> None:
    labelled = apply(
        "megc2019", [clip("casme2", "01", "a", "happiness"), clip("samm", "01", "b", "Happiness")]
    )
    assert labelled.subjects == ("casme2/01", "samm/01")


def test_unknown_protocol() -> None:
    with pytest.raises(InputError, match="unknown protocol 'megc'.*megc2019"):
        get_protocol("megc")
    assert get_protocol(protocols.MEGC2019) is protocols.MEGC2019


def test_data_layer_runs_without_torch(mirror: MirrorRoots) -> None:
    """Loaders, protocols, splits, apex and ``rtmer data check`` run where torch cannot be imported."""
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from pathlib import Path\n"
        "from rtmer import cli\n"
        "from rtmer.data import load\n"
        "from rtmer.data.apex import with_apex\n"
        "from rtmer.data.protocols import apply\n"
        "from rtmer.data.splits import leave_one_subject_out, subject_kfold\n"
        "root = Path(sys.argv[1])\n"
        "clips = [c for name in ('smic', 'casme2', 'samm') for c in load(name, root / name).clips]\n"
        "labelled = apply('megc2019', [with_apex(c, 'middle') for c in clips])\n"
        "assert len(labelled) == 442 and len(list(leave_one_subject_out(labelled))) == 68\n"
        "assert len(list(subject_kfold(labelled, 5))) == 5\n"
        "assert cli.main(['data', 'check', '--data', f'smic={root / \"smic\"}', '--json']) == 0\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'torch' and sys.modules[m]]\n"
    )
    root = mirror.casme2.parent
    proc = subprocess.run(
        [sys.executable, "-c", code, str(root)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
