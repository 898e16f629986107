"""Time `xdist correlate` on all shipped data with 10,000 resamples.

Target (issue 2): under 10 s on a 2-core machine, for the default run (every experiment
fine-tuned on English, all six distance kinds, all three methods, BCa with 10,000 resamples,
9,999 permutations).  Also times `xdist --help` and checks it imports no torch.

    python benchmarks/correlate_cli.py [--repeat 3] [--all-sources]
"""

import argparse
import os
import subprocess
import sys
import time


def timed(cmd):
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"command failed: {' '.join(cmd)}\n{proc.stderr}")
    return dt, proc


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--all-sources", action="store_true",
                    help="also time every source language of the UD-POS matrix")
    args = ap.parse_args()
    exe = [sys.executable, "-m", "xdist"]
    print(f"cores: {os.cpu_count()}")
    cases = [("default (English source)", ["correlate", "--format", "csv"])]
    if args.all_sources:
        cases.append(("--source-language all", ["correlate", "--format", "csv",
                                                "--source-language", "all"]))
    missed = False
    for label, argv in cases:
        times = []
        for _ in range(args.repeat):
            dt, proc = timed(exe + argv)
            times.append(dt)
        rows = proc.stdout.count("\n") - 1
        best = min(times)
        print(f"xdist correlate {label}: {rows} rows, best of {args.repeat}: {best:.2f} s "
              f"(all: {', '.join(f'{t:.2f}' for t in times)}); target < 10 s: "
              f"{'OK' if best < 10 else 'MISSED'}")
        missed |= label.startswith("default") and best >= 10
    dt, _ = timed(exe + ["--help"])
    probe = ("import sys, xdist.cli as c\n"
             "try:\n    c.main(['--help'])\nexcept SystemExit:\n    pass\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch','transformers')))")
    _, proc = timed([sys.executable, "-c", probe])
    print(f"xdist --help: {dt:.2f} s; torch/transformers modules imported: "
          f"{proc.stdout.strip().splitlines()[-1]}")
    if missed:
        sys.exit("target missed: xdist correlate took 10 s or more")


if __name__ == "__main__":
    main()
