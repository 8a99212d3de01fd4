#!/usr/bin/env python3
"""Keras' side of nanprobe's precision checks (make check-tf-precision).

  /work/tf-env/bin/python tools/check_tf_precision.py tests/precision

Writes tests/precision/loss_scale_keras.txt: for a planted pattern of
finite / non-finite gradient steps, the loss scale after each step as
tf_keras 2.x's LossScaleOptimizer and Keras 3's LossScaleOptimizer move it
(real optimizers applying real gradients of a one-variable model; a
non-finite step gets an Inf gradient).  tests/test_precision.c replays the
same pattern through src/optim/loss_scale.c and must match tf_keras step
for step, and Keras 3 wherever Keras 3's scale is >= 1 (below that Keras 3
has no floor).  Columns: step finite tf_keras_scale keras3_scale.
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402


def pattern():
    """1-3 non-finite; 4-2004 finite (growth on the 2000th); 2005-2024 non-finite (to the floor); 2025-2030 finite."""
    finite = []
    finite += [False] * 3
    finite += [True] * 2001
    finite += [False] * 20
    finite += [True] * 6
    return finite


def tf_keras_scales(steps):
    import tensorflow as tf
    import tf_keras
    var = tf.Variable(1.0)
    opt = tf_keras.mixed_precision.LossScaleOptimizer(tf_keras.optimizers.SGD(0.0))
    scales = []
    for ok in steps:
        grad = tf.constant(1.0 if ok else float("inf"))
        opt.apply_gradients([(grad, var)])
        scales.append(float(opt.loss_scale.numpy()))
    return scales


def keras3_scales(steps):
    import keras
    var = keras.Variable(1.0)
    opt = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.0))
    opt.build([var])
    scales = []
    for ok in steps:
        grad = keras.ops.convert_to_tensor(1.0 if ok else float("inf"))
        opt.apply([grad], [var])
        scales.append(float(keras.ops.convert_to_numpy(opt.dynamic_scale)))
    return scales


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "tests/precision"
    os.makedirs(out_dir, exist_ok=True)
    steps = pattern()
    a, b = tf_keras_scales(steps), keras3_scales(steps)
    path = os.path.join(out_dir, "loss_scale_keras.txt")
    import tensorflow as tf
    import keras
    import tf_keras
    with open(path, "w") as f:
        f.write(f"# tf_keras {tf_keras.__version__}, keras {keras.__version__}, tensorflow {tf.__version__}\n")
        f.write("# step finite tf_keras_scale keras3_scale (the scale after the step)\n")
        for i, (ok, x, y) in enumerate(zip(steps, a, b)):
            f.write(f"{i + 1} {int(ok)} {x:.9g} {y:.9g}\n")
    print(f"{path}: {len(steps)} steps; tf_keras ends at {a[-1]:g}, keras 3 at {b[-1]:g}")
    np.testing.assert_equal(len(a), len(steps))


if __name__ == "__main__":
    main()
