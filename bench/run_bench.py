#!/usr/bin/python3
"""run_bench.py: `make bench`.  nanprobe against PyTorch, side by side, in
one invocation, on the seed's full ResNet3D-34 (16x112x112x3, batch 8,
2 threads, he_normal, L2 1e-4, Adam 1e-3).

Measured, each as the median of the steady-state steps (the first two are
warm-up), alternating the contenders in two rounds so that a noisy machine
hurts all of them alike (the better of the two medians is kept):
  - nanprobe with probes and SQLite logging on, and with probes off;
  - PyTorch 1.13 (bench/bench_torch.py, the same network and step);
with the environment's OpenBLAS setting as it is, and once more with the
native kernel (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for that command
only) when the environment sets one.  Also: peak resident memory, GFLOP/s,
nanprobe's time split by layer kind, database bytes per step, heap
allocations per steady-state step, and the report time on a 10,000-step
database (bench/report_bench.sh).

The table goes to stdout and to bench/results/bench-DATE.md.

    /usr/bin/python3 bench/run_bench.py [--steps 10] [--rounds 2] [--skip-report]
"""

import argparse
import datetime
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NANPROBE = os.path.join(ROOT, "nanprobe")
GFLOP_PER_STEP = 319.7  # 3 forwards of 13.32 GFLOP per clip x 8 clips (bench_torch.py counts the same)
SEED_SETUP = ["--depth=34", "--width=64", "--clip=16x112x112x3", "--classes=10", "--batch=8", "--threads=2",
              "--init=he_normal", "--l2=1e-4", "--lr=1e-3"]


def environment(native):
    env = dict(os.environ)
    if native:
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    return env


def run_time(command, env):
    """Runs command under /usr/bin/time; returns (stdout, stderr, peak RSS in MB)."""
    result = subprocess.run(["/usr/bin/time", "-f", "peak_rss_kb=%M"] + command, env=env, capture_output=True,
                            text=True)
    rss = 0.0
    for line in result.stderr.splitlines():
        if line.startswith("peak_rss_kb="):
            rss = int(line.split("=")[1]) / 1024.0
    if result.returncode not in (0,):
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"benchmark command failed ({result.returncode}): {' '.join(command)}")
    return result.stdout, result.stderr, rss


def nanprobe_run(steps, probes, native, workdir, label):
    out = os.path.join(workdir, label)
    command = [NANPROBE, "train"] + SEED_SETUP + [
        f"--max-steps={steps}", "--train-clips=512", "--val-clips=0", "--no-report", "--quiet", "--timing",
        f"--probes={'on' if probes else 'off'}", f"--out={out}"]
    _, stderr, rss = run_time(command, environment(native))
    timing = {}
    for line in stderr.splitlines():
        if line.startswith("{"):
            timing = json.loads(line)
    database = os.path.join(out, "run.db")
    with sqlite3.connect(database) as db:
        seconds = [row[0] for row in db.execute("SELECT seconds FROM steps ORDER BY step")]
    size = os.path.getsize(database)
    steady = seconds[2:]
    return {"seconds": statistics.median(steady), "steps": seconds, "rss_mb": rss, "timing": timing,
            "db_bytes_per_step": size / max(1, len(seconds)) if probes else None}


def torch_run(steps):
    command = ["/usr/bin/python3", os.path.join(ROOT, "bench", "bench_torch.py"), f"--steps={steps - 2}",
               "--warmup=2", "--threads=2"]
    stdout, _, rss = run_time(command, environment(False))
    result = json.loads(stdout.strip().splitlines()[-1])
    return {"seconds": result["seconds_per_step_median"], "rss_mb": max(rss, result.get("peak_rss_mb", 0)),
            "raw": result}


def allocations_per_step(workdir):
    """Heap allocations of one steady-state step: the trainer run for 4 and
    for 8 steps under an LD_PRELOAD counter, the difference over 4."""
    shim = os.path.join(workdir, "malloc_count.so")
    subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-o", shim, os.path.join(ROOT, "bench", "malloc_count.c"),
                    "-ldl"], check=True)
    counts = {}
    for probes in ("on", "off"):
        totals = []
        for steps in (4, 8):
            out = os.path.join(workdir, f"malloc-{probes}-{steps}")
            env = environment(False)
            env["LD_PRELOAD"] = shim
            result = subprocess.run([NANPROBE, "train", "--depth=18", "--width=16", "--clip=8x56x56x3",
                                     "--classes=10", "--batch=8", "--train-clips=64", "--val-clips=0",
                                     f"--max-steps={steps}", f"--probes={probes}", "--no-report", "--quiet",
                                     f"--out={out}"], env=env, capture_output=True, text=True)
            totals.append(int([l for l in result.stderr.splitlines() if l.startswith("malloc_count:")][-1]
                              .split(":")[1]))
        counts[probes] = (totals[1] - totals[0]) / 4.0
    return counts


def report_time(skip):
    if skip:
        return None
    result = subprocess.run([os.path.join(ROOT, "bench", "report_bench.sh")], capture_output=True, text=True,
                            cwd=ROOT)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        return None
    for line in result.stdout.splitlines():
        if line.startswith("report_write best"):
            return line
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--skip-report", action="store_true")
    args = parser.parse_args()

    coretype = os.environ.get("OPENBLAS_CORETYPE")
    l2size = os.environ.get("OPENBLAS_L2_SIZE")
    env_label = f"OPENBLAS_CORETYPE={coretype or 'unset'}" + (f", OPENBLAS_L2_SIZE={l2size}" if l2size else "")
    kernels = [("environment", False)]
    if coretype or l2size:
        kernels.append(("native", True))

    best = {}
    with tempfile.TemporaryDirectory(prefix="nanprobe-bench-") as workdir:
        for round_index in range(args.rounds):
            # Alternate the order between rounds: on, off, torch / torch, off, on.
            order = [("on", True), ("off", False), ("torch", None)]
            if round_index % 2:
                order.reverse()
            for name, probes in order:
                if name == "torch":
                    result = torch_run(args.steps)
                    key = ("torch", "oneDNN")
                    if key not in best or result["seconds"] < best[key]["seconds"]:
                        best[key] = result
                    continue
                for kernel_name, native in kernels:
                    label = f"{name}-{kernel_name}-{round_index}"
                    result = nanprobe_run(args.steps, probes, native, workdir, label)
                    key = (name, kernel_name)
                    if key not in best or result["seconds"] < best[key]["seconds"]:
                        best[key] = result
                print(f"round {round_index + 1}: {name} done", file=sys.stderr, flush=True)
        allocations = allocations_per_step(workdir)
    report = report_time(args.skip_report)

    torch_seconds = best[("torch", "oneDNN")]["seconds"]
    lines = []
    now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = [l.split(":", 1)[1].strip() for l in f if l.startswith("model name")][0]
    except (OSError, IndexError):
        pass
    lines.append(f"## make bench, {now}: {cpu}, {os.cpu_count()} cores, {platform.machine()}")
    lines.append("")
    lines.append("ResNet3D-34, 16x112x112x3, batch 8, 2 threads, he_normal, L2 1e-4, Adam 1e-3; "
                 f"median of steady-state steps, best of {args.rounds} alternating rounds.")
    lines.append("")
    lines.append("| run | OpenBLAS | s/step | GFLOP/s | step rate vs PyTorch | peak RSS MB |")
    lines.append("|---|---|---|---|---|---|")
    for (name, kernel_name), result in best.items():
        if name == "torch":
            continue
        blas = env_label if kernel_name == "environment" else "native kernel (CORETYPE, L2_SIZE unset)"
        lines.append(f"| nanprobe, probes {name} | {blas} | {result['seconds']:.3f} | "
                     f"{GFLOP_PER_STEP / result['seconds']:.0f} | {torch_seconds / result['seconds']:.2f}x | "
                     f"{result['rss_mb']:.0f} |")
    t = best[("torch", "oneDNN")]
    lines.append(f"| PyTorch {t['raw'].get('torch', '')} | (oneDNN) | {torch_seconds:.3f} | "
                 f"{GFLOP_PER_STEP / torch_seconds:.0f} | 1.00x | {t['rss_mb']:.0f} |")
    lines.append("")
    for kernel_name, _ in kernels:
        on, off = best[("on", kernel_name)], best[("off", kernel_name)]
        lines.append(f"Probes and logging cost ({kernel_name}): {100.0 * (on['seconds'] / off['seconds'] - 1):+.1f} % "
                     f"(probes-on / probes-off = {on['seconds'] / off['seconds']:.3f}); database "
                     f"{on['db_bytes_per_step'] / 1024:.0f} KiB per step.")
    for name in ("on", "off"):
        split = best[(name, "environment")]["timing"]
        if not split:
            continue
        parts = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in split.items() if k != "steps")
        lines.append(f"Time per step by kind (probes {name}, steady state): {parts}.")
    lines.append(f"Heap allocations per steady-state step (ResNet3D-18 width 16, LD_PRELOAD counter): "
                 f"{allocations['on']:.0f} with probes on, {allocations['off']:.0f} with probes off.")
    if report:
        lines.append(f"Report on a 10,000-step ResNet3D-34 database: {report}")
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    path = os.path.join(ROOT, "bench", "results", f"bench-{datetime.datetime.now():%Y%m%d-%H%M%S}.md")
    with open(path, "w") as f:
        f.write(text)
    print(f"written to {path}")


if __name__ == "__main__":
    main()
