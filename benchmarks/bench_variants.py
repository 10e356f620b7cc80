#!/usr/bin/env python
"""The fused pass alone, per instruction-set variant: ms per call of the kernel.

Run (gaussmix installed, or a checkout with the extension built in place)::

    PYTHONPATH=src:. python benchmarks/bench_variants.py
    PYTHONPATH=src:. python benchmarks/bench_variants.py --threads 2 --configs n2e5_d16_k10_full

For each configuration ``n<samples>_d<features>_k<components>_<layout>[_f32]`` (layout
full, tied or diag) it builds overlapping data (unit-variance clusters whose centres are
about 2 apart, so every responsibility is non-zero) and random parameters, then times
``gaussmix._kernel.accumulate_stats_raw`` -- log-densities, responsibilities and
statistics, nothing else -- under every variant this CPU runs (``baseline``,
``x86-64-v3``, ``x86-64-v4``), interleaved round by round.  One thread: CPU time of
the calling thread (``time.thread_time``, insensitive to other jobs); more threads:
wall time.  The table shows the minimum and the median over ``--repeats`` calls.
"""

import argparse
import re
import time

import numpy as np

from gaussmix import _kernel, show_versions

DEFAULT = ("n1e6_d2_k5_full", "n1e6_d2_k5_full_f32", "n2e5_d16_k10_full",
           "n2e5_d16_k10_full_f32", "n2e5_d16_k10_diag", "n2e5_d16_k10_tied",
           "n1e5_d64_k16_full")


def make_problem(n, d, k, layout, dtype, seed=0):
    """Overlapping data and the kernel's inputs for one layout (see gmmcore's contract)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=2.0 / np.sqrt(d), size=(k, d))
    X = centres[rng.integers(0, k, size=n)] + rng.normal(size=(n, d))
    log_norm = np.full(k, -np.log(k))

    def upper():
        return np.triu(rng.normal(scale=0.1, size=(d, d)), 1) + np.diag(rng.uniform(0.8, 1.2, d))

    offsets = None
    if layout == "diag":
        factors, anchors = rng.uniform(0.8, 1.2, size=(k, d)), centres
    elif layout == "full":
        factors, anchors = np.stack([upper() for _ in range(k)]).reshape(k, d * d), centres
    else:
        u = upper()
        factors, anchors = u.reshape(1, d * d), centres.mean(axis=0, keepdims=True)
        offsets = (centres - anchors) @ u
    cast = lambda a: None if a is None else np.ascontiguousarray(a, dtype=dtype)  # noqa: E731
    return (cast(X), cast(centres), cast(anchors), cast(offsets), cast(factors), log_norm,
            layout == "diag", 1 if layout == "tied" else k)


def time_config(name, threads, repeats, variants):
    m = re.match(r"^n([0-9.e+]+)_d(\d+)_k(\d+)_(full|tied|diag)(_f32)?$", name)
    if m is None:
        raise SystemExit(f"bad config {name!r}")
    n, d, k = int(float(m.group(1))), int(m.group(2)), int(m.group(3))
    dtype = np.float32 if m.group(5) else np.float64
    X, means, anchors, offsets, factors, log_norm, diagonal, rows = make_problem(
        n, d, k, m.group(4), dtype)
    nk, s1 = np.empty(k), np.empty((k, d))
    s2 = np.empty((rows, d if diagonal else d * d))
    clock = time.thread_time if threads == 1 else time.perf_counter
    times = {v: [] for v in variants}
    previous = _kernel.kernel_variant()
    try:
        for _ in range(repeats):
            for v in variants:
                _kernel.use_variant(v)
                t = clock()
                _kernel.accumulate_stats_raw(X, None, means, anchors, offsets, factors,
                                             log_norm, diagonal, nk, s1, s2, threads)
                times[v].append(clock() - t)
    finally:
        _kernel.use_variant(previous)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default=",".join(DEFAULT))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    variants = _kernel.supported_variants()
    show_versions()
    print(f"\nthreads {args.threads} ({'CPU' if args.threads == 1 else 'wall'} time), "
          f"{args.repeats} calls per variant, ms per pass: min (median)\n")
    print("| config | " + " | ".join(variants) + " |")
    print("|---" * (len(variants) + 1) + "|")
    for name in args.configs.split(","):
        times = time_config(name, args.threads, args.repeats, variants)
        cells = [f"{1e3 * min(t):.1f} ({1e3 * np.median(t):.1f})" for t in times.values()]
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
