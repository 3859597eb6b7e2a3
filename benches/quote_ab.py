#!/usr/bin/env python3
"""Two pricing-bench binaries' full quotes side by side, for measuring a change's speed.

Usage (from the repository root):

    python3 benches/quote_ab.py OLD_BINARY NEW_BINARY [--runs 5]
                                [--reference ../shared/refs/dev_slicer_reference.json]
                                [--models ../shared/models]

Build the old binary from a worktree, e.g. `git worktree add /tmp/old REV` and
`CARGO_TARGET_DIR=/tmp/old_target cargo build --release -p pricing-bench` there. For every
model PrusaSlicer sliced in the reference (the models of `quote_vs_slicer.py`), both binaries
quote it (`quote FILE --material pla --json`, a whole process each), --runs times, each
binary first every other run; each side's best time is kept. Prints per model both times and NEW/OLD, then the median and the
geometric mean of the ratios. Quotes are not compared: diff the JSON for that.
"""
import argparse
import json
import os
import statistics

from quote_vs_slicer import ROOT, timed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--reference", default=os.path.join(ROOT, "../shared/refs/dev_slicer_reference.json"))
    parser.add_argument("--models", default=os.path.join(ROOT, "../shared/models"))
    args = parser.parse_args()
    table = json.load(open(args.reference))["table"]
    models = [row["model"] for row in table if row.get("prusa_time_sup_s")]
    ratios = []
    print(f"{'model':55s} {'old ms':>8s} {'new ms':>8s} {'new/old':>8s}")
    for model in models:
        path = os.path.join(args.models, model)
        if not os.path.exists(path):
            continue
        old, new = [], []
        for run in range(args.runs):
            # Each goes first every other run: the first quote of a model meets a colder cache.
            pair = [(args.old, old), (args.new, new)]
            for binary, times in pair if run % 2 == 0 else reversed(pair):
                times.append(timed([binary, "quote", path, "--material", "pla", "--json"]))
        ratio = min(new) / min(old)
        ratios.append(ratio)
        print(f"{model:55s} {min(old) * 1000:8.1f} {min(new) * 1000:8.1f} {ratio:8.2f}", flush=True)
    if ratios:
        print(f"{len(ratios)} models: new/old median {statistics.median(ratios):.2f}, "
              f"geometric mean {statistics.geometric_mean(ratios):.2f}")


if __name__ == "__main__":
    main()
