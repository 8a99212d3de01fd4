#!/usr/bin/python3
"""Step time of each emulated precision (train --precision) as a ratio to float32.

Runs `nanprobe train --probes=off` for float32, tf32, mixed_bfloat16 and
mixed_float16 in alternating rounds and reports, per precision, the median
steady-state wall time per step (steps 3.. of the steps table) and the CPU
time per step (user + system of a run of 1 + N steps minus that of a run of
1 step, over N), each the best of the rounds, with their ratios to float32.
On a shared machine the CPU time is the steadier of the two: waiting for a
core does not count in it.  With --baseline BINARY the float32 step of another nanprobe build
is measured in the same rounds (the float32 path must not slow down).

  bench/precision_bench.py [--steps N] [--rounds R] [--seed-size] [--baseline PATH]

Default size: ResNet3D-18, width 32, 16x56x56x3 clips, batch 4 (about a
tenth of a second per step on 2 cores); --seed-size: the seed's ResNet3D-34, 16x112x112x3, batch 8.
"""
import argparse
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NANPROBE = os.path.join(ROOT, "nanprobe")
PRECISIONS = ["float32", "tf32", "mixed_bfloat16", "mixed_float16"]
SMALL = ["--depth=18", "--width=32", "--clip=16x56x56x3", "--classes=10", "--batch=4"]
SEED = ["--depth=34", "--width=64", "--clip=16x112x112x3", "--classes=10", "--batch=8"]


def run(binary, setup, precision, steps, out):
    """Trains `steps` steps; returns (median steady-state wall s/step, CPU seconds of the whole run)."""
    command = [binary, "train"] + setup + [f"--max-steps={steps}", "--train-clips=256", "--val-clips=0", "--threads=2",
                                           "--no-report", "--quiet", "--probes=off", f"--out={out}"]
    if precision != "float32":
        command.append(f"--precision={precision}")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(command, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"failed ({result.returncode}): {' '.join(command)}\n{result.stdout}{result.stderr}")
    with sqlite3.connect(os.path.join(out, "run.db")) as db:
        seconds = [row[0] for row in db.execute("SELECT seconds FROM steps ORDER BY step")]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return (statistics.median(seconds[2:]) if len(seconds) > 2 else None), cpu


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed-size", action="store_true")
    parser.add_argument("--baseline", help="another nanprobe binary whose float32 step is measured alongside")
    args = parser.parse_args()
    setup = SEED if args.seed_size else SMALL
    runs = [(NANPROBE, p) for p in PRECISIONS] + ([(args.baseline, "float32")] if args.baseline else [])
    wall, cpu = {}, {}
    with tempfile.TemporaryDirectory(prefix="nanprobe-precision-bench-") as workdir:
        for round_index in range(args.rounds):
            order = runs if round_index % 2 == 0 else list(reversed(runs))
            for i, (binary, precision) in enumerate(order):
                key = (binary, precision)
                w, long_cpu = run(binary, setup, precision, 1 + args.steps, os.path.join(workdir, f"r{round_index}-{i}"))
                _, short_cpu = run(binary, setup, precision, 1, os.path.join(workdir, f"s{round_index}-{i}"))
                per_step = (long_cpu - short_cpu) / args.steps
                wall[key] = min(wall.get(key, w), w)
                cpu[key] = min(cpu.get(key, per_step), per_step)
            print(f"round {round_index + 1} done", file=sys.stderr, flush=True)
    cpu_name = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu_name = line.split(":", 1)[1].strip()
                break
    base_wall, base_cpu = wall[(NANPROBE, "float32")], cpu[(NANPROBE, "float32")]
    print(f"Precision emulation cost: {' '.join(setup)}, 2 threads, probes off, {cpu_name}; best of {args.rounds} "
          f"alternating rounds of {args.steps} steps; load average {os.getloadavg()[0]:.1f} at the end.")
    print("")
    print("| precision | wall s/step | ratio | CPU s/step | ratio |")
    print("|---|---|---|---|---|")
    for binary, precision in runs:
        key = (binary, precision)
        label = precision if binary == NANPROBE else f"{precision}, {binary}"
        print(f"| {label} | {wall[key]:.3f} | {wall[key] / base_wall:.2f}x | {cpu[key]:.3f} | "
              f"{cpu[key] / base_cpu:.2f}x |")


if __name__ == "__main__":
    main()
