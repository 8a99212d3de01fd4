#!/usr/bin/env python3
"""keras_nan.py: a natural NaN in real tf.keras and in nanprobe, and the
seed's three arms in real tf.keras (docs/keras-reference.md).  Research,
not a test: it prints what happened; nothing is committed from it.

  nan   ResNet3D-18 width 8, 8x32x32x3 clips, 5 classes, batch 8, 56
        training clips, Adam at a learning rate that diverges (--lr, 200),
        L2 1e-4, he_normal.  The same start (a tf_keras file, nanprobe
        train --from-keras) and the same batches (the sample ids nanprobe
        drew, fed to Keras by a Sequence).  nanprobe's sentinel names the
        first non-finite tensor; on Keras' side a callback keeps the weights
        before every step and, when the loss turns non-finite, runs that
        step's forward pass again layer by layer (training mode) to name the
        first layer whose output is non-finite; it also names the first
        variable (weights and moving statistics) that turns non-finite.
  arms  the seed's three arms (he_normal alone, L2 alone, both) with
        model.fit at a reduced size (ResNet3D-34 width 8, 8x32x32x3, the
        seed's Adam(1e-3), ReduceLROnPlateau, EarlyStopping off), each for
        --seconds of wall time: val_loss per epoch and the first NaN if any.

    .tf-env/bin/python tools/keras_nan.py nan --nanprobe ./nanprobe --work DIR
    .tf-env/bin/python tools/keras_nan.py arms --seconds 150 --work DIR
"""
import argparse
import os
import sqlite3
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import tf_keras  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import resnet3d_seed  # noqa: E402

CLIP, CLASSES, BATCH, TRAIN, VAL = (8, 32, 32, 3), 5, 8, 56, 8


def write_data(folder, seed=5):
    rng = np.random.default_rng(seed)
    n = TRAIN + VAL
    labels = (np.arange(n) % CLASSES).astype(np.int32)
    pixels = np.clip(rng.integers(0, 160, size=(n,) + CLIP) + 20 * labels[:, None, None, None, None], 0,
                     255).astype(np.uint8)
    np.save(os.path.join(folder, "train_clips.npy"), pixels[:TRAIN])
    np.save(os.path.join(folder, "train_labels.npy"), labels[:TRAIN])
    np.save(os.path.join(folder, "val_clips.npy"), pixels[TRAIN:])
    np.save(os.path.join(folder, "val_labels.npy"), labels[TRAIN:])
    return pixels.astype(np.float32) / np.float32(255), np.eye(CLASSES, dtype=np.float32)[labels]


class Batches(tf_keras.utils.Sequence):
    def __init__(self, x, y, ids):
        super().__init__()
        self.x, self.y, self.ids, self.epoch = x, y, ids, 0

    def __len__(self):
        return TRAIN // BATCH

    def __getitem__(self, i):
        ids = self.ids[min(self.epoch * len(self) + i, len(self.ids) - 1)]
        return self.x[ids], self.y[ids]

    def on_epoch_end(self):
        self.epoch += 1


class FirstNonFinite(tf_keras.callbacks.Callback):
    def __init__(self, batches):
        super().__init__()
        self.batches, self.step, self.found, self.first_weight = batches, 0, None, None

    def on_train_batch_begin(self, batch, logs=None):
        self.before, self.batch = self.model.get_weights(), batch

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        after = self.model.get_weights()
        # a moving statistic can overflow while the loss is still finite (nanprobe's sentinel sees it)
        for v, value in zip(self.model.weights, after):
            if not np.all(np.isfinite(value)) and self.first_weight is None:
                self.first_weight = (self.step, v.name, int((~np.isfinite(value)).sum()), int(value.size))
        if np.isfinite(logs["loss"]):
            return
        self.model.set_weights(self.before)
        x, _ = self.batches[self.batch]
        probe = tf_keras.Model(self.model.inputs, [l.output for l in self.model.layers[1:]])
        outputs = probe(x, training=True)
        for layer, out in zip(self.model.layers[1:], outputs):
            out = np.asarray(out)
            if not np.all(np.isfinite(out)):
                bad = ~np.isfinite(out)
                self.found = (self.step, layer.name, int(bad.sum()), int(bad.size), "inf" if np.isinf(out).any()
                              else "nan")
                break
        else:
            self.found = (self.step, "(no layer output; the loss only)", 0, 0, "")
        self.model.set_weights(after)
        self.model.stop_training = True


def run_nan(a):
    os.makedirs(a.work, exist_ok=True)
    x, y = write_data(a.work)
    tf_keras.utils.set_random_seed(7)
    resnet3d_seed.build(18, CLIP, CLASSES, 8, "he_normal").save(os.path.join(a.work, "init.h5"))
    run = os.path.join(a.work, "run")
    subprocess.run(["rm", "-rf", run])
    start = time.time()
    rc = subprocess.run([a.nanprobe, "train", "--from-keras", os.path.join(a.work, "init.h5"), "--data", a.work,
                         "--batch", str(BATCH), "--lr", str(a.lr), "--epochs", "8", "--threads", "1", "--no-report",
                         "--quiet", "--snapshot-every", "0", "--out", run]).returncode
    db = sqlite3.connect(os.path.join(run, "run.db"))
    ids = [[int(i) for i in s.split(",")] for (s,) in db.execute("SELECT sample_ids FROM steps ORDER BY step")]
    event = db.execute("SELECT step, message FROM events WHERE kind = 'nan' ORDER BY step LIMIT 1").fetchone()
    print("nanprobe (exit %d, %.0f s): %s" % (rc, time.time() - start, event[1] if event else "no NaN"))
    # Keras: the same start, batches and optimizer; stops at the first non-finite loss.
    model = resnet3d_seed.build(18, CLIP, CLASSES, 8, "he_normal")
    model.load_weights(os.path.join(a.work, "init.h5"))
    model.compile(optimizer=tf_keras.optimizers.Adam(learning_rate=a.lr), loss="categorical_crossentropy")
    batches = Batches(x, y, ids + ids[-1:] * 64)
    finder = FirstNonFinite(batches)
    start = time.time()
    model.fit(batches, epochs=8, shuffle=False, verbose=0, callbacks=[finder],
              validation_data=(x[TRAIN:], y[TRAIN:]), validation_batch_size=BATCH)
    if finder.first_weight:
        print("tf_keras: first non-finite variable after step %d: %s (%d of %d values)" % finder.first_weight)
    if finder.found:
        s, layer, bad, size, kind = finder.found
        print("tf_keras (%.0f s): step %d: first non-finite layer output %s (%d of %d values, %s)" % (
            time.time() - start, s, layer, bad, size, kind))
    else:
        print("tf_keras (%.0f s): no NaN in %d steps" % (time.time() - start, finder.step))


class EpochLog(tf_keras.callbacks.Callback):
    def __init__(self, seconds):
        super().__init__()
        self.start, self.seconds, self.rows, self.first_nan = time.time(), seconds, [], None

    def on_train_batch_end(self, batch, logs=None):
        if self.first_nan is None and not np.isfinite(logs["loss"]):
            self.first_nan = (len(self.rows) + 1, batch + 1)

    def on_epoch_end(self, epoch, logs=None):
        self.rows.append((epoch + 1, logs["loss"], logs.get("val_loss", float("nan")),
                          float(tf_keras.backend.get_value(self.model.optimizer.learning_rate))))
        if time.time() - self.start > self.seconds:
            self.model.stop_training = True


def run_arms(a):
    os.makedirs(a.work, exist_ok=True)
    x, y = write_data(a.work, seed=11)
    arms = (("he_normal alone", "he_normal", False), ("L2 alone", None, True), ("he_normal + L2", "he_normal", True))
    for name, init, with_l2 in arms:
        resnet3d_seed.use_tf_keras()
        if not with_l2:
            resnet3d_seed.without_l2()
        tf_keras.utils.set_random_seed(3)
        model = resnet3d_seed.build(34, CLIP, CLASSES, 8, init)
        model.compile(optimizer=tf_keras.optimizers.Adam(learning_rate=1e-3), loss="categorical_crossentropy",
                      metrics=["accuracy"])
        log = EpochLog(a.seconds)
        reduce = tf_keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.1, patience=1, verbose=0,
                                                      mode="min", min_lr=1e-4)
        model.fit(x[:TRAIN], y[:TRAIN], batch_size=BATCH, epochs=1000, verbose=0, callbacks=[reduce, log],
                  validation_data=(x[TRAIN:], y[TRAIN:]))
        print("arm %s: %d epochs in %.0f s; first NaN %s; L2 terms %d" % (
            name, len(log.rows), time.time() - log.start,
            "at epoch %d batch %d" % log.first_nan if log.first_nan else "none", len(model.losses)))
        for e, loss, val, lr in log.rows:
            print("  epoch %3d  loss %.4f  val_loss %.4f  lr %.0e" % (e, loss, val, lr))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=["nan", "arms"])
    p.add_argument("--nanprobe", default="./nanprobe")
    p.add_argument("--work", default="/tmp/nanprobe-keras-nan")
    p.add_argument("--lr", type=float, default=200.0)
    p.add_argument("--seconds", type=float, default=150.0)
    a = p.parse_args()
    run_nan(a) if a.what == "nan" else run_arms(a)


if __name__ == "__main__":
    main()
