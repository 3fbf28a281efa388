"""Inference latency per model and backend at batch 1, against each model's budget.

For each model: its shipped weights when there are some (rtmer/weights), else a seeded random
model exported to a temporary folder with ``rtmer.export.weights.save_weights`` (latency does not
depend on the weight values). Each backend is opened as ``rtmer live`` opens it
(``rtmer.backends.open_backend``), warmed up, then called on one fixed input until ``--seconds``
have passed (at least ``--min-calls`` calls); p50 / p99 / mean come from the backend's own latency
statistics (the call as the pipeline sees it, the aggregation network's clip SVM included).

Targets (the registry's budgets, per clip at batch 1): STSTNet and LAENet <= 0.05 ms, CropNet and
MJFN <= 10 ms with ONNX Runtime on CPU; every model <= 1 ms with TensorRT FP16 on an H100-class GPU.
The torch rows are the reference the JSON ratios are taken against (torch p50 / backend p50).

    PYTHONPATH=. python bench/inference.py [--threads 1] [--models ststnet laenet] [--backends onnx]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from rtmer.backends import item_shape, open_backend
from rtmer.models import registry
from rtmer.weights import WeightCard, shipped


def weights_for(model: str, folder: Path) -> tuple[WeightCard, str]:
    """The shipped card of ``model``, else a random one saved under ``folder``; and which it is."""
    for card in shipped():
        if card.model == model and "onnx" in card.files:
            return card, "shipped"
    import torch

    from rtmer.export.weights import save_weights

    spec = registry.get(model)
    torch.manual_seed(0)
    net = spec.build()
    svm = None
    if spec.input.frame_level:
        from rtmer.models.aggregation import ClipSVM

        rng = np.random.default_rng(0)
        svm = ClipSVM().fit(rng.normal(size=(12, 4, 64)), np.arange(12) % len(spec.classes))
    card = WeightCard(folder / f"{model}.json", model, model, spec.classes, spec.protocol, files={})
    return save_weights(net, card, svm=svm), "random"


def measure(card: WeightCard, backend: str, args: argparse.Namespace) -> dict[str, object]:
    spec = registry.get(card.model)
    x = np.random.default_rng(0).uniform(0.0, 1.0, (1, *item_shape(spec))).astype(np.float32)
    fp16 = backend == "tensorrt"
    with open_backend(card, backend, fp16=fp16, threads=None if backend == "tensorrt" else args.threads) as b:
        b.warm_up(args.warmup)
        end = time.perf_counter() + args.seconds
        calls = 0
        while calls < args.min_calls or (time.perf_counter() < end and calls < args.max_calls):
            b(x)
            calls += 1
        s = b.latency()
    return {
        "model": card.model,
        "backend": backend + ("-fp16" if fp16 else ""),
        "calls": s.n,
        "p50_ms": s.p50_ms,
        "p99_ms": s.p99_ms,
        "per_s": 1e3 / s.mean_ms,
        "budget_ms": s.budget_ms,
        "ratio": s.p50_ms / s.budget_ms,
        "breaches": s.breaches,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=list(registry.MODELS), choices=list(registry.MODELS))
    ap.add_argument(
        "--backends", nargs="+", default=None, help="default: torch and onnx, plus tensorrt where available"
    )
    ap.add_argument("--threads", type=int, default=None, help="CPU intra-op threads (default: the runtime's)")
    ap.add_argument("--seconds", type=float, default=2.0, help="time per model and backend")
    ap.add_argument("--min-calls", type=int, default=20)
    ap.add_argument("--max-calls", type=int, default=20000)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--json-only", action="store_true")
    args = ap.parse_args()
    if args.backends is None:
        from rtmer.backends.tensorrt import available

        args.backends = ["torch", "onnx"] + (["tensorrt"] if available() else [])

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models:
            card, origin = weights_for(model, Path(tmp))
            for backend in args.backends:
                rows.append({**measure(card, backend, args), "weights": origin})

    if not args.json_only:
        threads = "default" if args.threads is None else args.threads
        print(f"batch 1, threads {threads}, {platform.processor() or platform.machine()}")
        head = ("model", "backend", "p50 ms", "p99 ms", "per s", "budget ms", "p50/budget", "target")
        print("{:<12} {:<14} {:>9} {:>9} {:>9} {:>10} {:>11} {:>7}".format(*head))
        for r in rows:
            target = "-" if r["backend"] == "torch" else ("PASS" if r["ratio"] <= 1.0 else "MISS")
            print(
                f"{r['model']:<12} {r['backend']:<14} {r['p50_ms']:>9.4f} {r['p99_ms']:>9.4f} "
                f"{r['per_s']:>9.0f} {r['budget_ms']:>10g} {r['ratio']:>11.2f} {target:>7}"
            )
    reference = {r["model"]: r["p50_ms"] for r in rows if r["backend"] == "torch"}
    ratios = {
        f"{r['model']}/{r['backend']}": reference[r["model"]] / r["p50_ms"]
        for r in rows
        if r["backend"] != "torch" and r["model"] in reference
    }
    summary = {"bench": "inference", "threads": args.threads, "results": rows, "speedup_vs_torch": ratios}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
