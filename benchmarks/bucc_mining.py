"""BUCC bitext mining: time and peak memory of ``xdist.train.metrics.bucc_candidates``.

    python benchmarks/bucc_mining.py [--sizes 5000 20000 40000] [--dim 1024] [--baseline-max 5000]

For each size ``n`` the script mines ``n`` source against ``n`` target random
``--dim``-dimensional float32 embeddings (half of the targets are noisy copies
of shuffled sources, so there is something to find) with XTREME's defaults
(ratio margin, k=4), each size in a fresh process, and prints

- the wall time of the call,
- the peak RSS of that process over the call and its RSS before it (the
  embeddings themselves: ``2 n dim`` float32),
- the size of the full float64 ``n x n`` similarity matrix, for scale.

Up to ``--baseline-max`` (default 5000) it also runs the full-matrix search
that ``bucc_candidates`` used before (float64 ``n x n`` matrix, stable argsort
of every row in both directions) on the same data, prints its time and peak,
and checks that both return the same set of pairs with scores within 1e-6
(the new search computes similarities in float32, as faiss does).

Nothing is downloaded; only numpy and pandas are needed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def embeddings(n: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.empty((n, dim), dtype=np.float32)
    y = np.empty((n, dim), dtype=np.float32)
    step = 4096
    for i in range(0, n, step):  # in chunks: no float64 copy of the whole set
        x[i : i + step] = rng.standard_normal((min(step, n - i), dim), dtype=np.float32)
        y[i : i + step] = rng.standard_normal((min(step, n - i), dim), dtype=np.float32)
    perm = rng.permutation(n)[: n // 2]
    for i in range(0, len(perm), step):
        rows = perm[i : i + step]
        noise = rng.standard_normal((len(rows), dim), dtype=np.float32)
        y[i : i + len(rows)] = x[rows] + np.float32(0.8) * noise
    return x, y


def full_matrix_mining(x: np.ndarray, y: np.ndarray, k: int = 4) -> list[tuple[int, int, float]]:
    """The search bucc_candidates did before (ratio margin, threshold 0), for comparison."""

    def unit(a):
        a = a.astype(np.float64)
        norm = np.linalg.norm(a, axis=1, keepdims=True)
        return a / np.where(norm == 0, 1.0, norm)

    x, y = unit(x), unit(y)
    sim = x @ y.T
    kx, ky = min(k, len(y)), min(k, len(x))
    x2y = np.argsort(-sim, axis=1, kind="stable")[:, :kx]
    y2x = np.argsort(-sim.T, axis=1, kind="stable")[:, :ky]
    x2y_sim = np.take_along_axis(sim, x2y, axis=1)
    y2x_sim = np.take_along_axis(sim.T, y2x, axis=1)
    x2y_mean, y2x_mean = x2y_sim.mean(axis=1), y2x_sim.mean(axis=1)
    fwd = x2y_sim / ((x2y_mean[:, None] + y2x_mean[x2y]) / 2)
    bwd = y2x_sim / ((y2x_mean[:, None] + x2y_mean[y2x]) / 2)
    src = np.r_[np.arange(len(x)), y2x[np.arange(len(y)), bwd.argmax(axis=1)]]
    trg = np.r_[x2y[np.arange(len(x)), fwd.argmax(axis=1)], np.arange(len(y))]
    scores = np.r_[fwd.max(axis=1), bwd.max(axis=1)]
    seen_s, seen_t, rows = set(), set(), []
    for i in np.argsort(-scores, kind="stable"):
        if src[i] not in seen_s and trg[i] not in seen_t:
            seen_s.add(src[i])
            seen_t.add(trg[i])
            if scores[i] > 0:
                rows.append((int(src[i]), int(trg[i]), float(scores[i])))
    return rows


def one(n: int, dim: int, what: str) -> dict:
    """Run one search in this process; return its numbers."""
    from xdist.train.metrics import bucc_candidates

    x, y = embeddings(n, dim)
    bucc_candidates(x[:64], y[:64])  # imports and BLAS start-up are not the search's
    before = rss_mb()
    t = time.perf_counter()
    if what == "xdist":
        got = bucc_candidates(x, y)
        pairs = [(int(s), int(t_), float(sc)) for s, t_, sc in got.itertuples(index=False)]
    else:
        pairs = full_matrix_mining(x, y)
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "rss_before_mb": before, "peak_rss_mb": peak_rss_mb(), "pairs": pairs}


def run_child(n: int, dim: int, what: str) -> dict:
    cmd = [sys.executable, __file__, "--one", str(n), "--dim", str(dim), "--what", what]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[5000, 20000])
    ap.add_argument("--dim", type=int, default=1024)
    ap.add_argument("--baseline-max", type=int, default=5000,
                    help="run the old full-matrix search up to this size (its memory is O(n^2))")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--what", default="xdist", choices=["xdist", "full"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.dim, args.what)))
        return 0

    print(f"cores: {os.cpu_count()}; numpy {np.__version__}; dim {args.dim}; "
          f"OPENBLAS/OMP threads: {os.environ.get('OPENBLAS_NUM_THREADS', os.environ.get('OMP_NUM_THREADS', 'default'))}")
    print(f"{'n per side':>10}  {'search':<11} {'seconds':>8}  {'peak RSS MB':>11}  {'RSS before':>10}  "
          f"{'full f64 matrix MB':>18}  pairs")
    failed = False
    for n in args.sizes:
        full_mb = n * n * 8 / 2**20
        new = run_child(n, args.dim, "xdist")
        print(f"{n:>10}  {'blockwise':<11} {new['seconds']:>8.2f}  {new['peak_rss_mb']:>11.0f}  "
              f"{new['rss_before_mb']:>10.0f}  {full_mb:>18.0f}  {len(new['pairs'])}", flush=True)
        if n <= args.baseline_max:
            old = run_child(n, args.dim, "full")
            same = {tuple(p[:2]) for p in new["pairs"]} == {tuple(p[:2]) for p in old["pairs"]} and np.allclose(
                sorted(p[2] for p in new["pairs"]), sorted(p[2] for p in old["pairs"]), rtol=1e-6
            )
            failed |= not same
            print(f"{n:>10}  {'full matrix':<11} {old['seconds']:>8.2f}  {old['peak_rss_mb']:>11.0f}  "
                  f"{old['rss_before_mb']:>10.0f}  {full_mb:>18.0f}  {len(old['pairs'])}  "
                  f"speed-up {old['seconds'] / new['seconds']:.1f}x; same pairs: {same}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
