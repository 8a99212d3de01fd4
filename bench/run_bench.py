#!/usr/bin/python3
"""run_bench.py: `make bench`.  nanprobe against PyTorch, side by side, in
one invocation, on the seed's full ResNet3D-34 (16x112x112x3, batch 8,
2 threads, he_normal, L2 1e-4, Adam 1e-3).

Measured, each as the median of the steady-state steps (the first two are
warm-up), alternating the contenders in two rounds so that a noisy machine
hurts all of them alike (the better of the two medians is kept):
  - nanprobe with probes and SQLite logging on, and with probes off;
  - PyTorch 1.13 (bench/bench_torch.py, the same network and step), when
    Debian's python3-torch is installed;
  - TensorFlow's model.fit (bench/bench_tf.py: the seed's own builder run
    by tf_keras, the framework the user runs), when TF_PY names the Python
    of the reference environment (make bench sets it: make tf-env); the
    ratios are then against TensorFlow;
nanprobe once with the OpenBLAS kernel it chooses itself and once with the
library's own choice (NANPROBE_BLAS_KERNEL=library), both with
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for that command only (when the
two are the same kernel it is measured once and labelled as both), and once
more as the environment sets them when it does.  GFLOP/s two ways: nominal
(every MAC of the 'same'-padded convolutions, 6.66 GMAC per clip forward),
and useful (MACs that do not touch padding), from the line `nanprobe
summary` prints ("conv MACs per clip (forward): nominal N, useful M") when
it has one.  Also: the CPU model, peak resident memory,
nanprobe's time split by layer kind, database bytes per step, heap
allocations per steady-state step, the report time on a 10,000-step
database (bench/report_bench.sh), and the validation probes' share of a
validation pass (issue 22).

The table goes to stdout and to bench/results/bench-DATE.md.

    [TF_PY=.tf-env/bin/python] /usr/bin/python3 bench/run_bench.py [--steps 10] [--rounds 2] [--skip-report]
        [--peers-only]   (nanprobe against the frameworks only: no allocation,
                          replay and report measurements)
"""

import argparse
import datetime
import json
import os
import platform
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NANPROBE = os.path.join(ROOT, "nanprobe")
GMAC_PER_CLIP_NOMINAL = 6.66  # forward, every MAC of the padded convolutions
# Forward + input gradient + kernel gradient: 3 x 2 x MACs x 8 clips.
FLOP_PER_STEP_PER_MAC = 3 * 2 * 8
SEED_SETUP = ["--depth=34", "--width=64", "--clip=16x112x112x3", "--classes=10", "--batch=8", "--threads=2",
              "--init=he_normal", "--l2=1e-4", "--lr=1e-3"]


# How each nanprobe row sets OpenBLAS up: "chosen" lets nanprobe pick the
# kernel, "library" keeps the library's detection, "environment" runs with
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE as this shell has them.
CHOICE_LABELS = {"chosen": "nanprobe's choice", "library": "library's own choice",
                 "environment": "as the environment sets it"}


def environment(choice):
    env = dict(os.environ)
    env.pop("NANPROBE_BLAS_KERNEL", None)
    if choice in ("chosen", "library"):
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    if choice == "library":
        env["NANPROBE_BLAS_KERNEL"] = "library"
    return env


def doctor(choice):
    """The lines of `nanprobe doctor` (no sgemm timing) under a choice."""
    result = subprocess.run([NANPROBE, "doctor", "--seconds=0"], env=environment(choice), capture_output=True,
                            text=True)
    return result.stdout.splitlines() if result.returncode == 0 else []


def blas_line(choice):
    for line in doctor(choice):
        if line.startswith("BLAS: "):
            return line[len("BLAS: "):]
    return "unknown (nanprobe doctor failed)"


def kernel_of(description):
    # "OpenBLAS 0.3.21, SkylakeX kernel (the library detected ...)"
    words = description.split(", ", 1)[-1].split(" ")
    return words[0] if len(words) > 1 and words[1].startswith("kernel") else description


def useful_gmac_per_clip():
    """(nominal, useful) GMAC per clip from `nanprobe summary`, or None.  The
    numbers may carry thousands separators and a k/M/G/T unit."""
    result = subprocess.run([NANPROBE, "summary", "--depth=34", "--width=64", "--clip=16x112x112x3",
                             "--classes=10"], capture_output=True, text=True)
    units = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
    number = r"([0-9][0-9,]*(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)\s*([kKMGT]?)"
    for line in result.stdout.splitlines():
        if not line.startswith("conv MACs per clip (forward):"):
            continue
        found = {}
        for key in ("nominal", "useful"):
            m = re.search(key + r"\s+" + number, line)
            if m:
                found[key] = float(m.group(1).replace(",", "")) * units[m.group(2)] / 1e9
        if len(found) == 2:
            return found["nominal"], found["useful"]
    return None


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


def nanprobe_run(steps, probes, choice, workdir, label):
    out = os.path.join(workdir, label)
    command = [NANPROBE, "train"] + SEED_SETUP + [
        f"--max-steps={steps}", "--train-clips=512", "--val-clips=0", "--no-report", "--quiet", "--timing",
        f"--probes={'on' if probes else 'off'}", f"--out={out}"]
    _, stderr, rss = run_time(command, environment(choice))
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
    stdout, _, rss = run_time(command, environment("environment"))
    result = json.loads(stdout.strip().splitlines()[-1])
    return {"seconds": result["seconds_per_step_median"], "rss_mb": max(rss, result.get("peak_rss_mb", 0)),
            "raw": result}


def torch_available():
    return subprocess.run(["/usr/bin/python3", "-c", "import torch"], capture_output=True).returncode == 0


def tf_python():
    path = os.environ.get("TF_PY", "")
    return path if path and os.access(path, os.X_OK) else None


def tf_run(steps):
    command = [tf_python(), os.path.join(ROOT, "bench", "bench_tf.py"), f"--steps={steps - 2}", "--warmup=2",
               "--threads=2"]
    stdout, _, rss = run_time(command, environment("environment"))
    result = json.loads(stdout.strip().splitlines()[-1])
    return {"seconds": result["seconds_per_step_median"], "rss_mb": max(rss, result.get("peak_rss_mb", 0)),
            "raw": result}


PEERS = {"torch": (torch_available, torch_run, ("torch", "oneDNN")),
         "tf": (lambda: tf_python() is not None, tf_run, ("tf", "model.fit"))}


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
            env = environment("chosen")
            env["LD_PRELOAD"] = shim
            result = subprocess.run([NANPROBE, "train", "--depth=18", "--width=16", "--clip=8x56x56x3",
                                     "--classes=10", "--batch=8", "--train-clips=64", "--val-clips=0",
                                     f"--max-steps={steps}", f"--probes={probes}", "--no-report", "--quiet",
                                     f"--out={out}"], env=env, capture_output=True, text=True)
            line = [l for l in result.stderr.splitlines() if l.startswith("malloc_count:")][-1]
            m = re.match(r"malloc_count: (\d+) openblas: (\d+)", line)
            totals.append((int(m.group(1)), int(m.group(2))))
        counts[probes] = (totals[1][0] - totals[0][0]) / 4.0
        counts[probes + "_openblas"] = (totals[1][1] - totals[0][1]) / 4.0
    return counts


def replay_costs(steps, workdir):
    """The replay's two costs on the seed's network, probes on:
    - the snapshot: one run with --snapshot-every 1 gives the seconds of one
      copy of the state (the --timing split keeps it apart from the step);
      at the default --snapshot-every 16 a step pays a 16th of it;
    - one replay: a fault planted in the backward pass of the last step
      makes the run replay that step; replays.float_seconds and
      double_seconds are its float32 and float64 reruns (the float64 model
      is built for it, so its first touch of memory is included)."""
    out = os.path.join(workdir, "snapshot-every-1")
    command = [NANPROBE, "train"] + SEED_SETUP + [
        f"--max-steps={steps}", "--train-clips=512", "--val-clips=0", "--no-report", "--quiet", "--timing",
        "--snapshot-every=1", f"--out={out}"]
    _, stderr, _ = run_time(command, environment("chosen"))
    timing = [json.loads(l) for l in stderr.splitlines() if l.startswith("{")][-1]
    out = os.path.join(workdir, "replay")
    command = [NANPROBE, "train"] + SEED_SETUP + [
        "--max-steps=4", "--train-clips=512", "--val-clips=0", "--no-report", "--quiet",
        "--inject=inf-backward@layer=conv3d_20,step=4", f"--out={out}"]
    result = subprocess.run(["/usr/bin/time", "-f", "peak_rss_kb=%M"] + command, env=environment("chosen"),
                            capture_output=True, text=True)
    rss = [int(l.split("=")[1]) / 1024.0 for l in result.stderr.splitlines() if l.startswith("peak_rss_kb=")]
    with sqlite3.connect(os.path.join(out, "run.db")) as db:
        row = db.execute("SELECT float_seconds, double_seconds, finding FROM replays").fetchone()
    # Warm float64 steps: --shadow-every 2 over 8 steps, the first shadow
    # step (cold memory) left out, against the float32 steps' median.
    out = os.path.join(workdir, "shadow")
    command = [NANPROBE, "train"] + SEED_SETUP + [
        "--max-steps=8", "--train-clips=512", "--val-clips=0", "--no-report", "--quiet", "--shadow-every=2",
        f"--out={out}"]
    run_time(command, environment("chosen"))
    with sqlite3.connect(os.path.join(out, "run.db")) as db:
        shadow = [r[0] for r in db.execute("SELECT double_seconds FROM replays WHERE trigger = 'shadow' "
                                           "ORDER BY step")][1:]
        float_steps = [r[0] for r in db.execute("SELECT seconds FROM steps ORDER BY step")][2:]
    return {"snapshot_seconds": timing.get("snapshot"), "float_seconds": row[0] if row else None,
            "double_seconds": row[1] if row else None, "finding": row[2] if row else None,
            "rss_mb": rss[0] if rss else None,
            "warm_double": statistics.median(shadow) if shadow else None,
            "warm_float": statistics.median(float_steps) if float_steps else None}


def validation_cost(workdir, setup=None, val_clips=32):
    """The validation probes' cost (issue 22) on the seed's network: one
    epoch of 2 steps, then a validation of val_clips clips, with probes on
    and off.  --timing gives the validation passes' wall time and the
    probes' share of it (per-layer statistics in inference mode, the
    BatchNorm comparison, their rows)."""
    result = {}
    for probes in ("on", "off"):
        out = os.path.join(workdir, f"validation-{probes}")
        command = [NANPROBE, "train"] + (setup or SEED_SETUP) + [
            "--epochs=1", "--steps-per-epoch=2", "--train-clips=64", f"--val-clips={val_clips}", "--no-report",
            "--quiet", "--timing", f"--probes={probes}", f"--out={out}"]
        _, stderr, _ = run_time(command, environment("chosen"))
        timing = [json.loads(l) for l in stderr.splitlines() if l.startswith("{")][-1]
        result[probes] = timing
    return {"clips": val_clips, "on": result["on"]["validation_seconds"], "off": result["off"]["validation_seconds"],
            "probes": result["on"]["validation_probe_seconds"]}


def validation_line(v):
    return (f"Validation of {v['clips']} clips (inference mode): {v['on']:.2f} s with probes on, {v['off']:.2f} s "
            f"off; the validation probes took {v['probes']:.3f} s = {100.0 * v['probes'] / v['on']:.1f} % of the "
            f"pass (wall-time difference on/off {100.0 * (v['on'] - v['off']) / v['off']:+.1f} %).")


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


def plan_choices():
    """The nanprobe rows: [(choice, kernel, description, also_labels)].  A
    choice whose kernel equals an earlier one's is measured once."""
    rows = []
    candidates = ["chosen", "library"]
    if os.environ.get("OPENBLAS_CORETYPE") or os.environ.get("OPENBLAS_L2_SIZE"):
        candidates.append("environment")
    for choice in candidates:
        description = blas_line(choice)
        kernel = kernel_of(description)
        same = [r for r in rows if r[1] == kernel and choice != "environment" and r[0] != "environment"]
        if same:
            same[0][3].append(choice)
            continue
        rows.append((choice, kernel, description, [choice]))
    return rows


def measure(args, rows, workdir):
    best = {}
    for round_index in range(args.rounds):
        # Alternate the order between rounds: on, off, torch / torch, off, on.
        order = [("on", True), ("off", False)] + [(peer, None) for peer, (present, _, _) in PEERS.items()
                                                  if present()]
        if round_index % 2:
            order.reverse()
        for name, probes in order:
            if name in PEERS:
                result = PEERS[name][1](args.steps)
                key = PEERS[name][2]
                if key not in best or result["seconds"] < best[key]["seconds"]:
                    best[key] = result
                print(f"round {round_index + 1}: {name} done", file=sys.stderr, flush=True)
                continue
            for choice, _, _, _ in rows:
                result = nanprobe_run(args.steps, probes, choice, workdir, f"{name}-{choice}-{round_index}")
                key = (name, choice)
                if key not in best or result["seconds"] < best[key]["seconds"]:
                    best[key] = result
            print(f"round {round_index + 1}: {name} done", file=sys.stderr, flush=True)
    return best


def cpu_lines():
    lines = [l for l in doctor("chosen") if l.startswith("CPU")]
    if lines:
        return lines
    try:
        with open("/proc/cpuinfo") as f:
            return ["CPU: " + [l.split(":", 1)[1].strip() for l in f if l.startswith("model name")][0]]
    except (OSError, IndexError):
        return ["CPU: unknown"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--skip-report", action="store_true")
    parser.add_argument("--peers-only", action="store_true")
    args = parser.parse_args()

    coretype = os.environ.get("OPENBLAS_CORETYPE")
    l2size = os.environ.get("OPENBLAS_L2_SIZE")
    env_label = f"OPENBLAS_CORETYPE={coretype or 'unset'}" + (f", OPENBLAS_L2_SIZE={l2size}" if l2size else "")
    rows = plan_choices()
    macs = useful_gmac_per_clip()
    nominal_gmac = macs[0] if macs else GMAC_PER_CLIP_NOMINAL
    nominal_gflop = FLOP_PER_STEP_PER_MAC * nominal_gmac
    useful_gflop = FLOP_PER_STEP_PER_MAC * macs[1] if macs else None

    with tempfile.TemporaryDirectory(prefix="nanprobe-bench-") as workdir:
        best = measure(args, rows, workdir)
        if not args.peers_only:
            allocations = allocations_per_step(workdir)
            replay = replay_costs(args.steps, workdir)
            validation = validation_cost(workdir)
    report = report_time(args.skip_report or args.peers_only)

    # The ratios are against the framework the user runs when it was measured.
    reference_key = PEERS["tf"][2] if PEERS["tf"][2] in best else PEERS["torch"][2]
    reference_name = "TensorFlow" if reference_key == PEERS["tf"][2] else "PyTorch"
    torch_seconds = best[reference_key]["seconds"]
    lines = []
    now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    lines.append(f"## make bench, {now}: {os.cpu_count()} cores, {platform.machine()}")
    lines.append("")
    lines.extend(cpu_lines())
    lines.append("")
    lines.append("ResNet3D-34, 16x112x112x3, batch 8, 2 threads, he_normal, L2 1e-4, Adam 1e-3; "
                 f"median of steady-state steps, best of {args.rounds} alternating rounds. GFLOP/s nominal: "
                 f"{nominal_gmac:.2f} GMAC per clip forward, x3 passes x2 x8 clips = {nominal_gflop:.1f} GFLOP per "
                 "step; useful: "
                 + (f"{macs[1]:.2f} GMAC per clip (MACs that do not touch padding, from nanprobe summary)."
                    if macs else "n/a (nanprobe summary prints no useful-MAC count)."))
    lines.append("")
    lines.append("| run | OpenBLAS kernel | s/step | GFLOP/s nominal | GFLOP/s useful | "
                 f"step rate vs {reference_name} | peak RSS MB |")
    lines.append("|---|---|---|---|---|---|---|")
    for choice, kernel, description, labels in rows:
        label = " = ".join(CHOICE_LABELS[c] for c in labels)
        if choice == "environment":
            label += f" ({env_label})"
        for name in ("on", "off"):
            result = best[(name, choice)]
            useful = f"{useful_gflop / result['seconds']:.0f}" if useful_gflop else "n/a"
            lines.append(f"| nanprobe, probes {name} | {kernel}: {label} | {result['seconds']:.3f} | "
                         f"{nominal_gflop / result['seconds']:.0f} | {useful} | "
                         f"{torch_seconds / result['seconds']:.2f}x | {result['rss_mb']:.0f} |")
    for key, label in ((PEERS["torch"][2], "PyTorch %s | (oneDNN; %s)"),
                       (PEERS["tf"][2], "TensorFlow %s model.fit | (oneDNN; %s)")):
        if key not in best:
            continue
        t = best[key]
        version = t["raw"].get("torch") or t["raw"].get("tensorflow", "")
        useful = f"{useful_gflop / t['seconds']:.0f}" if useful_gflop else "n/a"
        lines.append(f"| {label % (version, env_label)} | {t['seconds']:.3f} | {nominal_gflop / t['seconds']:.0f} | "
                     f"{useful} | {torch_seconds / t['seconds']:.2f}x | {t['rss_mb']:.0f} |")
    if PEERS["torch"][2] not in best:
        lines.append("")
        lines.append("PyTorch: not measured (Debian's python3-torch is not installed).")
    lines.append("")
    for choice, kernel, description, labels in rows:
        lines.append(f"BLAS ({' = '.join(CHOICE_LABELS[c] for c in labels)}): {description}.")
    for choice, kernel, _, _ in rows:
        on, off = best[("on", choice)], best[("off", choice)]
        lines.append(f"Probes and logging cost ({kernel}): {100.0 * (on['seconds'] / off['seconds'] - 1):+.1f} % "
                     f"(probes-on / probes-off = {on['seconds'] / off['seconds']:.3f}); database "
                     f"{on['db_bytes_per_step'] / 1024:.0f} KiB per step.")
    for name in ("on", "off"):
        split = best[(name, rows[0][0])]["timing"]
        if not split:
            continue
        parts = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in split.items() if k != "steps")
        lines.append(f"Time per step by kind (probes {name}, {rows[0][1]}, steady state): {parts}.")
    if args.peers_only:
        return finish(lines, report)
    lines.append(f"Heap allocations per steady-state step (ResNet3D-18 width 16, LD_PRELOAD counter): "
                 f"{allocations['on']:.0f} with probes on ({allocations['on_openblas']:.0f} inside OpenBLAS), "
                 f"{allocations['off']:.0f} with probes off ({allocations['off_openblas']:.0f} inside OpenBLAS).")
    step_on = best[("on", rows[0][0])]["seconds"]
    if replay["snapshot_seconds"] is not None:
        lines.append(f"Replay snapshot: one copy of the state takes {replay['snapshot_seconds'] * 1000:.0f} ms; at the "
                     f"default --snapshot-every 16 that is {100.0 * replay['snapshot_seconds'] / 16 / step_on:.2f} % "
                     f"of a probes-on step ({step_on:.3f} s).")
    if replay["double_seconds"]:
        lines.append(f"Replay of a failing step (finding: {replay['finding']}): float32 rerun "
                     f"{replay['float_seconds']:.2f} s, float64 rerun {replay['double_seconds']:.2f} s = "
                     f"{replay['double_seconds'] / replay['float_seconds']:.1f}x the float32 step; peak RSS of that "
                     f"run {replay['rss_mb']:.0f} MB (float32 model, two state copies, float64 model).")
    if replay["warm_double"] and replay["warm_float"]:
        lines.append(f"Warm float64 step (--shadow-every 2, memory already touched): {replay['warm_double']:.2f} s "
                     f"= {replay['warm_double'] / replay['warm_float']:.1f}x the float32 step ({replay['warm_float']:.2f} s).")
    lines.append(validation_line(validation))
    return finish(lines, report)


def finish(lines, report):
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
