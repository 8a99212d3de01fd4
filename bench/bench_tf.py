#!/usr/bin/env python3
"""bench_tf.py: the TensorFlow peer of `make bench`: the framework the
user actually runs.  The seed's Resnet3DBuilder (tools/resnet3d_seed.py, run
by tf_keras) at the seed's setup, trained with model.fit exactly as the seed
compiles it (Adam(learning_rate=1e-3), categorical_crossentropy, L2 1e-4 on
every kernel, he_normal) on a fixed random batch repeated; a callback times
every batch of fit().  Prints one JSON line (the last line), as
bench_torch.py does.

    .tf-env/bin/python bench/bench_tf.py [--steps 10] [--warmup 2] [--threads 2]
        [--depth 34] [--width 64] [--clip 16x112x112x3] [--batch 8] [--classes 10]
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--depth", type=int, default=34)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--clip", default="16x112x112x3")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--classes", type=int, default=10)
    a = p.parse_args()
    import numpy as np
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(a.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import tf_keras
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
    import resnet3d_seed

    clip = tuple(int(v) for v in a.clip.split("x"))
    tf_keras.utils.set_random_seed(1)
    model = resnet3d_seed.build(a.depth, clip, a.classes, a.width, "he_normal")
    model.compile(optimizer=tf_keras.optimizers.Adam(learning_rate=1e-3), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    rng = np.random.default_rng(1)
    x = rng.random((a.batch,) + clip, dtype=np.float32)
    y = np.eye(a.classes, dtype=np.float32)[rng.integers(0, a.classes, a.batch)]
    data = tf.data.Dataset.from_tensors((x, y)).repeat(a.warmup + a.steps)

    class Timer(tf_keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times, self.cpu = [], []

        def on_train_batch_begin(self, batch, logs=None):
            self.start, self.cpu_start = time.perf_counter(), time.process_time()

        def on_train_batch_end(self, batch, logs=None):
            self.times.append(time.perf_counter() - self.start)
            self.cpu.append(time.process_time() - self.cpu_start)
            print("step %d: %.3f s, loss %.4f" % (batch + 1, self.times[-1], logs["loss"]), file=sys.stderr)

    timer = Timer()
    load_before = os.getloadavg()[0]
    model.fit(data, epochs=1, verbose=0, callbacks=[timer])
    times = timer.times[a.warmup:]
    print(json.dumps({
        "framework": "tensorflow", "tensorflow": tf.__version__, "tf_keras": tf_keras.__version__,
        "threads": a.threads, "depth": a.depth, "width": a.width, "clip": list(clip), "batch": a.batch,
        "warmup": a.warmup, "steps": a.steps, "seconds_per_step_median": round(statistics.median(times), 4),
        "seconds_per_step_all": [round(t, 4) for t in times],
        "cpu_seconds_per_step_median": round(statistics.median(timer.cpu[a.warmup:]), 4),
        "load_average_before": round(load_before, 2), "load_average_after": round(os.getloadavg()[0], 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)}))


if __name__ == "__main__":
    main()
