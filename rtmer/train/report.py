"""What a training or evaluation run measured, and everything needed to reproduce it: pooled scores
per data set and on the composite, confusion matrices (PNG), a manifest, as markdown and JSON.

Torch-free: ``rtmer eval RUN`` re-scores a run's stored predictions without torch.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from rtmer import __version__
from rtmer.data.protocols import Labelled
from rtmer.errors import InputError
from rtmer.train import metrics

COMPOSITE = "composite"
PACKAGES = (
    "numpy",
    "opencv-contrib-python",
    "torch",
    "scikit-learn",
    "onnxruntime",
    "mediapipe",
    "dlib-bin",
    "safetensors",
)


@dataclass(frozen=True)
class Scores:
    """Pooled scores of one data set (or the composite): clips, UF1, UAR, accuracy, confusion."""

    clips: int
    uf1: float
    uar: float
    accuracy: float
    confusion: tuple[tuple[int, ...], ...]  # row = true class


def score(labels: np.ndarray, predictions: np.ndarray, k: int) -> Scores:
    return Scores(
        clips=int(labels.size),
        uf1=metrics.uf1(labels, predictions, k),
        uar=metrics.uar(labels, predictions, k),
        accuracy=metrics.accuracy(labels, predictions, k),
        confusion=tuple(tuple(int(v) for v in row) for row in metrics.confusion(labels, predictions, k)),
    )


def scores_by_dataset(
    datasets: Sequence[str], labels: np.ndarray, predictions: np.ndarray, k: int
) -> dict[str, Scores]:
    """Scores per data set (clips' ``dataset``), then on all clips together ("composite")."""
    names = np.asarray(datasets, dtype=object)
    out = {str(d): score(labels[names == d], predictions[names == d], k) for d in sorted(set(datasets))}
    out[COMPOSITE] = score(labels, predictions, k)
    return out


def data_fingerprint(labelled: Labelled) -> str:
    """sha256 of the clip list: key, label and frame span of every clip, in order."""
    h = hashlib.sha256()
    for clip, label in zip(labelled.clips, labelled.labels, strict=True):
        h.update(
            f"{clip.key}\t{label}\t{clip.onset}\t{clip.apex}\t{clip.offset}\t{len(clip.frames)}\n".encode()
        )
    return h.hexdigest()


def _git_hash() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _gpu() -> str | None:
    try:
        import torch
    except ImportError:
        return None
    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def manifest(config: Mapping[str, Any], labelled: Labelled, started: float) -> dict[str, Any]:
    """How a run came about: rtmer version and git hash, the config, the data fingerprint and
    counts, package versions, hardware, start and end time."""
    return {
        "rtmer": __version__,
        "git": _git_hash(),
        "config": dict(config),
        "data": {
            "fingerprint": data_fingerprint(labelled),
            "protocol": labelled.protocol.name,
            "classes": list(labelled.classes),
            "clips": len(labelled),
            "subjects": len(labelled.subject_set()),
            "per_dataset": labelled.dataset_counts(),
        },
        "packages": _versions(),
        "hardware": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "gpu": _gpu(),
        },
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": round(time.time() - started, 1),
    }


def confusion_png(path: Path, confusion: Sequence[Sequence[int]], classes: Sequence[str], title: str) -> None:
    """A confusion matrix (rows: true class, columns: predicted) as a PNG, drawn with OpenCV."""
    m = np.asarray(confusion, dtype=np.int64)
    k = len(classes)
    cell, left, top = 90, 150, 70
    title_width = cv2.getTextSize(title, cv2.FONT_HERSHEY_SIMPLEX, 0.6, 1)[0][0] + 20
    img = np.full((top + k * cell + 40, max(left + k * cell + 20, title_width), 3), 255, np.uint8)
    rows = np.maximum(m.sum(axis=1, keepdims=True), 1)
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(img, title, (10, 25), font, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, "predicted ->", (left, 55), font, 0.45, (80, 80, 80), 1, cv2.LINE_AA)
    for i in range(k):
        cv2.putText(
            img, classes[i][:14], (8, top + i * cell + cell // 2 + 5), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA
        )
        cv2.putText(
            img,
            classes[i][:9],
            (left + i * cell + 6, top + k * cell + 25),
            font,
            0.4,
            (0, 0, 0),
            1,
            cv2.LINE_AA,
        )
        for j in range(k):
            share = m[i, j] / rows[i, 0]
            shade = int(255 - 200 * share)
            x0, y0 = left + j * cell, top + i * cell
            cv2.rectangle(img, (x0, y0), (x0 + cell - 2, y0 + cell - 2), (255, shade, shade), -1)
            colour = (255, 255, 255) if share > 0.6 else (0, 0, 0)
            cv2.putText(img, str(m[i, j]), (x0 + 10, y0 + cell // 2 + 6), font, 0.6, colour, 1, cv2.LINE_AA)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), img):
        raise InputError(f"cannot write {path}; check that the folder is writable")


def format_table(scores: Mapping[str, Scores]) -> str:
    """The scores as a markdown table, one row per data set then the composite."""
    lines = ["| data set | clips | UF1 | UAR | accuracy |", "|---|---|---|---|---|"]
    for name, s in scores.items():
        lines.append(f"| {name} | {s.clips} | {s.uf1:.4f} | {s.uar:.4f} | {s.accuracy:.4f} |")
    return "\n".join(lines)


def write_report(
    out: Path,
    title: str,
    scores: Mapping[str, Scores],
    classes: Sequence[str],
    run_manifest: Mapping[str, Any],
    notes: Sequence[str] = (),
) -> Path:
    """``report.json``, ``report.md`` and ``confusion_<set>.png`` in ``out``; returns report.md."""
    out.mkdir(parents=True, exist_ok=True)
    doc = {"title": title, "classes": list(classes), "scores": {k: asdict(v) for k, v in scores.items()}}
    doc["manifest"] = dict(run_manifest)
    doc["notes"] = list(notes)
    (out / "report.json").write_text(json.dumps(doc, indent=2, default=str) + "\n")
    md = [f"# {title}", "", format_table(scores), ""]
    md += [f"- {n}" for n in notes]
    md += ["", "Predictions of all folds pooled, then scored once per data set (MEGC protocol).", ""]
    for name, s in scores.items():
        png = f"confusion_{name}.png"
        confusion_png(out / png, s.confusion, classes, f"{title}: {name} (rows: true class)")
        md.append(f"![{name}]({png})")
    md += ["", "## Manifest", "", "```json", json.dumps(run_manifest, indent=2, default=str), "```", ""]
    (out / "report.md").write_text("\n".join(md))
    return out / "report.md"
