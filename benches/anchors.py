#!/usr/bin/env python3
"""Side-by-side timing of pricing-bench against the anchor tools, in one run.

Usage (from the repository root, after `cargo build --release -p pricing-bench`):

    python3 benches/anchors.py [MODELS_DIR] [--top 5] [--runs 10]

Needs hyperfine and admesh (Debian: `apt-get install hyperfine admesh time`) and trimesh
(`pip install trimesh numpy`). For the --top largest binary STL files of MODELS_DIR (default
../shared/models), every command is a whole process timed by hyperfine (median of --runs after
2 warm-up runs, so the file is in the page cache):

  cat        cat FILE > /dev/null                      (the page-cache read floor)
  quick      pricing-bench analyze --quick FILE         (volume, area, bounding box)
  analyze    pricing-bench analyze --json FILE          (the full analysis)
  admesh     admesh FILE                                (all its checks and repairs)
  trimesh    python3 ../shared/tools/anchor_worker.py trimesh FILE
             (interpreter start, import, load, volume, area, bounds)

and the peak resident memory of `analyze` is read with /usr/bin/time (max of 3 runs).
Prints a Markdown table of times and ratios.
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BENCH = os.path.join(ROOT, "target", "release", "pricing-bench")


def binary_stl_triangles(path):
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(84)
    if len(head) == 84:
        n = int.from_bytes(head[80:84], "little")
        if 84 + 50 * n == size:
            return n
    return None


def hyperfine(commands, runs):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(["hyperfine", "-N", "--warmup", "2", "--runs", str(runs), "--export-json", out.name]
                       + commands, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return [r["median"] for r in json.load(open(out.name))["results"]]


def peak_rss_kb(command):
    peaks = []
    for _ in range(3):
        p = subprocess.run(["/usr/bin/time", "-f", "%M"] + command, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True, check=True)
        peaks.append(int(p.stderr.strip().splitlines()[-1]))
    return max(peaks)


def main(argv):
    top, runs, folder = 5, 10, os.path.join(ROOT, "..", "shared", "models")
    args = iter(argv)
    for arg in args:
        if arg == "--top":
            top = int(next(args))
        elif arg == "--runs":
            runs = int(next(args))
        else:
            folder = arg
    worker = os.path.join(ROOT, "..", "shared", "tools", "anchor_worker.py")
    files = []
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        n = binary_stl_triangles(path) if name.lower().endswith(".stl") else None
        if n:
            files.append((n, path))
    files = sorted(files, reverse=True)[:top]
    print("| file | triangles | MB | cat ms | quick ms | quick / cat | analyze ms | admesh ms | admesh / analyze | trimesh ms | trimesh / analyze | analyze peak MB | peak / file |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, path in files:
        cat, quick, analyze, admesh = hyperfine(
            [f"cat {path}", f"{BENCH} analyze --quick {path}", f"{BENCH} analyze --json {path}", f"admesh {path}"], runs)
        (trimesh,) = hyperfine([f"python3 {worker} trimesh {path}"], max(3, runs // 3))
        peak = peak_rss_kb([BENCH, "analyze", "--json", path]) * 1024
        size = os.path.getsize(path)
        print(f"| {os.path.basename(path)} | {n} | {size / 1e6:.1f} | {cat * 1e3:.1f} | {quick * 1e3:.1f} | {quick / cat:.2f} | "
              f"{analyze * 1e3:.1f} | {admesh * 1e3:.1f} | {admesh / analyze:.1f} | {trimesh * 1e3:.0f} | {trimesh / analyze:.0f} | "
              f"{peak / 1e6:.1f} | {peak / size:.2f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
