"""torch_resnet3d.py: the seed's ResNet3D (JihongJu/keras-resnet3d) in PyTorch,
layer for layer the network src/model/model.c builds, with tf.keras semantics.

It is the independent side of two checks: tests/reference/make_reference.py
runs it in float64 to produce the parity fixture, and bench/bench_torch.py
times it as the PyTorch peer of `make bench`.

What has to match Keras rather than PyTorch's defaults, and how:
  - Layout.  Keras is channels-last.  forward() takes (N, D, H, W, C) and
    permutes it to PyTorch's logical NCDHW; the permuted view already has
    channels-last strides, i.e. it *is* torch.channels_last_3d memory, so the
    data is never transposed on the way in.  Kernels are exchanged in Keras
    layout, (kd, kh, kw, Cin, Cout) for Conv3D and (in, out) for Dense, through
    keras_weights() / load_keras_weights() / keras_gradients().
  - 'same' padding is TensorFlow's: out = ceil(in / s),
    total = max(0, (out-1)*s + k - in), floor(total/2) cells before and the
    rest after.  PyTorch's own padding argument is symmetric, so an uneven
    split (every stride-2 layer here) goes through F.pad and a 'valid'
    convolution; an even split may use the convolution's padding argument,
    which pads the same zeros without a copy.
  - MaxPooling3D 'same' pads with -inf, so padded cells never win.
  - Shortcut: 1x1x1 Conv3D, stride ceil(in/out) per axis, 'valid', applied to
    the block input as is; identity when shapes and channels match.
  - BatchNormalization: momentum 0.99 (PyTorch momentum 0.01), epsilon 1e-3,
    biased batch variance to normalize, unbiased n/(n-1) in the moving
    variance (TensorFlow's CPU kernel uses n/1 when n == 1, where PyTorch's
    batch_norm refuses to train; that case is written out by hand).
  - Names.  Every layer gets the Keras auto-name in creation order (conv3d,
    conv3d_1, ..., batch_normalization_k, activation_k, max_pooling3d, add_k,
    average_pooling3d, flatten, dense, input_1) and every parameter is
    "<layer>/<role>", exactly as src/model/model.c assigns them.

Run as a script it prints the layer table (name, class, path, output shape,
parameters, inputs) in the columns of `nanprobe`'s summary, so the two can be
compared line by line:
    /usr/bin/python3 tools/torch_resnet3d.py --depth 18 --width 64 \
        --clip 16x112x112x3 --classes 10
"""

import argparse
import math
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

KERAS_MOMENTUM = 0.99
KERAS_EPSILON = 1e-3

# depth -> (bottleneck blocks?, repetitions per stage), as Resnet3DBuilder.
DEPTHS = {
    18: (False, (2, 2, 2, 2)),
    34: (False, (3, 4, 6, 3)),
    50: (True, (3, 4, 6, 3)),
    101: (True, (3, 4, 23, 3)),
    152: (True, (3, 8, 36, 3)),
}

KERAS_CLASS = {
    "input": "InputLayer", "conv": "Conv3D", "bn": "BatchNormalization",
    "relu": "Activation", "maxpool": "MaxPooling3D", "avgpool": "AveragePooling3D",
    "flatten": "Flatten", "dense": "Dense", "add": "Add",
}
KERAS_PREFIX = {
    "input": "input", "conv": "conv3d", "bn": "batch_normalization",
    "relu": "activation", "maxpool": "max_pooling3d", "avgpool": "average_pooling3d",
    "flatten": "flatten", "dense": "dense", "add": "add",
}


def same_padding(size, kernel, stride):
    """TensorFlow 'same' along one axis: (out, pad_before, pad_after)."""
    out = -(-size // stride)
    total = max(0, (out - 1) * stride + kernel - size)
    return out, total // 2, total - total // 2


def valid_size(size, kernel, stride):
    return (size - kernel) // stride + 1 if size >= kernel else 0


class LayerSpec:
    """One Keras layer: kind, auto-name, structural path, inputs (layer
    names), per-sample output shape and, for Conv3D / pooling, the window."""

    def __init__(self, kind, name, path, inputs, shape, **window):
        self.kind = kind
        self.name = name
        self.path = path
        self.inputs = inputs
        self.shape = tuple(shape)
        self.kernel = window.get("kernel")
        self.stride = window.get("stride")
        self.pads = window.get("pads")  # ((before, after) per axis) or None
        self.params = []  # (role, Keras shape)


def parse_clip(text):
    dims = tuple(int(v) for v in text.lower().split("x"))
    if len(dims) != 4 or min(dims) < 1:
        raise argparse.ArgumentTypeError("clip must be DxHxWxC, e.g. 16x112x112x3")
    return dims


def build_spec(depth, width=64, clip=(16, 112, 112, 3), classes=10):
    """The layer list of src/model/model.c's builder, in Keras creation order."""
    if depth not in DEPTHS:
        raise ValueError("unsupported depth %d (expected 18, 34, 50, 101 or 152)" % depth)
    bottleneck, repetitions = DEPTHS[depth]
    layers = []
    counts = {}

    def add(kind, path, inputs, shape, **window):
        k = counts.get(kind, 0)
        counts[kind] = k + 1
        if kind == "input":
            name = "input_%d" % (k + 1)  # Keras numbers Input layers from 1
        else:
            name = KERAS_PREFIX[kind] + ("_%d" % k if k else "")
        spec = LayerSpec(kind, name, path, inputs, shape, **window)
        layers.append(spec)
        return spec

    def conv(path, x, filters, k, stride, padding):
        sizes, pads = [], []
        for axis in range(3):
            if padding == "same":
                out, before, after = same_padding(x.shape[axis], k, stride[axis])
            else:
                out, before, after = valid_size(x.shape[axis], k, stride[axis]), 0, 0
            if out < 1:
                raise ValueError("Conv3D kernel %d does not fit input size %d" % (k, x.shape[axis]))
            sizes.append(out)
            pads.append((before, after))
        spec = add("conv", path, [x.name], sizes + [filters],
                   kernel=(k, k, k), stride=tuple(stride), pads=tuple(pads))
        spec.params = [("kernel", (k, k, k, x.shape[3], filters)), ("bias", (filters,))]
        return spec

    def batchnorm(path, x):
        spec = add("bn", path, [x.name], x.shape)
        c = x.shape[3]
        spec.params = [(role, (c,)) for role in ("gamma", "beta", "moving_mean", "moving_variance")]
        return spec

    def relu(path, x):
        return add("relu", path, [x.name], x.shape)

    def bn_relu_conv(prefix, unit, x, filters, k, stride):
        x = batchnorm("%s.bn%d" % (prefix, unit), x)
        x = relu("%s.relu%d" % (prefix, unit), x)
        return conv("%s.conv%d" % (prefix, unit), x, filters, k, (stride,) * 3, "same")

    def shortcut_and_merge(prefix, block_input, residual):
        stride = tuple(-(-block_input.shape[a] // residual.shape[a]) for a in range(3))
        shortcut = block_input
        if max(stride) > 1 or block_input.shape[3] != residual.shape[3]:
            shortcut = conv(prefix + ".shortcut", block_input, residual.shape[3], 1, stride, "valid")
            if shortcut.shape[:3] != residual.shape[:3]:
                raise ValueError("shortcut of %s does not match its residual's shape" % prefix)
        return add("add", prefix + ".add", [shortcut.name, residual.name], residual.shape)

    def block(prefix, x, filters, stride, first_of_first_stage):
        k1 = 1 if bottleneck else 3
        if first_of_first_stage:
            # The stem already did BN -> ReLU -> max pool.
            y = conv(prefix + ".conv1", x, filters, k1, (stride,) * 3, "same")
        else:
            y = bn_relu_conv(prefix, 1, x, filters, k1, stride)
        if bottleneck:
            y = bn_relu_conv(prefix, 2, y, filters, 3, 1)
            y = bn_relu_conv(prefix, 3, y, filters * 4, 1, 1)
        else:
            y = bn_relu_conv(prefix, 2, y, filters, 3, 1)
        return shortcut_and_merge(prefix, x, y)

    x = add("input", "input", [], clip)
    x = conv("stem.conv", x, width, 7, (2, 2, 2), "same")
    x = batchnorm("stem.bn", x)
    x = relu("stem.relu", x)
    sizes, pads = [], []
    for axis in range(3):
        out, before, after = same_padding(x.shape[axis], 3, 2)
        sizes.append(out)
        pads.append((before, after))
    x = add("maxpool", "stem.pool", [x.name], sizes + [x.shape[3]],
            kernel=(3, 3, 3), stride=(2, 2, 2), pads=tuple(pads))

    filters = width
    for s, reps in enumerate(repetitions):
        for r in range(reps):
            stride = 2 if (r == 0 and s > 0) else 1
            x = block("stage%d.block%d" % (s + 1, r + 1), x, filters, stride, s == 0 and r == 0)
        filters *= 2

    x = batchnorm("head.bn", x)
    x = relu("head.relu", x)
    channels = x.shape[3]
    x = add("avgpool", "head.avgpool", [x.name], (1, 1, 1, channels))
    x = add("flatten", "head.flatten", [x.name], (channels,))
    x = add("dense", "head.dense", [x.name], (classes,))
    x.params = [("kernel", (channels, classes)), ("bias", (classes,))]
    return layers


def _torch_pad(pads):
    """F.pad's argument for ((d0, d1), (h0, h1), (w0, w1)): last axis first."""
    (d0, d1), (h0, h1), (w0, w1) = pads
    return (w0, w1, h0, h1, d0, d1)


def keras_to_torch_kernel(kernel):
    """(kd, kh, kw, Cin, Cout) -> (Cout, Cin, kd, kh, kw)."""
    return kernel.permute(4, 3, 0, 1, 2)


def torch_to_keras_kernel(weight):
    return weight.permute(2, 3, 4, 1, 0)


class Conv3DLayer(nn.Module):
    def __init__(self, spec, in_channels):
        super().__init__()
        k, cout = spec.kernel, spec.shape[3]
        self.stride = spec.stride
        self.pads = spec.pads
        self.symmetric = all(before == after for before, after in spec.pads)
        self.weight = nn.Parameter(torch.zeros(cout, in_channels, *k))
        self.bias = nn.Parameter(torch.zeros(cout))

    def forward(self, x):
        if self.symmetric:
            padding = tuple(before for before, _ in self.pads)
            return F.conv3d(x, self.weight, self.bias, self.stride, padding)
        return F.conv3d(F.pad(x, _torch_pad(self.pads)), self.weight, self.bias, self.stride)


class BatchNormLayer(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))
        self.register_buffer("moving_mean", torch.zeros(channels))
        self.register_buffer("moving_variance", torch.ones(channels))

    def forward(self, x):
        cells = x.numel() // x.shape[1]
        if not self.training or cells > 1:
            return F.batch_norm(x, self.moving_mean, self.moving_variance, self.gamma, self.beta,
                                training=self.training, momentum=1.0 - KERAS_MOMENTUM,
                                eps=KERAS_EPSILON)
        # n == 1: the variance is 0 and TensorFlow's CPU kernel scales it by
        # n/1, so the moving variance only decays.
        mean = x.mean(dim=(0, 2, 3, 4))
        with torch.no_grad():
            self.moving_mean.mul_(KERAS_MOMENTUM).add_(mean.detach(), alpha=1.0 - KERAS_MOMENTUM)
            self.moving_variance.mul_(KERAS_MOMENTUM)
        shape = (1, -1, 1, 1, 1)
        inverse_std = 1.0 / math.sqrt(KERAS_EPSILON)
        return (x - mean.view(shape)) * (self.gamma * inverse_std).view(shape) + self.beta.view(shape)


class MaxPoolLayer(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.kernel, self.stride, self.pads = spec.kernel, spec.stride, spec.pads

    def forward(self, x):
        x = F.pad(x, _torch_pad(self.pads), value=-math.inf)
        return F.max_pool3d(x, self.kernel, self.stride)


class DenseLayer(nn.Module):
    def __init__(self, features, classes):
        super().__init__()
        self.kernel = nn.Parameter(torch.zeros(features, classes))  # Keras (in, out)
        self.bias = nn.Parameter(torch.zeros(classes))

    def forward(self, x):
        return torch.addmm(self.bias, x, self.kernel)


class ResNet3D(nn.Module):
    """forward((N, D, H, W, C)) -> logits (N, classes).  With record, a dict,
    every layer's output is stored there under its Keras name, channels-last
    ((N, D, H, W, C), or (N, F) after Flatten), as src/model/model.c lays it out."""

    def __init__(self, depth, width=64, clip=(16, 112, 112, 3), classes=10):
        super().__init__()
        self.depth, self.width, self.clip, self.classes = depth, width, tuple(clip), classes
        self.spec = build_spec(depth, width, clip, classes)
        self.by_name = {s.name: s for s in self.spec}
        self.layer_modules = nn.ModuleDict()
        for s in self.spec:
            if s.kind == "conv":
                cin = self.by_name[s.inputs[0]].shape[3]
                self.layer_modules[s.name] = Conv3DLayer(s, cin)
            elif s.kind == "bn":
                self.layer_modules[s.name] = BatchNormLayer(s.shape[3])
            elif s.kind == "maxpool":
                self.layer_modules[s.name] = MaxPoolLayer(s)
            elif s.kind == "dense":
                self.layer_modules[s.name] = DenseLayer(s.params[0][1][0], classes)

    # ---------------------------------------------------------- parameters

    def _tensor_of(self, layer_name, role):
        module = self.layer_modules[layer_name]
        if isinstance(module, Conv3DLayer):
            return module.weight if role == "kernel" else module.bias
        return getattr(module, role)

    def parameter_names(self, trainable_only=False):
        """Keras variable names in src/model/model.c's order."""
        names = []
        for s in self.spec:
            for role, _ in s.params:
                if trainable_only and role.startswith("moving_"):
                    continue
                names.append("%s/%s" % (s.name, role))
        return names

    def keras_tensor(self, name):
        """The live tensor behind a Keras variable name, in PyTorch layout."""
        layer_name, role = name.split("/")
        return self._tensor_of(layer_name, role)

    @staticmethod
    def _to_keras(tensor):
        return torch_to_keras_kernel(tensor) if tensor.dim() == 5 else tensor

    def keras_weights(self):
        """OrderedDict name -> detached tensor in Keras layout."""
        return OrderedDict((n, self._to_keras(self.keras_tensor(n).detach())) for n in self.parameter_names())

    def keras_gradients(self):
        out = OrderedDict()
        for n in self.parameter_names(trainable_only=True):
            g = self.keras_tensor(n).grad
            out[n] = None if g is None else self._to_keras(g.detach())
        return out

    def load_keras_weights(self, weights):
        """weights: name -> array-like in Keras layout; every name must exist."""
        with torch.no_grad():
            for name, value in weights.items():
                target = self.keras_tensor(name)
                value = torch.tensor(np.asarray(value), dtype=target.dtype)
                if value.dim() == 5:
                    value = keras_to_torch_kernel(value)
                if tuple(value.shape) != tuple(target.shape):
                    raise ValueError("%s: shape %s, expected %s" % (name, tuple(value.shape), tuple(target.shape)))
                target.copy_(value)

    def kernels(self):
        """The L2-regularized tensors: every Conv3D and Dense kernel."""
        return [self.keras_tensor(n) for n in self.parameter_names() if n.endswith("/kernel")]

    def l2_penalty(self, lam):
        return lam * sum((w * w).sum() for w in self.kernels())

    def init_he_normal(self, generator=None):
        """Keras he_normal: truncated normal (redrawn outside +-2 sigma),
        sigma = sqrt(2/fan_in)/0.87962566103423978; biases 0, gamma 1, beta 0,
        moving 0/1."""
        with torch.no_grad():
            for name in self.parameter_names():
                t = self.keras_tensor(name)
                role = name.split("/")[1]
                if role != "kernel":
                    t.fill_(1.0 if role in ("gamma", "moving_variance") else 0.0)
                    continue
                keras_shape = tuple(self._to_keras(t).shape)
                fan_in = math.prod(keras_shape[:-1])
                sigma = math.sqrt(2.0 / fan_in) / 0.87962566103423978
                z = torch.randn(t.shape, generator=generator, dtype=t.dtype)
                bad = z.abs() >= 2.0
                while bad.any():
                    z[bad] = torch.randn(int(bad.sum()), generator=generator, dtype=t.dtype)
                    bad = z.abs() >= 2.0
                t.copy_(z * sigma)

    # ------------------------------------------------------------- forward

    def forward(self, x, record=None):
        outputs = {}
        for s in self.spec:
            if s.kind == "input":
                y = x.permute(0, 4, 1, 2, 3)  # NDHWC data as an NCDHW view
            else:
                a = outputs[s.inputs[0]]
                if s.kind in ("conv", "bn", "maxpool", "dense"):
                    y = self.layer_modules[s.name](a)
                elif s.kind == "relu":
                    y = F.relu(a)
                elif s.kind == "add":
                    y = a + outputs[s.inputs[1]]
                elif s.kind == "avgpool":
                    y = a.mean(dim=(2, 3, 4), keepdim=True)
                elif s.kind == "flatten":
                    y = a.flatten(1)
                else:
                    raise AssertionError(s.kind)
            outputs[s.name] = y
            if record is not None:
                record[s.name] = y.permute(0, 2, 3, 4, 1) if y.dim() == 5 else y
        return outputs[self.spec[-1].name]


def summary_rows(spec):
    """(name, class, path, output shape, parameter count, inputs) per layer,
    formatted as nanprobe's summary prints them."""
    rows = []
    for s in spec:
        shape = "(None, %s)" % ", ".join(str(v) for v in s.shape)
        count = sum(math.prod(param_shape) for _, param_shape in s.params)
        rows.append((s.name, KERAS_CLASS[s.kind], s.path, shape, count, ", ".join(s.inputs)))
    return rows


def print_summary(depth, width, clip, classes):
    """The layer table in the columns of nanprobe's summary; it comes from the
    layer list alone, so no tensors are allocated."""
    spec = build_spec(depth, width, clip, classes)
    print('Model: "resnet3d_%d"  (%s blocks, width %d, clip %s, %d classes)'
          % (depth, "bottleneck" if DEPTHS[depth][0] else "basic", width,
             "x".join(str(v) for v in clip), classes))
    rule = "_" * 110
    print(rule)
    print(" %-26s %-26s %-24s %12s  %s" % ("Layer (type)", "Path", "Output Shape", "Param #", "Connected to"))
    print(rule)
    for name, cls, path, shape, count, inputs in summary_rows(spec):
        print(" %-26s %-26s %-24s %12s  %s" % ("%s (%s)" % (name, cls), path, shape,
                                                "{:,}".format(count), inputs))
    print(rule)
    trainable = sum(math.prod(shape) for s in spec for role, shape in s.params
                    if not role.startswith("moving_"))
    frozen = sum(math.prod(shape) for s in spec for role, shape in s.params
                 if role.startswith("moving_"))
    print("Total params: {:,}\nTrainable params: {:,}\nNon-trainable params: {:,}".format(
        trainable + frozen, trainable, frozen))
    print(rule)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--depth", type=int, default=34, choices=sorted(DEPTHS))
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--clip", type=parse_clip, default=(16, 112, 112, 3))
    parser.add_argument("--classes", type=int, default=10)
    args = parser.parse_args()
    print_summary(args.depth, args.width, args.clip, args.classes)


if __name__ == "__main__":
    main()
