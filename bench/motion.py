"""Motion kernels against their references: TV-L1 optical flow and residual sums.

Flow, at 128x128, 170x140, 256x256 and 640x480 (W x H), on one thread and on all threads:
rtmer TV-L1 cold (OpenCV-default settings), rtmer incremental (warm-started, per frame: the whole
IncrementalMotion.push and the bare warm solver), OpenCV DualTVL1 (same settings), scikit-image
optical_flow_tvl1 (numpy, one thread) and OpenCV DIS (preset MEDIUM, a speed reference). Median ms,
speed ratio to OpenCV DualTVL1 and end-point error against the true flow, side by side:
- "EPE face": scikit-image's astronaut face resized to W x H, warped by a smooth 1 px field;
- "EPE grove3": Middlebury Grove3 (640x480 only; fetched by rtmer.refdata on first use);
- incremental rows: a 20-frame sequence whose field amplitude ramps 0 -> 1.5 px -> 0; ms and EPE
  over the warm frames (2..19), EPE ratio to the cold full-schedule solve of the same frames.
Residual sums at 640x480x3 uint8: ARS over K = 6 key frames (rtmer native, numpy twin) and the
per-frame updates (residual_accumulate, absdiff), each next to np.copyto of the same byte count.

Targets are printed with PASS/MISS computed from the figures, never asserted.
The last line is one JSON object. Reproduce (repo checkout with the extension built in place):

    PYTHONPATH=. OPENBLAS_NUM_THREADS=1 python bench/motion.py [--quick] [--sizes 128x128,640x480]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

import rtmer
from rtmer import _native, refdata
from rtmer.errors import RtmerError
from rtmer.motion import absolute_residual_sum, reference, set_num_threads, tvl1_flow_stats
from rtmer.motion.engine import WARM, IncrementalMotion

SIZES = ("128x128", "170x140", "256x256", "640x480")  # W x H
SEQ_FRAMES, SEQ_PEAK_PX, K_KEY = 20, 1.5, 6
TARGET_SPEEDUP, TARGET_EPE_RATIO = 30.0, 1.0  # cold vs OpenCV DualTVL1, one thread
TARGET_WARM_MS, TARGET_WARM_EPE = 1.5, 1.10  # incremental at 128x128, one thread, vs cold EPE
TARGET_MEMCPY, TARGET_UPDATE_MS = 2.0, 0.05  # residual sum time / memcpy time; per-frame update


@dataclass
class Timing:
    median_ms: float
    p90_ms: float
    reps: int


@dataclass
class Row:
    size: str
    method: str
    threads: str
    t: Timing
    speedup: float | None = None  # OpenCV DualTVL1 ms (same threads) / this row's ms
    epe: float | None = None
    epe_ratio: float | None = None
    epe_grove3: float | None = None
    target: str = ""

    def cells(self) -> list[str]:
        t = self.t
        nums = [(self.speedup, ".1f"), (self.epe, ".4f"), (self.epe_ratio, ".3f"), (self.epe_grove3, ".4f")]
        head = [self.size, self.method, self.threads, f"{t.median_ms:.2f}", f"{t.p90_ms:.2f}", str(t.reps)]
        return head + [fmt(v, spec) for v, spec in nums] + [self.target]


FLOW_COLUMNS = "size|method|thr|median ms|p90 ms|n|xOpenCV|EPE face|EPE ratio|EPE grove3|target".split("|")
RESIDUAL_COLUMNS = "op|thr|MB|median ms|p90 ms|n|GB/s|memcpy ms|memcpy GB/s|ratio|target".split("|")


def fmt(v: float | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def timing_of(samples: list[float]) -> Timing:
    s = np.asarray(samples) * 1e3
    return Timing(float(np.median(s)), float(np.percentile(s, 90)), len(s))


def measure(fn: Callable[[], Any], budget_s: float, max_reps: int = 30) -> tuple[Timing, Any]:
    """One warm-up call, then enough calls for ~budget_s (at least 3, at most max_reps)."""
    t0 = time.perf_counter()
    out = fn()
    first = time.perf_counter() - t0
    reps = min(max_reps, max(3, math.ceil(budget_s / max(first, 1e-7))))
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        samples.append(time.perf_counter() - t0)
    return timing_of(samples), out


def set_threads(n: int) -> None:
    cv2.setNumThreads(n)
    set_num_threads(n)


def verdict(ok: bool | None, label: str) -> str:
    return f"{label}: " + ("n/a" if ok is None else "PASS" if ok else "MISS")


def face(w: int, h: int) -> np.ndarray:
    img = refdata.astronaut_face(max(h, w))
    return img if img.shape == (h, w) else cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)


def dis_flow(prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
    return cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM).calc(prev, nxt, None)


def rtmer_cold(prev: np.ndarray, nxt: np.ndarray) -> Any:
    return tvl1_flow_stats(prev, nxt, impl="native")


@dataclass
class Sequence:
    prev: np.ndarray
    frames: list[np.ndarray]  # frame 0 is prev (the reference)
    truths: list[np.ndarray]
    cold: list[Any]  # Tvl1Result of the cold full schedule, reference -> frames 1..


def sequence(prev: np.ndarray) -> Sequence:
    """The incremental test clip: the face warped by a field ramping 0 -> 1.5 px -> 0 (sin)."""
    h, w = prev.shape
    field = refdata.smooth_field(h, w, 1.0, 0)
    amps = SEQ_PEAK_PX * np.sin(np.pi * np.arange(SEQ_FRAMES) / (SEQ_FRAMES - 1))
    truths = [field * np.float32(a) for a in amps]
    frames = [prev] + [refdata.warp(prev, f, as_uint8=True) for f in truths[1:]]
    return Sequence(prev, frames, truths, [rtmer_cold(prev, f) for f in frames[1:]])


def incremental(seq: Sequence, passes: int) -> dict[str, Any]:
    """Warm frames (2..) of the clip: push and bare warm-solve ms, mean EPE warm and cold, work ratio."""
    h, w = seq.prev.shape
    engine = IncrementalMotion(seq.prev, impl="native", strain=True, residual=True)
    push_s: list[float] = []
    for _ in range(passes):
        engine.reset(seq.prev)
        states = []
        for i, f in enumerate(seq.frames[1:], start=1):
            t0 = time.perf_counter()
            states.append(engine.push(f))
            if i >= 2:
                push_s.append(time.perf_counter() - t0)
    # The same warm solves without strain, residual and Python-side checks.
    solver = _native._C.Tvl1Solver(h, w, WARM.native())
    solver.set_reference(seq.prev.astype(np.float32))
    grays = [f.astype(np.float32) for f in seq.frames]
    bare_s: list[float] = []
    for _ in range(passes):
        flow, out = seq.cold[0].flow.copy(), np.empty((h, w, 2), np.float32)
        for i in range(2, SEQ_FRAMES):
            t0 = time.perf_counter()
            solver.compute(grays[i], flow, out)
            bare_s.append(time.perf_counter() - t0)
            flow, out = out, flow
    warm, cold, truths = states[1:], seq.cold[1:], seq.truths[2:]
    epe_warm = np.mean([refdata.epe(s.flow, t) for s, t in zip(warm, truths, strict=True)])
    epe_cold = np.mean([refdata.epe(c.flow, t) for c, t in zip(cold, truths, strict=True)])
    work_ratio = np.mean([s.work for s in warm]) / np.mean([c.work for c in cold])
    return {
        "push": timing_of(push_s),
        "bare": timing_of(bare_s),
        "epe_warm": float(epe_warm),
        "epe_cold": float(epe_cold),
        "work_ratio": float(work_ratio),
        "warm_work": int(warm[0].work),
    }


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def grove3_epe(methods: dict[str, Callable[[np.ndarray, np.ndarray], Any]]) -> dict[str, float | None]:
    """EPE of each method on Middlebury Grove3 (None for all when it cannot be fetched)."""
    try:
        g = refdata.grove3()
    except RtmerError as exc:
        print(f"note: Grove3 unavailable ({exc})", file=sys.stderr)
        return dict.fromkeys(methods)
    flows = {k: fn(g.prev_gray, g.next_gray) for k, fn in methods.items()}
    return {k: refdata.epe(getattr(f, "flow", f), g.flow) for k, f in flows.items()}


def bench_size(size: str, modes: list[tuple[str, int]], quick: bool, out: dict[str, Any]) -> list[Row]:
    """Flow rows of one W x H size: cold, warm (push, bare), OpenCV DualTVL1, DIS, scikit-image."""
    w, h = (int(v) for v in size.split("x"))
    prev = face(w, h)
    truth = refdata.smooth_field(h, w, 1.0, 0)
    nxt = refdata.warp(prev, truth, as_uint8=True)
    slow_refs = not (quick and size == "640x480")  # OpenCV DualTVL1 and scikit-image take seconds there
    budget = 0.15 if quick else 0.5
    seq = sequence(prev)
    g3: dict[str, float | None] = {}
    if size == "640x480":
        methods = {"rtmer": rtmer_cold, "dis": dis_flow}
        if slow_refs:
            methods.update(opencv=reference.opencv_tvl1, skimage=reference.skimage_tvl1)
        set_threads(modes[-1][1])
        g3 = grove3_epe(methods)
        out["grove3"] = {f"epe_{k}": g3.get(k) for k in ("rtmer", "opencv", "skimage", "dis")}
    rows: list[Row] = []
    res: dict[str, Any] = out["sizes"].setdefault(size, {})
    inc_out: dict[str, Any] = out["incremental"].setdefault(size, {})
    for label, n in modes:
        set_threads(n)
        progress(f"{size} threads={label}")
        t_rt, r_rt = measure(lambda: rtmer_cold(prev, nxt), budget)
        t_cv, f_cv = measure(lambda: reference.opencv_tvl1(prev, nxt), budget) if slow_refs else (None, None)
        t_dis, f_dis = measure(lambda: dis_flow(prev, nxt), budget)
        inc = incremental(seq, passes=1 if quick else 3)
        e_rt, e_dis = refdata.epe(r_rt.flow, truth), refdata.epe(f_dis, truth)
        e_cv = None if f_cv is None else refdata.epe(f_cv, truth)
        cv_ms = t_cv.median_ms if t_cv else None
        sp, er = ratio(cv_ms, t_rt.median_ms), ratio(e_rt, e_cv)
        tgt = ""
        if label == "1":
            ok = None if sp is None or er is None else (sp >= TARGET_SPEEDUP and er <= TARGET_EPE_RATIO)
            tgt = verdict(ok, f">={TARGET_SPEEDUP:.0f}x, EPE<={TARGET_EPE_RATIO:.1f}x")
        rows.append(Row(size, "rtmer TV-L1 cold", label, t_rt, sp, e_rt, er, g3.get("rtmer"), tgt))
        warm_er = inc["epe_warm"] / inc["epe_cold"]
        for key in ("push", "bare"):
            tgt = ""
            if label == "1" and size == "128x128":
                ok = inc[key].median_ms <= TARGET_WARM_MS and warm_er <= TARGET_WARM_EPE
                tgt = verdict(ok, f"<={TARGET_WARM_MS}ms, EPE<={TARGET_WARM_EPE:.1f}x cold")
            t_w, e_w = inc[key], inc["epe_warm"]
            sp_w = ratio(cv_ms, t_w.median_ms)
            rows.append(Row(size, f"rtmer warm {key}", label, t_w, sp_w, e_w, warm_er, None, tgt))
        if t_cv is not None:
            rows.append(Row(size, "OpenCV DualTVL1", label, t_cv, 1.0, e_cv, 1.0, g3.get("opencv")))
        sp_dis, er_dis = ratio(cv_ms, t_dis.median_ms), ratio(e_dis, e_cv)
        rows.append(Row(size, "OpenCV DIS medium", label, t_dis, sp_dis, e_dis, er_dis, g3.get("dis")))
        if label == modes[0][0] and slow_refs:  # numpy: one thread whatever cv2/rtmer are set to
            t_sk, f_sk = measure(lambda: reference.skimage_tvl1(prev, nxt), budget)
            e_sk = refdata.epe(f_sk, truth)
            sp_sk, er_sk = ratio(cv_ms if label == "1" else None, t_sk.median_ms), ratio(e_sk, e_cv)
            rows.append(Row(size, "scikit-image TV-L1", "1", t_sk, sp_sk, e_sk, er_sk, g3.get("skimage")))
            res.update(skimage_ms=t_sk.median_ms, epe_skimage=e_sk)
        sfx = "1t" if label == "1" else "all"
        for k, v in (("rtmer_cold_ms", t_rt.median_ms), ("opencv_ms", cv_ms), ("speedup", sp)):
            res[f"{k}_{sfx}"] = v
        res[f"dis_ms_{sfx}"] = t_dis.median_ms
        res.update(epe_rtmer=e_rt, epe_opencv=e_cv, epe_ratio=er, epe_dis=e_dis)
        res.update(cold_iterations=r_rt.iterations, cold_work=r_rt.work)
        isfx = "" if label == "1" else "_all"
        inc_out[f"warm_ms{isfx}"] = inc["push"].median_ms
        inc_out[f"warm_bare_ms{isfx}"] = inc["bare"].median_ms
        inc_out.update({k: inc[k] for k in ("epe_warm", "epe_cold", "work_ratio", "warm_work")})
    return rows


def bench_residual(modes: list[tuple[str, int]], quick: bool, out: dict[str, Any]) -> list[list[str]]:
    """ARS over K key frames and the per-frame updates at 640x480x3, each against memcpy of its bytes."""
    h, w = 480, 640
    fb = h * w * 3  # one frame's bytes
    rng = np.random.default_rng(0)
    ref = rng.integers(0, 256, (h, w, 3), np.uint8)
    keys = rng.integers(0, 256, (K_KEY, h, w, 3), np.uint8)
    acc = np.zeros((h, w, 3), np.uint16)
    budget = 0.15 if quick else 0.5
    memcpy_ms: dict[int, float] = {}

    def memcpy(nbytes: int) -> float:
        if nbytes not in memcpy_ms:
            src, dst = np.ones(nbytes, np.uint8), np.empty(nbytes, np.uint8)
            memcpy_ms[nbytes] = measure(lambda: np.copyto(dst, src), budget)[0].median_ms
        return memcpy_ms[nbytes]

    # (name, json key, bytes read + written, call, threaded): ARS reads K keys + the reference and
    # writes a uint8 image; accumulate reads frame + reference + uint16 acc and writes acc.
    kb, nc = (K_KEY + 2) * fb, _native._C
    ops: list[tuple[str, str, int, Callable[[], Any], bool]] = [
        (f"ARS rtmer (K={K_KEY})", "ars", kb, lambda: absolute_residual_sum(keys, ref, impl="native"), True),
        (f"ARS numpy (K={K_KEY})", "numpy", kb, lambda: reference.absolute_residual_sum(keys, ref), False),
        ("residual_accumulate", "update", 6 * fb, lambda: nc.residual_accumulate(keys[0], ref, acc), True),
        ("absdiff", "absdiff", 3 * fb, lambda: nc.absdiff(keys[0], ref), True),
    ]
    table: list[list[str]] = []
    r = out["residual"]
    r["bytes_ars"] = kb
    for label, n in modes:
        set_threads(n)
        progress(f"residuals threads={label}")
        for name, key, nbytes, fn, threaded in ops:
            if not threaded and label != modes[0][0]:
                continue
            t, _ = measure(fn, budget)
            mc = memcpy(nbytes)
            gbps, mc_gbps, rel = nbytes / t.median_ms / 1e6, nbytes / mc / 1e6, t.median_ms / mc
            tgt = ""
            if key == "ars":
                tgt = verdict(rel <= TARGET_MEMCPY, f"<={TARGET_MEMCPY:.0f}x memcpy")
            elif threaded:
                tgt = verdict(t.median_ms <= TARGET_UPDATE_MS, f"<={TARGET_UPDATE_MS}ms")
            nums = [
                f"{nbytes / 1e6:.2f}",
                f"{t.median_ms:.3f}",
                f"{t.p90_ms:.3f}",
                str(t.reps),
                f"{gbps:.1f}",
            ]
            table.append(
                [name, label if threaded else "1", *nums, f"{mc:.3f}", f"{mc_gbps:.1f}", f"{rel:.2f}", tgt]
            )
            sfx = "" if label == "1" else "_all"
            if key == "ars":
                r.update({f"gbps{sfx}": gbps, f"memcpy_gbps{sfx}": mc_gbps, f"ratio_to_memcpy{sfx}": rel})
            elif key == "numpy":
                r.update(numpy_gbps=gbps, numpy_ms=t.median_ms)
            else:
                r[f"{key}_ms{sfx}"] = t.median_ms
    return table


def print_table(header: tuple[str, ...], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    line = "  ".join(h.ljust(wd) for h, wd in zip(header, widths, strict=True))
    print(line + "\n" + "-" * len(line))
    for r in rows:
        print("  ".join(c.ljust(wd) for c, wd in zip(r, widths, strict=True)).rstrip())


def progress(msg: str) -> None:
    print(f"[bench/motion] {msg} ...", file=sys.stderr, flush=True)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return str(_native.build_info().get("cpu", "?"))


def report(out: dict[str, Any], flow_rows: list[Row], res_rows: list[list[str]]) -> None:
    m = out["machine"]
    print(
        f"machine: {m['cpu']}, {m['cores']} cores; rtmer {m['rtmer']} (_C simd={m['simd']}), "
        f"OpenCV {m['opencv']}, numpy {m['numpy']}" + (" [--quick]" if out["quick"] else "")
    )
    print("\nTV-L1 flow: median ms; xOpenCV = OpenCV DualTVL1 ms (same threads) / ms; EPE vs the true flow")
    print_table(FLOW_COLUMNS, [r.cells() for r in flow_rows])
    print(
        f"EPE ratio: to OpenCV DualTVL1's EPE; on warm rows, to the cold full-schedule EPE of the same\n"
        f"frames. warm rows: per frame over frames 2..{SEQ_FRAMES - 1} of a {SEQ_FRAMES}-frame clip (field 0 "
        f"-> {SEQ_PEAK_PX} px -> 0), EPE their mean;\npush = IncrementalMotion.push (flow + strain + "
        "residual), bare = Tvl1Solver.compute with the warm schedule alone."
    )
    for size, d in out["incremental"].items():
        print(
            f"  {size}: warm EPE {d['epe_warm']:.4f} vs cold {d['epe_cold']:.4f}; "
            f"work per warm frame {d['warm_work']:,} = {d['work_ratio']:.3f} of cold"
        )
    s = out["sizes"].get("128x128")
    if s:
        ms = s.get("rtmer_cold_ms_1t") or s["rtmer_cold_ms_all"]
        ns = ms * 1e6 / s["cold_work"]
        print(
            f"rtmer cold 128x128 cost counters: iterations={s['cold_iterations']:,}, "
            f"work={s['cold_work']:,} pixel-iterations, {ns:.2f} ns each"
        )
    print(
        f"\nResidual sums, 640x480x3 uint8: MB = bytes read + written by the op (ARS: {K_KEY} keys + "
        "reference in, uint8 out;\naccumulate: frame + reference + uint16 acc in, acc out; absdiff: 2 in, "
        "1 out); memcpy = np.copyto of that many bytes;\nratio = op ms / memcpy ms"
    )
    print_table(RESIDUAL_COLUMNS, res_rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=",".join(SIZES), help="comma-separated W x H sizes")
    ap.add_argument("--quick", action="store_true", help="fewer repeats; no OpenCV/scikit-image at 640x480")
    ap.add_argument("--threads", choices=("1", "all", "both"), default="both")
    ap.add_argument("--json-only", action="store_true", help="print only the JSON line")
    args = ap.parse_args(argv)
    if not _native.HAS_NATIVE:
        print("rtmer._C is not built: nothing native to measure", file=sys.stderr)
        return 2
    ncpu = os.cpu_count() or 1
    modes = [m for m in (("1", 1), ("all", ncpu)) if args.threads in (m[0], "both")]
    machine = dict(
        cpu=cpu_model(), cores=ncpu, simd=_native.build_info().get("simd"), rtmer=rtmer.__version__
    )
    machine.update(opencv=cv2.__version__, numpy=np.__version__)
    out: dict[str, Any] = dict(
        bench="motion", machine=machine, quick=args.quick, sizes={}, incremental={}, residual={}, grove3=None
    )
    flow_rows: list[Row] = []
    for size in args.sizes.split(","):
        flow_rows += bench_size(size.strip(), modes, args.quick, out)
    res_rows = bench_residual(modes, args.quick, out)
    set_threads(ncpu)
    if not args.json_only:
        report(out, flow_rows, res_rows)
    print(json.dumps(out, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
