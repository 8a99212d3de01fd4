#!/usr/bin/python3
"""bench_torch.py: the PyTorch peer of `make bench`.  Trains the seed's
ResNet3D (tools/torch_resnet3d.py: the network src/model/model.c builds, with
tf.keras semantics) on a fixed random batch and prints one JSON line.

    /usr/bin/python3 bench/bench_torch.py [--steps 10] [--warmup 2] [--threads 2]
        [--depth 34] [--clip 16x112x112x3] [--batch 8] [--width 64] [--classes 10]
        [--memory-format auto|channels_last|contiguous]

A step is what the C trainer does per batch: forward in training mode,
mean softmax cross-entropy from the logits + L2 (lambda * sum(w^2) on every
kernel), backward, Adam (lr 1e-3, epsilon 1e-7; torch.optim.Adam places
epsilon slightly differently from tf.keras, which does not matter for
speed).  Weights are he_normal.

FLOPs are counted analytically, not measured: a Conv3D costs
out_cells * kd*kh*kw*Cin * Cout multiply-adds per clip and Dense in*out; a
forward is 2 FLOPs per multiply-add, and a training step ~3 forwards (the
backward computes both the input and the weight gradient, each as large as
the forward).  BatchNorm, ReLU, pooling and Adam are memory-bound and not
counted.

Memory format: the layer outputs are channels-last (Keras' layout, and the C
engine's), which in PyTorch is torch.channels_last_3d.  On PyTorch 1.13 CPU
the oneDNN convolution is measured faster on it than on NCDHW ('auto' picks
channels_last; --memory-format contiguous times the other for comparison).
"""

import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from torch_resnet3d import DEPTHS, ResNet3D, build_spec, parse_clip  # noqa: E402

L2 = 1e-4


def forward_macs_per_clip(spec):
    """Multiply-adds of every Conv3D and Dense for one clip."""
    macs = 0
    for s in spec:
        if s.kind == "conv":
            kernel = s.params[0][1]  # (kd, kh, kw, Cin, Cout)
            cells = s.shape[0] * s.shape[1] * s.shape[2]
            macs += cells * math.prod(kernel)
        elif s.kind == "dense":
            macs += math.prod(s.params[0][1])
    return macs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=10, help="timed steps after warm-up")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--depth", type=int, default=34, choices=sorted(DEPTHS))
    parser.add_argument("--clip", type=parse_clip, default=(16, 112, 112, 3), help="DxHxWxC")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--memory-format", choices=("auto", "channels_last", "contiguous"), default="auto")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.steps < 1 or args.warmup < 0 or args.threads < 1 or args.batch < 1:
        parser.error("--steps, --threads and --batch must be positive, --warmup not negative")

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    channels_last = args.memory_format in ("auto", "channels_last")

    net = ResNet3D(args.depth, args.width, args.clip, args.classes)
    net.init_he_normal()
    if channels_last:
        net = net.to(memory_format=torch.channels_last_3d)
    net.train()
    # NDHWC data: its NCDHW view is channels_last_3d already.
    x = torch.rand((args.batch,) + tuple(args.clip))
    if not channels_last:
        x = x.permute(0, 4, 1, 2, 3).contiguous().permute(0, 2, 3, 4, 1)
    y = torch.randint(0, args.classes, (args.batch,))
    kernels = net.kernels()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)

    def step():
        optimizer.zero_grad(set_to_none=True)
        logits = net(x)
        loss = F.cross_entropy(logits, y) + L2 * sum((w * w).sum() for w in kernels)
        loss.backward()
        optimizer.step()
        return loss.item()

    # Wall-clock time is the result; the process's CPU time per step (all
    # threads) and the load average are there to tell a busy machine apart:
    # on an idle one, CPU time ~ threads x wall time.
    load_before = os.getloadavg()[0]
    times, cpu_times, losses = [], [], []
    for i in range(args.warmup + args.steps):
        start, cpu_start = time.perf_counter(), time.process_time()
        losses.append(step())
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        if i >= args.warmup:
            times.append(elapsed)
            cpu_times.append(cpu)
        print("step %d: %.3f s (cpu %.3f s), loss %.4f" % (i + 1, elapsed, cpu, losses[-1]), file=sys.stderr)

    spec = build_spec(args.depth, args.width, args.clip, args.classes)
    forward_gflop_per_clip = 2.0 * forward_macs_per_clip(spec) / 1e9
    train_gflop_per_step = 3.0 * forward_gflop_per_clip * args.batch
    median = statistics.median(times)
    result = {
        "framework": "pytorch",
        "torch": torch.__version__,
        "threads": args.threads,
        "depth": args.depth,
        "width": args.width,
        "clip": list(args.clip),
        "batch": args.batch,
        "classes": args.classes,
        "memory_format": "channels_last_3d" if channels_last else "contiguous",
        "warmup": args.warmup,
        "steps": args.steps,
        "seconds_per_step_median": round(median, 4),
        "seconds_per_step_min": round(min(times), 4),
        "seconds_per_step_all": [round(t, 4) for t in times],
        "cpu_seconds_per_step_median": round(statistics.median(cpu_times), 4),
        "load_average_before": round(load_before, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
        "forward_gflop_per_clip": round(forward_gflop_per_clip, 3),
        "train_gflop_per_step": round(train_gflop_per_step, 2),
        "gflops_per_second": round(train_gflop_per_step / median, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
        "final_loss": round(losses[-1], 5),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
