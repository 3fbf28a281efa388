"""rtmer's own synthetic clips, as ``rtmer synth clips --out DIR`` writes them.

The generator (:mod:`rtmer.synth`) writes CASME II's layout exactly, so this loader is the CASME
II loader (:mod:`rtmer.data.casme2`: the coding sheet ``*coding*.xlsx`` and
``<frames folder>/subXX/<clip>/imgN.jpg``) with three differences: the clips' data set is
"synthetic", their frame rate comes from the manifest, and the manifest must be there:
``rtmer_synthetic.json`` at the root, ``{"generator": ..., "version": ..., "seed": ..., "fps": ...}``.
Its absence means the folder is not rtmer's output (a real CASME II copy loads as "casme2").
"""

from __future__ import annotations

import json
from pathlib import Path

from rtmer.data import LoadResult
from rtmer.data.casme2 import read_casme2_layout
from rtmer.data.common import describe_dir, require_dir
from rtmer.errors import DatasetError

MANIFEST = "rtmer_synthetic.json"


def read_manifest(root: Path) -> tuple[dict[str, object], float]:
    """The manifest at ``root`` and its frame rate (a positive number)."""
    path = root / MANIFEST
    if not path.is_file():
        raise DatasetError(
            f"{root}: expected {MANIFEST} (written by `rtmer synth clips`); not found, found "
            f"{describe_dir(root)}; a real CASME II copy loads as data set 'casme2'"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path}: expected a JSON object; cannot read it ({exc})") from exc
    if not isinstance(manifest, dict):
        raise DatasetError(f"{path}: expected a JSON object; found {type(manifest).__name__}")
    fps = manifest.get("fps")
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not fps > 0:
        raise DatasetError(f"{path}: expected a positive number under 'fps'; found {fps!r}")
    return manifest, float(fps)


def load(
    root: Path,
    *,
    sheet: str | Path | None = None,
    frames_dir: str | Path | None = None,
    layout: str = "auto",
) -> LoadResult:
    """Load synthetic clips from ``root`` (the folder ``rtmer synth clips --out`` wrote)."""
    root = Path(root)
    require_dir(root, f"a folder of rtmer synthetic clips ({MANIFEST}, coding sheet, frames)")
    manifest, fps = read_manifest(root)
    clips, skipped, variant = read_casme2_layout(
        root,
        dataset="synthetic",
        fps=fps,
        sheet=None if sheet is None else Path(sheet),
        frames_dir=None if frames_dir is None else Path(frames_dir),
        layout=layout,
    )
    generator = manifest.get("generator", "rtmer.synth")
    version = f"{generator} {manifest.get('version', '?')} seed {manifest.get('seed', '?')} ({variant})"
    return LoadResult("synthetic", root, version, clips, skipped)
