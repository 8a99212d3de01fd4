#!/usr/bin/python3
"""Step time of each emulated precision (train --precision) as a ratio to float32.

Runs `nanprobe train --probes=off --timing` for float32, tf32, mixed_bfloat16
and mixed_float16 in alternating rounds and reports the median steady-state
step time (steps 3.. of the steps table) of the best round, and the ratio to
float32.  With --baseline BINARY the float32 step of another nanprobe build
is measured in the same rounds (the float32 path must not slow down).

  bench/precision_bench.py [--steps N] [--rounds R] [--seed-size] [--baseline PATH]

Default size: ResNet3D-18, width 16, 8x56x56x3 clips, batch 4 (seconds per
run on 2 cores); --seed-size: the seed's ResNet3D-34, 16x112x112x3, batch 8.
"""
import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NANPROBE = os.path.join(ROOT, "nanprobe")
PRECISIONS = ["float32", "tf32", "mixed_bfloat16", "mixed_float16"]
SMALL = ["--depth=18", "--width=16", "--clip=8x56x56x3", "--classes=10", "--batch=4"]
SEED = ["--depth=34", "--width=64", "--clip=16x112x112x3", "--classes=10", "--batch=8"]


def step_seconds(binary, setup, precision, steps, out):
    command = [binary, "train"] + setup + [f"--max-steps={steps}", "--train-clips=256", "--val-clips=0", "--threads=2",
                                           "--no-report", "--quiet", "--probes=off", f"--out={out}"]
    if precision != "float32":
        command.append(f"--precision={precision}")
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"failed ({result.returncode}): {' '.join(command)}\n{result.stdout}{result.stderr}")
    with sqlite3.connect(os.path.join(out, "run.db")) as db:
        seconds = [row[0] for row in db.execute("SELECT seconds FROM steps ORDER BY step")]
    return statistics.median(seconds[2:])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed-size", action="store_true")
    parser.add_argument("--baseline", help="another nanprobe binary whose float32 step is measured alongside")
    args = parser.parse_args()
    setup = SEED if args.seed_size else SMALL
    runs = [(NANPROBE, p) for p in PRECISIONS] + ([(args.baseline, "float32")] if args.baseline else [])
    best = {}
    with tempfile.TemporaryDirectory(prefix="nanprobe-precision-bench-") as workdir:
        for round_index in range(args.rounds):
            order = runs if round_index % 2 == 0 else list(reversed(runs))
            for i, (binary, precision) in enumerate(order):
                key = (binary, precision)
                s = step_seconds(binary, setup, precision, args.steps, os.path.join(workdir, f"r{round_index}-{i}"))
                best[key] = min(best.get(key, s), s)
            print(f"round {round_index + 1} done", file=sys.stderr, flush=True)
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    base = best[(NANPROBE, "float32")]
    print(f"Precision emulation cost: {' '.join(setup)}, 2 threads, probes off, {cpu}; median steady-state step, "
          f"best of {args.rounds} alternating rounds of {args.steps} steps.")
    print("")
    print("| precision | s/step | ratio to float32 |")
    print("|---|---|---|")
    for precision in PRECISIONS:
        s = best[(NANPROBE, precision)]
        print(f"| {precision} | {s:.3f} | {s / base:.2f}x |")
    if args.baseline:
        s = best[(args.baseline, "float32")]
        print(f"| float32, {args.baseline} | {s:.3f} | {s / base:.2f}x |")


if __name__ == "__main__":
    main()
