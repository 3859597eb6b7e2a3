#!/usr/bin/env python3
"""A full quote against one PrusaSlicer run, side by side, for issue #3's speed table.

Usage (from the repository root, after `cargo build --release -p pricing-bench`):

    python3 benches/quote_vs_slicer.py [--reference ../shared/refs/dev_slicer_reference.json]
                                       [--models ../shared/models] [--runs 3]
                                       [--slicer-runs 2]

Needs PrusaSlicer 2.5 (`bash ../shared/tools/slicer/setup.sh`, or Debian's `prusa-slicer`).
For every model the reference says PrusaSlicer sliced, both are whole processes on the same
file, one after the other, each the best of its runs after a warm-up (PrusaSlicer's once, at
the start), so that neither pays for a cold page cache:

  quote   pricing-bench quote --json --material pla FILE
          (orientation search over every candidate, supports, slicing, FDM estimate, price;
          the best of --runs)
  slicer  prusa-slicer --load ../shared/tools/slicer/prusa_pla_0.2_supports.ini
          --export-gcode --output TMP FILE   (the reference profile, supports on; the best of
          --slicer-runs)

Prints a Markdown table with both times and their ratio, and the median and worst ratio.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def timed(cmd, env=None):
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({done.returncode}): {done.stderr.decode()[-400:]}")
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", default=os.path.join(ROOT, "../shared/refs/dev_slicer_reference.json"))
    parser.add_argument("--models", default=os.path.join(ROOT, "../shared/models"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--slicer-runs", type=int, default=2)
    args = parser.parse_args()
    slicer = shutil.which("prusa-slicer")
    if slicer is None:
        raise SystemExit("prusa-slicer is not installed (bash ../shared/tools/slicer/setup.sh)")
    bench = os.path.join(ROOT, "target/release/pricing-bench")
    if not os.path.exists(bench):
        raise SystemExit("build first: cargo build --release -p pricing-bench")
    profile = os.path.join(ROOT, "../shared/tools/slicer/prusa_pla_0.2_supports.ini")
    table = json.load(open(args.reference))["table"]
    env = dict(os.environ)
    env.pop("DISPLAY", None)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        gcode = os.path.join(tmp, "out.gcode")
        slice_cmd = lambda model: [slicer, "--loglevel", "1", "--load", profile, "--export-gcode",
                                   "--output", gcode, model]
        warm = next(row for row in table if row.get("prusa_time_s") is not None)
        timed(slice_cmd(os.path.join(args.models, warm["model"])), env=env)
        for row in table:
            if row.get("prusa_time_s") is None:
                continue
            model = os.path.join(args.models, row["model"])
            quote_cmd = [bench, "quote", "--json", "--material", "pla", model]
            timed(quote_cmd)
            quote_s = min(timed(quote_cmd) for _ in range(max(1, args.runs)))
            slicer_s = min(timed(slice_cmd(model), env=env)
                           for _ in range(max(1, args.slicer_runs)))
            rows.append((row["model"], quote_s, slicer_s))
            print(f"{row['model']}: quote {quote_s * 1000:.0f} ms, slicer {slicer_s:.2f} s", flush=True)
    print()
    print("| model | quote ms | prusa-slicer ms | x faster |")
    print("|---|---:|---:|---:|")
    for model, quote_s, slicer_s in rows:
        print(f"| {model} | {quote_s * 1000:.0f} | {slicer_s * 1000:.0f} | {slicer_s / quote_s:.0f} |")
    ratios = [slicer_s / quote_s for _, quote_s, slicer_s in rows]
    print(f"\n{len(rows)} models: median {statistics.median(ratios):.0f}x, "
          f"worst {min(ratios):.0f}x, best {max(ratios):.0f}x")


if __name__ == "__main__":
    main()
