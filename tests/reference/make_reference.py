#!/usr/bin/python3
"""make_reference.py: writes the PyTorch float64 parity fixture that
tests/test_parity.c checks the C engine against (no Python at test time).

    /usr/bin/python3 tests/reference/make_reference.py tests/reference/fixture.bin
    (or `make reference`; needs python3-torch and python3-numpy; ~10 s)

What it computes, for each configuration in CONFIGS (record names start
with the configuration's prefix, "basic/" or "bottleneck/"):
  the network of tools/torch_resnet3d.py (the same layers and Keras names as
  src/model.c) in float64, from he_normal weights, on one fixed batch; L2
  lambda on every kernel; objective = mean softmax cross-entropy from the
  logits + lambda * sum(w^2); three steps of tf.keras Adam written out by
  hand (epsilon added to the uncorrected sqrt(v), unlike torch.optim.Adam),
  each a full training-mode forward (moving statistics move) and backward on
  the same batch.  Every value the C side starts from (weights, input) is a
  float32 number, so both sides compute from identical data and the float64
  results are a truth for the C engine's float32.

Parameters zero by structure.  A trainable parameter whose float64 gradient
is below STRUCTURAL_ZERO times the largest gradient of its layer at the first
step has a true gradient of 0 (every conv bias: its output reaches the loss
only through BatchNormalization; also e.g. a stem BN beta whose consumers
are all padding-free 1x1 convolutions).  Float32 computes noise there, which
Adam normalizes into steps of up to lr.  The truth gives these parameters
their true gradient, 0, in every update; test_parity.c applies the same
rule (see its train_steps).

Records (Keras layouts: activations (N, D, H, W, C) or (N, F), conv kernels
(kd, kh, kw, Cin, Cout), dense kernels (in, out)):
  config/depth, config/width, config/clip (D, H, W, C), config/batch,
  config/classes, config/l2, config/learning_rate, config/beta1,
  config/beta2, config/epsilon, config/steps, config/seed   scalars / vectors
  input                      (N, D, H, W, C), uniform in [0, 1)
  labels                     (N,) class indices as floats
  init/<param>               every parameter, moving statistics included
  step1/output/<layer>       every layer's training-mode output, first step
                             (input_1's output is `input`, not repeated)
  step1/logits               = step1/output/dense
  step1/data_loss            mean cross-entropy at the initial weights
  step1/l2_penalty           lambda * sum of every kernel's squares
  step1/grad/<param>         d(data_loss)/d(param) for every trainable
                             parameter: without the L2 term, which the C
                             side adds inside its Adam update
  step<K>/data_loss          K = 1..steps, before update K
  final/<param>              every parameter after the last update,
                             moving statistics included
  float32/<name>             for every step1/output, step1/logits,
                             step1/grad, step<K>/data_loss and final record:
                             the error of PyTorch's own float32 computation
                             of the same thing against the float64 truth, in
                             test_parity.c's metric for it (a scalar).  It
                             says how well float32 can resolve that tensor at
                             all; the C test scales its tolerances with it.

Binary format (little-endian):
  8 bytes   magic "NPREF001"
  u32       record count
  per record:
    u32     name length in bytes
    bytes   name, UTF-8, no terminating NUL
    u32     rank (0 for a scalar)
    u32     dims[rank]
    f32     data[product of dims] (1 value when rank is 0), row-major

Choosing the batch.  Seeds BASE_SEED, BASE_SEED + 1, ... are tried until one
gives a problem float32 can answer:
  - no decision within a float32 hair of its threshold at the first step:
    every ReLU input must clear 0, and every positive max-pool winner its
    runner-up, by MARGIN_RATIO times PyTorch float32's error on that tensor
    (else float32 and float64 may legitimately take different branches, and
    the comparison would measure that instead of the engine);
  - PyTorch float32 within FLOAT32_LIMITS of the truth everywhere.
The bottleneck configuration uses batch 4: at batch 2 its stage 4 (a 1x1x1
volume) normalizes n = 2 values per channel in ten stacked BatchNorms, each
amplifying float32 rounding by up to d^2/eps, and PyTorch's own float32
gradients then differ from float64 by 100% or more.
"""

import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from torch_resnet3d import ResNet3D  # noqa: E402

MAGIC = b"NPREF001"

CONFIGS = [
    ("basic", dict(depth=18, width=4, clip=(8, 32, 32, 3), batch=2, classes=5)),
    ("bottleneck", dict(depth=50, width=2, clip=(8, 32, 32, 3), batch=4, classes=5)),
]
L2 = 1e-4
LEARNING_RATE = 1e-3
BETA1, BETA2, EPSILON = 0.9, 0.999, 1e-7
STEPS = 3
BASE_SEED = 20220211
SEED_ATTEMPTS = 100
FLOAT32_UNIT = 2.0 ** -24
# A ReLU input or a max-pool winner closer to its threshold than this many
# times the float32 error of its tensor (PyTorch's, at the same step) could
# take the other branch in float32.
MARGIN_RATIO = 5.0
# A seed is kept only if PyTorch's own float32 computation reproduces the
# float64 truth this well (the metrics of test_parity.c): the fixture must be
# a problem float32 can answer, or it tests nothing.
FLOAT32_LIMITS = {"output": 1e-4, "loss": 1e-4, "gradient": 1e-3, "zero-by-structure gradient": 2e-5,
                  "final": 5e-2}
# A float64 gradient this far below its layer's largest is 0 up to float64
# rounding (~1e-16 relative); float32 cannot resolve anything below ~1e-7.
STRUCTURAL_ZERO = 1e-9

HE_NORMAL_TRUNCATED_STD = 0.87962566103423978


def he_normal(rng, keras_shape):
    """Keras he_normal: fan_in = product of all but the last axis."""
    fan_in = math.prod(keras_shape[:-1])
    sigma = math.sqrt(2.0 / fan_in) / HE_NORMAL_TRUNCATED_STD
    z = rng.standard_normal(keras_shape)
    bad = np.abs(z) >= 2.0
    while bad.any():
        z[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(z) >= 2.0
    return (z * sigma).astype(np.float32)


def initial_weights(net, rng):
    weights = {}
    for name, tensor in net.keras_weights().items():
        role = name.split("/")[1]
        shape = tuple(tensor.shape)
        if role == "kernel":
            weights[name] = he_normal(rng, shape)
        elif role in ("gamma", "moving_variance"):
            weights[name] = np.ones(shape, np.float32)
        else:
            weights[name] = np.zeros(shape, np.float32)
    return weights


def normwise(ours, ref):
    """max|ours - ref| / max|ref| (absolute when ref is all zero), the metric
    test_parity.c uses."""
    ours, ref = ours.double(), ref.double()
    scale = ref.abs().max().item()
    d = (ours - ref).abs().max().item()
    return d / scale if scale > 0 else d


def decision_margins(net, record):
    """Per tensor feeding a ReLU or a max pool, the smallest distance
    (relative to the tensor's largest magnitude) of a ReLU input from 0, or of
    a positive max-pool winner from its runner-up.  Exact zeros and exact
    ties are structural (a channel with no signal), the same in any
    precision, and are skipped."""
    margins = {}
    for s in net.spec:
        if s.kind == "relu":
            x = record[s.inputs[0]].abs()
            scale = x.max().item()
            nonzero = x[x > 0]
            if scale > 0 and nonzero.numel():
                margins[s.inputs[0]] = nonzero.min().item() / scale
        elif s.kind == "maxpool":
            x = record[s.inputs[0]].permute(0, 4, 1, 2, 3)
            (d0, d1), (h0, h1), (w0, w1) = s.pads
            x = F.pad(x, (w0, w1, h0, h1, d0, d1), value=-math.inf)
            for axis, (k, st) in enumerate(zip(s.kernel, s.stride)):
                x = x.unfold(2 + axis, k, st)
            windows = x.reshape(*x.shape[:5], -1)
            top = windows.topk(2, dim=-1).values
            gap = top[..., 0] - top[..., 1]
            decided = (top[..., 0] > 0) & (gap > 0)  # zero winners are masked by the ReLU below
            scale = windows[windows > -math.inf].abs().max().item()
            if decided.any() and scale > 0:
                margin = gap[decided].min().item() / scale
                margins[s.inputs[0]] = min(margins.get(s.inputs[0], math.inf), margin)
    return margins


def zero_by_structure(net, grads):
    """Trainable parameters whose float64 gradient is below STRUCTURAL_ZERO
    times the largest gradient of their layer: every conv bias (its output
    reaches the loss only through BatchNormalization) and whatever else the
    architecture makes exactly 0 (e.g. a stem BN beta whose every consumer is
    a padding-free convolution).  What float32 computes there is noise."""
    names = set()
    for s in net.spec:
        params = ["%s/%s" % (s.name, role) for role, _ in s.params if not role.startswith("moving_")]
        if not params:
            continue
        scale = max(grads[n].abs().max().item() for n in params)
        for n in params:
            if grads[n].abs().max().item() <= STRUCTURAL_ZERO * scale:
                names.add(n)
    return names


class Trainer:
    """One network in one precision, trained by hand-written tf.keras Adam
    (ResourceApplyAdam: epsilon added to the uncorrected sqrt(v)), with the
    L2 gradient 2*lambda*w of the kernels added to the data gradient.
    Parameters in `pinned` get their true gradient, 0, in the update."""

    def __init__(self, cfg, init, inputs, labels, dtype):
        self.net = ResNet3D(cfg["depth"], cfg["width"], cfg["clip"], cfg["classes"]).to(dtype)
        self.net.train()
        self.net.load_keras_weights({n: v.astype(np.float64) for n, v in init.items()})
        self.x = torch.from_numpy(inputs).to(dtype)
        self.y = torch.from_numpy(labels)
        self.trainable = self.net.parameter_names(trainable_only=True)
        self.m = {n: torch.zeros_like(self.net.keras_tensor(n)) for n in self.trainable}
        self.v = {n: torch.zeros_like(self.net.keras_tensor(n)) for n in self.trainable}
        self.t = 0
        self.pinned = set()

    def forward_backward(self):
        """(layer outputs, logits, data loss) of one training-mode forward
        (the moving statistics move) and its backward."""
        self.net.zero_grad(set_to_none=True)
        record = {}
        logits = self.net(self.x, record)
        loss = F.cross_entropy(logits, self.y)
        loss.backward()
        return record, logits, loss

    def update(self):
        self.t += 1
        t = self.t
        alpha = LEARNING_RATE * math.sqrt(1.0 - BETA2 ** t) / (1.0 - BETA1 ** t)
        with torch.no_grad():
            for name in self.trainable:
                w = self.net.keras_tensor(name)
                g = torch.zeros_like(w) if name in self.pinned else w.grad.clone()
                if name.endswith("/kernel"):
                    g += 2.0 * L2 * w
                m, v = self.m[name], self.v[name]
                m += (g - m) * (1.0 - BETA1)
                v += (g * g - v) * (1.0 - BETA2)
                w -= alpha * m / (v.sqrt() + EPSILON)


def final_error(ours, ref, init):
    """The metric test_parity.c uses after the last step: the error of the
    change, max|(ours - init) - (ref - init)| / max|ref - init|."""
    return normwise(ours - init, ref - init)


def run_reference(prefix, cfg, seed):
    """Returns (records, margin ratio, worst float32 error per group): the
    ordered records of one configuration, the smallest ratio of a step-1
    decision margin to PyTorch float32's error on the same tensor, and
    PyTorch float32's worst errors (to keep only well-conditioned seeds)."""
    rng = np.random.default_rng(seed)
    probe = ResNet3D(cfg["depth"], cfg["width"], cfg["clip"], cfg["classes"])
    init = initial_weights(probe, rng)
    batch_shape = (cfg["batch"],) + tuple(cfg["clip"])
    inputs = rng.random(batch_shape).astype(np.float32)
    labels = rng.integers(0, cfg["classes"], cfg["batch"])

    # The float64 truth, and the same training in PyTorch float32: its error
    # on each compared tensor says how well float32 can resolve that tensor.
    # "faithful" updates every parameter with its float32 gradient, noise
    # included (as the C test's first run); "shadow" pins the parameters that
    # are zero by structure, as the truth does (the C test's second run).
    truth = Trainer(cfg, init, inputs.astype(np.float64), labels, torch.float64)
    faithful = Trainer(cfg, init, inputs, labels, torch.float32)
    shadow = Trainer(cfg, init, inputs, labels, torch.float32)

    records = []
    worst = {}

    def put(name, value, float32_error=None, group=None):
        array = value.detach().cpu().numpy() if torch.is_tensor(value) else np.asarray(value)
        records.append((prefix + "/" + name, np.ascontiguousarray(array, dtype=np.float64)))
        if float32_error is not None:
            records.append((prefix + "/float32/" + name, np.asarray(float32_error, dtype=np.float64)))
            worst[group] = max(worst.get(group, 0.0), float32_error)

    put("config/depth", cfg["depth"])
    put("config/width", cfg["width"])
    put("config/clip", list(cfg["clip"]))
    put("config/batch", cfg["batch"])
    put("config/classes", cfg["classes"])
    put("config/l2", L2)
    put("config/learning_rate", LEARNING_RATE)
    put("config/beta1", BETA1)
    put("config/beta2", BETA2)
    put("config/epsilon", EPSILON)
    put("config/steps", STEPS)
    put("config/seed", seed)
    put("input", inputs)
    put("labels", labels.astype(np.float64))
    for name, value in init.items():
        put("init/" + name, value)

    margin_ratio = math.inf
    for t in range(1, STEPS + 1):
        record, logits, loss = truth.forward_backward()
        record32, logits32, _ = faithful.forward_backward()
        _, _, loss32 = shadow.forward_backward()
        if t == 1:
            grads = truth.net.keras_gradients()
            grads32 = faithful.net.keras_gradients()
            pinned = zero_by_structure(truth.net, grads)
            truth.pinned = shadow.pinned = pinned
            for layer_name, margin in decision_margins(truth.net, record).items():
                error = max(normwise(record32[layer_name], record[layer_name]), FLOAT32_UNIT)
                margin_ratio = min(margin_ratio, margin / error)
            for s in truth.net.spec:
                if s.kind != "input":
                    put("step1/output/" + s.name, record[s.name],
                        normwise(record32[s.name], record[s.name]), "output")
            put("step1/logits", logits, normwise(logits32, logits), "output")
            put("step1/l2_penalty", truth.net.l2_penalty(L2).item())
            for s in truth.net.spec:
                params = ["%s/%s" % (s.name, role) for role, _ in s.params if not role.startswith("moving_")]
                layer_scale = max((grads[n].abs().max().item() for n in params), default=0.0)
                for name in params:
                    if name in pinned:
                        error = (grads32[name].double() - grads[name]).abs().max().item() / layer_scale
                        put("step1/grad/" + name, grads[name], error, "zero-by-structure gradient")
                    else:
                        put("step1/grad/" + name, grads[name], normwise(grads32[name], grads[name]), "gradient")
        put("step%d/data_loss" % t, loss.item(), abs(loss32.item() - loss.item()) / abs(loss.item()), "loss")
        truth.update()
        faithful.update()
        shadow.update()

    final = truth.net.keras_weights()
    final32 = shadow.net.keras_weights()
    for name, value in final.items():
        error = final_error(final32[name], value, torch.from_numpy(init[name]).double())
        put("final/" + name, value, error, "final")
    return records, margin_ratio, worst


def write_fixture(path, records):
    with open(path, "wb") as f:
        f.write(MAGIC)
        f.write(struct.pack("<I", len(records)))
        for name, array in records:
            encoded = name.encode("utf-8")
            f.write(struct.pack("<I", len(encoded)))
            f.write(encoded)
            f.write(struct.pack("<I", array.ndim))
            if array.ndim:
                f.write(struct.pack("<%dI" % array.ndim, *array.shape))
            f.write(array.astype("<f4").tobytes())


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_reference.py OUTPUT.bin")
    torch.set_num_threads(2)
    records = []
    for prefix, cfg in CONFIGS:
        for attempt in range(SEED_ATTEMPTS):
            seed = BASE_SEED + attempt
            config_records, margin_ratio, worst = run_reference(prefix, cfg, seed)
            conditioned = all(worst[group] <= limit for group, limit in FLOAT32_LIMITS.items())
            summary = ", ".join("%s %.1e" % (g, worst[g]) for g in sorted(worst))
            if margin_ratio >= MARGIN_RATIO and conditioned:
                break
            print("%s: seed %d rejected: margin/float32 error %.1f, float32 worst: %s"
                  % (prefix, seed, margin_ratio, summary), file=sys.stderr)
        else:
            sys.exit("%s: no seed in %d attempts is well-conditioned" % (prefix, SEED_ATTEMPTS))
        print("%s: seed %d, margin/float32 error %.1f, float32 worst: %s; %d records"
              % (prefix, seed, margin_ratio, summary, len(config_records)), file=sys.stderr)
        records += config_records
    write_fixture(sys.argv[1], records)
    size = os.path.getsize(sys.argv[1])
    print("wrote %s: %d records, %.2f MB" % (sys.argv[1], len(records), size / 1e6), file=sys.stderr)


if __name__ == "__main__":
    main()
