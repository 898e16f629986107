"""Benchmark: xdist's BCa bootstrap interval versus scipy and pingouin.

    python benchmarks/bootstrap_ci.py [--repeats 10] [--skip-table]

Part 1 times one 95% BCa interval of a correlation over 40 languages with
10,000 resamples, on the same data, with

- xdist: ``bootstrap_correlation_ci`` (weighted statistics on a count matrix;
  the time includes drawing the resamples and the jackknife),
- scipy: ``scipy.stats.bootstrap(paired=True, vectorized=True, method="BCa")``
  with a hand-written vectorised statistic (the fastest way to use it),
- pingouin: ``pingouin.compute_bootci(method="bca")`` (which wraps scipy).

The contenders run interleaved (round robin), each call with a new seed (so
no call can reuse anything of the one before).  It prints the best-of-N wall
times, their medians and the best CPU times (after one warm-up call;
pingouin's Spearman, a Python loop over resamples, runs once), the ratios
(requirement, on the best wall times: scipy / xdist >= 1 and pingouin / xdist
>= 10) and the three intervals, checked to agree within Monte Carlo error: the
standard deviation of xdist's bounds over 20 seeds, times 4 sqrt(2) (two
independent draws; pingouin's bounds are rounded to 6 decimals).

Part 2 times ``correlation_table`` on 50 groups x 6 distance kinds x 3 methods
with 10,000 resamples and 9,999 permutations each (one group of 104 languages,
the others 7-40), the size of the CLI's default run.

Exit status 1 when a requirement or an agreement check fails.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import sys
import time
import warnings

import numpy as np
import pandas as pd
import scipy
from scipy import stats

import xdist
from xdist.stats import bootstrap_correlation_ci, correlation_table

N_UNITS = 40
N_BOOT = 10_000


def race(contenders: dict, repeats: dict) -> dict:
    """Time the contenders interleaved (round robin, after one untimed warm-up call each).

    Interleaving exposes all contenders to the same machine load.  Returns, per
    name, (best wall s, median wall s, best CPU s, last result); CPU time is
    process time (all threads), robust to other processes on a shared machine.
    """
    out = {name: fn() for name, fn in contenders.items() if repeats[name] > 1}
    wall = {name: [] for name in contenders}
    cpu = {name: [] for name in contenders}
    for r in range(max(repeats.values())):
        for name, fn in contenders.items():
            if r >= repeats[name]:
                continue
            t, c = time.perf_counter(), time.process_time()
            out[name] = fn()
            cpu[name].append(time.process_time() - c)
            wall[name].append(time.perf_counter() - t)
    return {n: (min(wall[n]), float(np.median(wall[n])), min(cpu[n]), out[n]) for n in contenders}


def pearson_axis(x, y, axis=-1):
    x = x - x.mean(axis=axis, keepdims=True)
    y = y - y.mean(axis=axis, keepdims=True)
    return (x * y).sum(axis=axis) / np.sqrt((x * x).sum(axis=axis) * (y * y).sum(axis=axis))


def spearman_axis(x, y, axis=-1):
    return pearson_axis(stats.rankdata(x, axis=axis), stats.rankdata(y, axis=axis), axis=axis)


def part1(repeats: int) -> bool:
    import pingouin as pg

    rng = np.random.default_rng(2024)
    x = rng.uniform(0.2, 0.8, N_UNITS)  # distance
    y = 25 * x + rng.normal(0, 4, N_UNITS)  # degradation
    ok = True
    for method, stat in (("pearson", pearson_axis), ("spearman", spearman_axis)):
        # a new seed for every call of every contender: nothing can be reused from the
        # previous call (the timed call draws its resamples and jackknife from scratch)
        seeds = {name: itertools.count(1000 * i) for i, name in enumerate(("x", "s", "p"))}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = race(
                {
                    "xdist": lambda: bootstrap_correlation_ci(
                        x, y, method=method, n_boot=N_BOOT, ci="bca", seed=next(seeds["x"])
                    ),
                    "scipy": lambda: stats.bootstrap(
                        (x, y), stat, paired=True, vectorized=True, method="BCa",
                        n_resamples=N_BOOT, rng=np.random.default_rng(next(seeds["s"])),
                    ),
                    "pingouin": lambda: pg.compute_bootci(
                        x, y, func=method, method="bca", paired=True, n_boot=N_BOOT,
                        seed=next(seeds["p"]), decimals=6,
                    ),
                },
                # pingouin's Spearman is a Python loop over resamples (seconds): run it once
                {
                    "xdist": repeats,
                    "scipy": repeats,
                    "pingouin": repeats if method == "pearson" else 1,
                },
            )
        t_x, m_x, c_x, ours = res["xdist"]
        t_s, m_s, c_s, sres = res["scipy"]
        t_p, m_p, c_p, pres = res["pingouin"]
        # Monte Carlo error of the bounds: xdist over 20 seeds
        bounds = np.array(
            [
                (r.ci_low, r.ci_high)
                for r in (
                    bootstrap_correlation_ci(x, y, method=method, n_boot=N_BOOT, seed=s)
                    for s in range(100, 120)
                )
            ]
        )
        mc_sd = bounds.std(axis=0, ddof=1)
        tol = 4 * np.sqrt(2) * mc_sd + np.array([1e-6, 1e-6])
        sci = (sres.confidence_interval.low, sres.confidence_interval.high)
        pin = (float(pres[0]), float(pres[1]))
        ours_ci = (ours.ci_low, ours.ci_high)
        agree_s = bool(np.all(np.abs(np.subtract(ours_ci, sci)) <= tol))
        agree_p = bool(np.all(np.abs(np.subtract(ours_ci, pin)) <= tol))
        r_s, r_p = t_s / t_x, t_p / t_x
        rc_s, rc_p = c_s / c_x, c_p / c_x
        fast_s, fast_p = r_s >= 1, r_p >= 10
        ok &= agree_s and agree_p and fast_s and fast_p
        print(f"\n[{method}] BCa 95% interval, n = {N_UNITS} languages, {N_BOOT} resamples "
              f"(estimate {ours.estimate:.4f})")
        print(f"  {'':10s} {'wall best':>10s} {'median':>9s} {'CPU best':>9s} (ms)   interval")
        for name, (t_, m_, c_), ci_ in (
            ("xdist", (t_x, m_x, c_x), ours_ci),
            ("scipy", (t_s, m_s, c_s), sci),
            ("pingouin", (t_p, m_p, c_p), pin),
        ):
            note = "  (1 run)" if name == "pingouin" and method != "pearson" else ""
            print(f"  {name:10s} {1e3 * t_:10.1f} {1e3 * m_:9.1f} {1e3 * c_:9.1f}        "
                  f"[{ci_[0]:.4f}, {ci_[1]:.4f}]{note}")
        print(f"  ratio scipy/xdist    = {r_s:6.1f}x wall, {rc_s:6.1f}x CPU  (need >= 1)   "
              f"{'PASS' if fast_s else 'FAIL'}")
        print(f"  ratio pingouin/xdist = {r_p:6.1f}x wall, {rc_p:6.1f}x CPU  (need >= 10)  "
              f"{'PASS' if fast_p else 'FAIL'}")
        print(f"  Monte Carlo sd of xdist bounds (20 seeds): [{mc_sd[0]:.4f}, {mc_sd[1]:.4f}]; "
              f"tolerance 4*sqrt(2)*sd = [{tol[0]:.4f}, {tol[1]:.4f}]")
        print(f"  agreement xdist-scipy    |diff| = [{abs(ours_ci[0] - sci[0]):.4f}, "
              f"{abs(ours_ci[1] - sci[1]):.4f}]  {'PASS' if agree_s else 'FAIL'}")
        print(f"  agreement xdist-pingouin |diff| = [{abs(ours_ci[0] - pin[0]):.4f}, "
              f"{abs(ours_ci[1] - pin[1]):.4f}]  {'PASS' if agree_p else 'FAIL'}")
    return ok


def table_data(seed: int = 0) -> tuple[pd.DataFrame, list[str]]:
    rng = np.random.default_rng(seed)
    kinds = ["syntactic", "phonological", "inventory", "featural", "genetic", "geographic"]
    frames = []
    for g in range(50):
        n = 104 if g == 0 else int(rng.integers(7, 41))
        d = rng.uniform(size=(n, 6))
        d[:, 4] = np.round(d[:, 4] * 4) / 4  # genetic distance: few distinct values
        frame = pd.DataFrame(d, columns=kinds)
        frame.insert(0, "language", [f"l{i:03d}" for i in range(n)])
        frame.insert(0, "task", f"task{g:02d}")
        frame["degradation"] = 20 * d[:, 0] + rng.normal(0, 3, n)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True), kinds


def part2() -> None:
    df, kinds = table_data()
    sizes = df.groupby("task").size()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        tab = correlation_table(df, x=kinds, y="degradation", by="task", n_boot=10_000,
                                n_perm=9_999, seed=0)
        elapsed = time.perf_counter() - t
    print(f"\n[table] correlation_table: {sizes.size} groups (n = {sizes.min()}-{sizes.max()}, "
          f"{sizes.sum()} rows) x {len(kinds)} distance kinds x 3 methods, 10,000 resamples "
          f"(BCa) + 9,999 permutations each: {len(tab)} rows in {elapsed:.2f} s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--skip-table", action="store_true")
    args = ap.parse_args()
    import pingouin

    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    print(f"xdist {xdist.__version__}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"pingouin {pingouin.__version__}, Python {platform.python_version()}")
    print(f"{os.cpu_count()} CPUs, load average {load[0]:.2f}; OPENBLAS_NUM_THREADS="
          f"{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}; best of {args.repeats} runs")
    ok = part1(args.repeats)
    if not args.skip_table:
        part2()
    print("\nall checks PASS" if ok else "\nsome checks FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
