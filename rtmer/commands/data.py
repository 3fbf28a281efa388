"""``rtmer data check``: load data sets and report what was found in them and what each protocol keeps."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from typing import Any

_EPILOG = """\
Give each data set as a --dataset NAME --root DIR pair (repeat the pair for more), or as
--data NAME=DIR[,NAME=DIR...]; both forms may be mixed. Examples:
  rtmer data check --dataset casme2 --root /data/CASME2
  rtmer data check --data smic=/data/SMIC,casme2=/data/CASME2,samm=/data/SAMM --json
Data sets are reported in that order (the pairs first). Protocol counts are printed for every
protocol that takes one of the given data sets (megc2019 is complete only with smic, casme2 and
samm together). The text report lists the first 20 skipped items of each data set; --json all.
"""


#: Skipped items listed per data set in the text report (--json lists them all).
MAX_SKIPPED_SHOWN = 20


def parse_sources(
    datasets: list[str] | None, roots: list[str] | None, data: list[str] | None
) -> list[tuple[str, str]]:
    """(data set, root) pairs: the --dataset/--root pairs in order, then the --data entries in order."""
    from rtmer.data import DATASETS
    from rtmer.errors import InputError

    datasets, roots = datasets or [], roots or []
    if len(datasets) != len(roots):
        raise InputError(
            f"got {len(datasets)} --dataset and {len(roots)} --root; give one --root after each --dataset"
        )
    pairs = list(zip(datasets, roots, strict=True))
    for spec in data or []:
        for item in filter(None, (part.strip() for part in spec.split(","))):
            name, sep, root = item.partition("=")
            if not sep or not name.strip() or not root.strip():
                raise InputError(f"--data expects NAME=DIR[,NAME=DIR...], got {item!r}")
            pairs.append((name.strip(), root.strip()))
    if not pairs:
        raise InputError("no data set given; use --dataset NAME --root DIR or --data NAME=DIR")
    names = [name for name, _ in pairs]
    for name in names:
        if name not in DATASETS:
            raise InputError(f"unknown data set {name!r}; choose from {', '.join(DATASETS)}")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(f"data set(s) given more than once: {', '.join(repeated)}; give each once")
    return pairs


def check(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Load every (data set, root) pair and collect the report as a JSON-serialisable dict."""
    from rtmer.data import load
    from rtmer.data.protocols import PROTOCOLS, apply

    results = [load(name, root) for name, root in pairs]
    report: dict[str, Any] = {"datasets": [], "protocols": []}
    for res in results:
        report["datasets"].append(
            {
                "dataset": res.dataset,
                "root": str(res.root),
                "version": res.version,
                "subjects": len({c.subject for c in res.clips}),
                "clips": len(res.clips),
                "emotions": dict(sorted(Counter(c.emotion for c in res.clips).items())),
                "skipped": [{"path": str(s.path), "reason": s.reason} for s in res.skipped],
            }
        )
    given = {res.dataset for res in results}
    clips = [c for res in results for c in res.clips]
    for proto in PROTOCOLS.values():
        used = [d for d in proto.datasets if d in given]
        if not used:
            continue
        labelled = apply(proto, [c for c in clips if c.dataset in used])
        subjects = labelled.dataset_subjects()
        report["protocols"].append(
            {
                "protocol": proto.name,
                "description": proto.description,
                "datasets": used,
                "missing": [d for d in proto.datasets if d not in given],
                "clips": len(labelled),
                "subjects": len(labelled.subject_set()),
                "classes": labelled.class_counts(),
                "per_dataset": {
                    d: {
                        "clips": sum(row.values()),
                        "subjects": subjects.get(d, 0),
                        "classes": row,
                    }
                    for d, row in labelled.dataset_counts().items()
                },
                "dropped": labelled.dropped_counts(),
            }
        )
    return report


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in counts.items()) or "-"


def format_report(report: dict[str, Any]) -> str:
    """The report as indented text."""
    lines: list[str] = []
    for ds in report["datasets"]:
        lines += [
            f"{ds['dataset']}  {ds['root']}",
            f"  version   {ds['version']}",
            f"  subjects  {ds['subjects']}",
            f"  clips     {ds['clips']}",
            f"  emotions  {_counts(ds['emotions'])}",
            f"  skipped   {len(ds['skipped'])}",
        ]
        lines += [f"    {s['path']}: {s['reason']}" for s in ds["skipped"][:MAX_SKIPPED_SHOWN]]
        if len(ds["skipped"]) > MAX_SKIPPED_SHOWN:
            lines.append(f"    ... and {len(ds['skipped']) - MAX_SKIPPED_SHOWN} more (--json lists all)")
    for p in report["protocols"]:
        partial = f"  (partial: no {', '.join(p['missing'])})" if p["missing"] else ""
        lines += [
            f"protocol {p['protocol']}: {p['clips']} clips, {p['subjects']} subjects{partial}",
            f"  classes   {_counts(p['classes'])}",
        ]
        for name, row in p["per_dataset"].items():
            lines.append(
                f"  {name:<9} {row['clips']} clips, {row['subjects']} subjects: {_counts(row['classes'])}"
            )
        lines += [f"  dropped   {n}: {reason}" for reason, n in p["dropped"].items()]
    return "\n".join(lines)


def run_check(args: argparse.Namespace) -> int:
    report = check(parse_sources(args.dataset, args.root, args.data))
    print(json.dumps(report) if args.json else format_report(report))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "data",
        help="check micro-expression data sets and protocol counts",
        description="Work with the data sets rtmer reads (CASME II, SAMM, SMIC-HS, CK+, synthetic).",
    )
    data_sub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    c = data_sub.add_parser(
        "check",
        help="load data sets and report subjects, clips, emotions, skipped items and protocol counts",
        description="Load data sets from their roots; print per data set the annotation version found,\n"
        "subjects, clips, emotions and skipped items with reasons, then the counts of each protocol.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    c.add_argument("--dataset", action="append", metavar="NAME", help="a data set name (repeatable)")
    c.add_argument("--root", action="append", metavar="DIR", help="the root of the preceding --dataset")
    c.add_argument(
        "--data", action="append", metavar="NAME=DIR[,NAME=DIR...]", help="data sets and roots in one option"
    )
    c.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    c.set_defaults(handler=run_check)
