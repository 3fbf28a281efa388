"""Subject-independent splits: leave-one-subject-out, k-fold by subject, and a validation hold-out.

Every splitter works on subject keys, one per clip (``Labelled.subjects``, i.e. ``Clip.subject_key``:
"casme2/sub01" and "samm/001" are different subjects), and yields ``(train_indices, test_indices,
fold_name)`` with sorted int64 index arrays; the two sides of a fold cover every clip once. Each fold
is checked before it is yielded: no subject and no clip index may be on both sides. A failed check
raises AssertionError (an explicit raise, so it also holds under ``python -O``).

Pass subject keys, not a data set's own subject ids: "01" from two data sets would be merged into
one subject, which never leaks but makes folds coarser.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from rtmer.data.protocols import Labelled
from rtmer.errors import InputError

Fold = tuple[np.ndarray, np.ndarray, str]


def _subject_array(data: Labelled | Sequence[str]) -> np.ndarray:
    subjects = data.subjects if isinstance(data, Labelled) else data
    if isinstance(subjects, str):
        raise InputError("pass one subject key per clip (a sequence of strings), not a single string")
    arr = np.asarray([str(s) for s in subjects], dtype=object)
    if arr.size == 0:
        raise InputError("no clips to split")
    return arr


def check_fold(train: np.ndarray, test: np.ndarray, subjects: Sequence[str] | np.ndarray) -> None:
    """Raise AssertionError unless ``train`` and ``test`` share no clip and no subject.

    Also checks that the indices are in range and distinct, and that the two sides are not empty.
    """
    n = len(subjects)
    for side, idx in (("train", train), ("test", test)):
        if idx.size == 0:
            raise AssertionError(f"{side} side of the fold is empty")
        if idx.min() < 0 or idx.max() >= n:
            raise AssertionError(f"{side} index out of range 0..{n - 1}")
        if np.unique(idx).size != idx.size:
            raise AssertionError(f"{side} side lists a clip twice")
    if np.intersect1d(train, test).size:
        raise AssertionError("a clip is on both sides of the fold")
    shared = {subjects[i] for i in train} & {subjects[i] for i in test}
    if shared:
        raise AssertionError(f"subject(s) on both sides of the fold: {', '.join(sorted(shared))}")


def _fold(subjects: np.ndarray, test_subjects: set[str], name: str) -> Fold:
    in_test = np.fromiter((s in test_subjects for s in subjects), dtype=bool, count=subjects.size)
    train, test = np.flatnonzero(~in_test), np.flatnonzero(in_test)
    check_fold(train, test, subjects)
    return train, test, name


def leave_one_subject_out(data: Labelled | Sequence[str]) -> Iterator[Fold]:
    """One fold per subject (in sorted subject order): that subject's clips are the test side.

    The fold name is the subject key. Needs at least two subjects.
    """
    subjects = _subject_array(data)
    unique = sorted(set(subjects))
    if len(unique) < 2:
        raise InputError(f"leave-one-subject-out needs at least two subjects, got {len(unique)}")
    for subject in unique:
        yield _fold(subjects, {subject}, subject)


def subject_groups(data: Labelled | Sequence[str], k: int, seed: int = 0) -> list[list[str]]:
    """Subjects dealt into ``k`` groups with clip counts as even as possible.

    Subjects are shuffled with ``seed``, then, largest first (stable, so the shuffle breaks ties),
    each goes to the group with the fewest clips so far (lowest index on a tie): deterministic for a
    given seed, and group sizes differ by at most the largest subject's clip count.
    """
    subjects = _subject_array(data)
    if int(k) != k or k < 2:
        raise InputError(f"k must be an integer >= 2, got {k}")
    names, counts = np.unique(subjects.astype(str), return_counts=True)
    if names.size < k:
        raise InputError(f"cannot split {names.size} subject(s) into {k} folds; use k <= {names.size}")
    order = np.random.default_rng(seed).permutation(names.size)
    order = order[np.argsort(-counts[order], kind="stable")]
    groups: list[list[str]] = [[] for _ in range(int(k))]
    sizes = np.zeros(int(k), dtype=np.int64)
    for i in order:
        g = int(np.argmin(sizes))
        groups[g].append(str(names[i]))
        sizes[g] += counts[i]
    return [sorted(g) for g in groups]


def subject_kfold(data: Labelled | Sequence[str], k: int = 5, seed: int = 0) -> Iterator[Fold]:
    """k folds whose test sides are the groups of :func:`subject_groups`; names "fold1of5" ..."""
    subjects = _subject_array(data)
    for i, group in enumerate(subject_groups(subjects.tolist(), k, seed), 1):
        yield _fold(subjects, set(group), f"fold{i}of{k}")


def validation_split(
    train_indices: Sequence[int] | np.ndarray,
    subjects: Labelled | Sequence[str],
    fraction: float = 0.2,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Hold out whole training subjects for validation: (fit_indices, validation_indices).

    Subjects of ``train_indices`` are taken in a seeded random order until the held-out clips reach
    ``fraction`` of the training clips (at least one subject, and at least one subject left to fit
    on), so choosing epochs on the validation side never touches the test subject.
    """
    subs = _subject_array(subjects)
    train = np.asarray(train_indices, dtype=np.int64)
    if not 0 < fraction < 1:
        raise InputError(f"fraction must be in (0, 1), got {fraction}")
    if train.size == 0:
        raise InputError("no training clips to split")
    if train.min() < 0 or train.max() >= subs.size:
        raise InputError(f"training indices must be in 0..{subs.size - 1}")
    names, counts = np.unique(subs[train].astype(str), return_counts=True)
    if names.size < 2:
        raise InputError(f"a validation split needs at least two training subjects, got {names.size}")
    held: set[str] = set()
    total = 0
    for i in np.random.default_rng(seed).permutation(names.size)[:-1]:  # always leave one to fit on
        held.add(str(names[i]))
        total += counts[i]
        if total >= fraction * train.size:
            break
    in_val = np.fromiter((s in held for s in subs[train]), dtype=bool, count=train.size)
    fit, val = np.sort(train[~in_val]), np.sort(train[in_val])
    check_fold(fit, val, subs)
    return fit, val
