#!/usr/bin/env python3
"""Keras' side of nanprobe's precision checks (make check-tf-precision).

  /work/tf-env/bin/python tools/check_tf_precision.py tests/precision [NANPROBE]

1. Writes tests/precision/{train,val}_{clips,labels}.npy (4 clips 4x16x16x2,
   3 classes) and, for float32, mixed_float16 and mixed_bfloat16, trains
   nanprobe one step there (lr 1e-30, l2 0: the weights stay put, the
   BatchNorm moving statistics take one step), exports it with
   `nanprobe export-keras`, rebuilds that model in tf_keras under the same
   dtype policy and evaluates it on the validation clips in inference mode.
   Keras' loss goes to tests/precision/forward_keras.txt; test_precision
   reruns the nanprobe side and compares its val_loss.  The Keras copy's
   Dense has no softmax (the loss takes float32 softmax of its logits, as
   nanprobe's emulation and Keras' advice for mixed precision do), and
   under mixed_float16 its pooling layers are float32 (TensorFlow's CPU has
   no float16 MaxPool3D): exact for the max, and the average is rounded to
   float16 once by the next layer's cast, as in the emulation.
2. Writes tests/precision/loss_scale_keras.txt: for a planted pattern of
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


POLICIES = ("float32", "mixed_float16", "mixed_bfloat16")
MODEL = ["--depth=18", "--width=4", "--classes=3", "--batch=4", "--normalize=none", "--train-clips=4",
         "--val-clips=4", "--epochs=1", "--lr=1e-30", "--l2=0", "--quiet", "--no-report"]


def write_data(out_dir):
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((4, 4, 16, 16, 2)) * 2 + 0.5).astype(np.float32)
    y = np.array([0, 1, 2, 1], dtype=np.int64)
    for split in ("train", "val"):
        np.save(os.path.join(out_dir, f"{split}_clips.npy"), x)
        np.save(os.path.join(out_dir, f"{split}_labels.npy"), y)
    return x, y


def keras_model(h5, policy):
    import json
    import h5py
    import tf_keras
    with h5py.File(h5, "r") as f:
        config = json.loads(f.attrs["model_config"])
    for layer in config["config"]["layers"]:
        c = layer["config"]
        if layer["class_name"] == "InputLayer":
            c.pop("trainable", None)  # tf_keras 2.21 rejects it
        elif policy != "float32":
            pool = layer["class_name"] in ("MaxPooling3D", "AveragePooling3D") and policy == "mixed_float16"
            c["dtype"] = "float32" if pool else {"class_name": "Policy", "config": {"name": policy}}
        if layer["class_name"] == "Dense":
            c["activation"] = "linear"
    model = tf_keras.models.model_from_json(json.dumps(config))
    model.load_weights(h5)
    return model


def forward_losses(out_dir, nanprobe):
    import subprocess
    import tempfile
    import tensorflow as tf
    x, y = write_data(out_dir)
    rows = []
    with tempfile.TemporaryDirectory(prefix="check-tf-precision-") as work:
        for policy in POLICIES:
            run = os.path.join(work, policy)
            h5 = run + ".h5"
            subprocess.run([nanprobe, "train", f"--data={out_dir}", f"--precision={policy}", f"--out={run}"] + MODEL,
                           check=True)
            subprocess.run([nanprobe, "export-keras", run, "-o", h5], check=True, capture_output=True)
            logits = keras_model(h5, policy)(x, training=False)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, tf.cast(logits, tf.float32)))
            rows.append((policy, float(loss)))
    with open(os.path.join(out_dir, "forward_keras.txt"), "w") as f:
        f.write("# policy keras_val_loss (tools/check_tf_precision.py; nanprobe options: " + " ".join(MODEL) + ")\n")
        for policy, loss in rows:
            f.write(f"{policy} {loss:.9g}\n")
    print("forward:", ", ".join(f"{p} {l:.6g}" for p, l in rows))


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "tests/precision"
    nanprobe = sys.argv[2] if len(sys.argv) > 2 else "./nanprobe"
    os.makedirs(out_dir, exist_ok=True)
    forward_losses(out_dir, nanprobe)
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
