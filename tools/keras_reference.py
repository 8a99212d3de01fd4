#!/usr/bin/env python3
"""keras_reference.py: the real-Keras side of tests/test_keras_real.c, made
with tensorflow-cpu 2.21, tf_keras 2.21 and Keras 3.15 (make tf-env).  Run by
`make reference-tf` into tests/keras/real/ (committed) and by `make check-tf`
into a scratch folder (the same checks, live).

Writes OUT/manifest.json and the files it names:
  summary     the seed's Resnet3DBuilder (tools/resnet3d_seed.py) at depths
              18, 34, 50, 101, 152, each at the seed's width 64 on its
              16x112x112x3 clips and at width 2 on 8x32x32x3: per layer of
              model.layers (model.summary()'s rows) name, class, output
              shape, parameter count; trainable and non-trainable totals.
  files       real Keras files of ResNet3D-18 width 2, clip 8x32x32x3, 5
              classes, he_normal, L2 1e-4, trained a few steps on random
              pixels (so Adam's slots and the moving statistics are not
              their initial values):
                tfk_adam.h5        tf_keras model.save(), current Adam
                tfk_legacy_adam.h5 tf_keras model.save(), optimizers.legacy.Adam
                tfk_weights.h5     tf_keras model.save_weights()
                ckpt-01.h5, ckpt-02.h5  ModelCheckpoint per epoch, as the seed's callback
                k3.keras, k3.weights.h5  Keras 3 model.save(), save_weights()
              and for each: every variable's FNV-1a-64 over its float32
              words in model.weights order (bit-for-bit check), Adam's
              iterations and the m, v checksums in model.trainable_variables
              order, and Keras' own loss on the fixed batch (batch.h5):
              inference-mode data loss, training-mode data loss, L2 term.
  roundtrip   the way back: nanprobe trains one step from tfk_adam.h5 and
              export-keras --optimizer writes nanprobe_export.h5; then
              tf_keras load_model() must keep Adam's state (iterations and
              every slot bit for bit, no "Error in loading the saved
              optimizer state"), load_weights() by name and by order must
              restore every weight bit for bit in tf_keras and in Keras 3,
              and Keras 3 load_model() is tried (recorded, see docs).  Keras'
              loss on the batch after load_model() and the state after one
              more train_on_batch() (roundtrip_step.h5) are stored for the
              C side to repeat.  A check that fails stops the script.
  trajectory  real model.fit against nanprobe train from the same start:
              ResNet3D-18 width 2, 8x32x32x3, 5 classes, 16 training clips
              in batches of 4 and 4 validation clips with random labels (so
              val_loss rises and the callbacks act; traj/*.npy), initial
              weights he_normal in traj/init.h5, Adam(1e-3), L2 1e-4, the
              seed's ReduceLROnPlateau and EarlyStopping(patience 4), 12
              epochs at most (4 steps each).  nanprobe runs first; Keras then sees the
              same batches (the sample ids nanprobe's shuffle drew, from
              run.db) through a Sequence.  Stored: Keras' loss per step,
              val_loss and lr per epoch, the final state (traj/final.h5),
              and Keras' own float32 noise on each: the same fit with every
              batch's clips in reverse order (the same math summed in another
              order), differences per step and per variable.
Nothing here is imported by nanprobe; only the outputs are read.

    .tf-env/bin/python tools/keras_reference.py --out DIR [--nanprobe ./nanprobe]
"""
import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import h5py  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import resnet3d_seed  # noqa: E402

SUMMARY_CASES = [(d, 64, (16, 112, 112, 3)) for d in (18, 34, 50, 101, 152)] + \
                [(d, 2, (8, 32, 32, 3)) for d in (18, 34, 50, 101, 152)]
SUMMARY_CLASSES = 10
DEPTH, WIDTH, CLIP, CLASSES, BATCH = 18, 2, (8, 32, 32, 3), 5, 2
SEED = 20261207


def fnv(array):
    """FNV-1a 64 over the little-endian float32 words (test_keras_real.c: same)."""
    h = 0xcbf29ce484222325
    for w in np.ascontiguousarray(array, dtype="<f4").view("<u4").ravel().tolist():
        h = ((h ^ w) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def summary_rows(model):
    rows = []
    for layer in model.layers:
        shape = layer.output_shape if hasattr(layer, "output_shape") else layer.output.shape
        if isinstance(shape, list):
            shape = shape[0]
        rows.append([layer.name, type(layer).__name__, [d for d in shape[1:]], int(layer.count_params())])
    trainable = int(sum(np.prod(v.shape) for v in model.trainable_weights))
    frozen = int(sum(np.prod(v.shape) for v in model.non_trainable_weights))
    return rows, trainable, frozen


def make_summary():
    cases = []
    for depth, width, clip in SUMMARY_CASES:
        model = resnet3d_seed.build(depth, clip, SUMMARY_CLASSES, width)
        rows, trainable, frozen = summary_rows(model)
        cases.append({"depth": depth, "width": width, "clip": list(clip), "classes": SUMMARY_CLASSES,
                      "layers": rows, "trainable": trainable, "non_trainable": frozen})
        print("summary: ResNet3D-%d width %d: %d layers, %d + %d parameters" % (depth, width, len(rows), trainable,
                                                                                frozen), flush=True)
    return cases


def the_data():
    rng = np.random.default_rng(SEED)
    pixels = rng.integers(0, 256, size=(2 * BATCH,) + CLIP, dtype=np.uint8)
    labels = rng.integers(0, CLASSES, size=2 * BATCH).astype(np.int32)
    x = pixels.astype(np.float32) / np.float32(255)  # nanprobe's --normalize scale, the same rounding
    return pixels, labels, x, np.eye(CLASSES, dtype=np.float32)[labels]


def optimizer_state(model):
    """iterations and the m, v lists in model.trainable_variables order, for
    either tf_keras optimizer or Keras 3."""
    opt = model.optimizer
    keys = [id(v) for v in model.trainable_variables]  # Keras 3 keys its slots by the variables themselves
    if hasattr(opt, "get_slot"):  # legacy OptimizerV2
        return (int(opt.iterations.numpy()), [opt.get_slot(v, "m").numpy() for v in model.trainable_variables],
                [opt.get_slot(v, "v").numpy() for v in model.trainable_variables])
    if hasattr(opt, "_momentums"):
        index = {}
        for i, v in enumerate(opt._trainable_variables if hasattr(opt, "_trainable_variables") else
                              model.trainable_variables):
            index[id(v)] = i
        if not all(k in index for k in keys):  # tf_keras keys its variables by _var_key
            index = {opt._var_key(v): opt._index_dict[opt._var_key(v)] for v in model.trainable_variables}
            order = [index[opt._var_key(v)] for v in model.trainable_variables]
        else:
            order = [index[k] for k in keys]
        return (int(opt.iterations.numpy()), [np.asarray(opt._momentums[i]) for i in order],
                [np.asarray(opt._velocities[i]) for i in order])
    raise RuntimeError("unknown optimizer %r" % type(opt))


def keras_losses(model, x, onehot, keras3=False):
    cce = tf_keras.losses.categorical_crossentropy
    if keras3:
        import keras
        cce = keras.losses.categorical_crossentropy
    infer = float(np.mean(np.asarray(cce(onehot, model(x, training=False)))))
    l2 = float(sum(float(np.asarray(t)) for t in model.losses))
    train = float(np.mean(np.asarray(cce(onehot, model(x, training=True)))))
    return {"infer_data": infer, "train_data": train, "l2": l2}


def expectation(name, model, with_optimizer, loss):
    entry = {"file": name, "weights": [[v.name if not hasattr(v, "path") else v.path, list(v.shape),
                                        fnv(np.asarray(v))] for v in model.weights]}
    if with_optimizer:
        t, m, v = optimizer_state(model)
        entry["optimizer"] = {"iterations": t, "m": [fnv(a) for a in m], "v": [fnv(a) for a in v]}
    entry["loss"] = loss
    return entry


class Record(tf_keras.callbacks.Callback):
    """The state at each epoch end, as ModelCheckpoint (after it in the list) saves it."""
    def __init__(self):
        super().__init__()
        self.entries = []

    def on_epoch_end(self, epoch, logs=None):
        self.entries.append(expectation("ckpt-%02d.h5" % (epoch + 1), self.model, True, None))


def make_files(out):
    pixels, labels, x, onehot = the_data()
    with h5py.File(os.path.join(out, "batch.h5"), "w") as f:
        f["pixels"], f["labels"] = pixels[:BATCH], labels[:BATCH]
    batch_x, batch_y = x[:BATCH], onehot[:BATCH]
    entries = []
    tf_keras.utils.set_random_seed(SEED)
    model = resnet3d_seed.build(DEPTH, CLIP, CLASSES, WIDTH, "he_normal")
    model.compile(optimizer=tf_keras.optimizers.Adam(learning_rate=1e-3), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    record = Record()
    checkpoint = tf_keras.callbacks.ModelCheckpoint(os.path.join(out, "ckpt-{epoch:02d}.h5"))
    model.fit(x, onehot, batch_size=BATCH, epochs=2, shuffle=False, verbose=0, callbacks=[record, checkpoint])
    for e in record.entries:  # the checkpoints' loss: reload each (the model has moved on)
        m = tf_keras.models.load_model(os.path.join(out, e["file"]))
        e["loss"] = keras_losses(m, batch_x, batch_y)
    entries += record.entries
    model.save(os.path.join(out, "tfk_adam.h5"))
    model.save_weights(os.path.join(out, "tfk_weights.h5"))
    e_full = expectation("tfk_adam.h5", model, True, None)
    e_weights = expectation("tfk_weights.h5", model, False, None)
    e_full["loss"] = e_weights["loss"] = keras_losses(model, batch_x, batch_y)
    entries += [e_full, e_weights]

    tf_keras.utils.set_random_seed(SEED + 1)
    model = resnet3d_seed.build(DEPTH, CLIP, CLASSES, WIDTH, "he_normal")
    model.compile(optimizer=tf_keras.optimizers.legacy.Adam(learning_rate=1e-3), loss="categorical_crossentropy")
    model.fit(x, onehot, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    model.save(os.path.join(out, "tfk_legacy_adam.h5"))
    entries.append(expectation("tfk_legacy_adam.h5", model, True, None))
    entries[-1]["loss"] = keras_losses(model, batch_x, batch_y)

    import keras
    resnet3d_seed.use_keras3()
    keras.utils.set_random_seed(SEED + 2)
    model = resnet3d_seed.build(DEPTH, CLIP, CLASSES, WIDTH, "he_normal")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="categorical_crossentropy")
    model.fit(x, onehot, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    model.save(os.path.join(out, "k3.keras"))
    model.save_weights(os.path.join(out, "k3.weights.h5"))
    e_archive = expectation("k3.keras", model, True, None)
    e_weights = expectation("k3.weights.h5", model, True, None)
    e_archive["loss"] = e_weights["loss"] = keras_losses(model, batch_x, batch_y, keras3=True)
    entries += [e_archive, e_weights]
    for e in entries:
        print("file: %s, %d variables%s" % (e["file"], len(e["weights"]),
                                           ", Adam t=%d" % e["optimizer"]["iterations"] if "optimizer" in e else ""))
    return {"depth": DEPTH, "width": WIDTH, "clip": list(CLIP), "classes": CLASSES, "batch": BATCH, "l2": 1e-4,
            "batch_file": "batch.h5", "files": entries}


def file_datasets(path, group, names_attr="weight_names"):
    with h5py.File(path, "r") as f:
        g = f[group]
        return [(n.decode() if isinstance(n, bytes) else n, np.asarray(g[n])) for n in g.attrs[names_attr]]


def same_bits(a, b):
    return a.shape == b.shape and np.array_equal(np.asarray(a, "<f4").view("<u4"), np.asarray(b, "<f4").view("<u4"))


def file_weights(path):
    """Every weight of a legacy .h5 in layer_names order."""
    with h5py.File(path, "r") as f:
        g = f["model_weights"] if "model_weights" in f else f
        out = []
        for layer in g.attrs["layer_names"]:
            lg = g[layer]
            out += [np.asarray(lg[n]) for n in lg.attrs["weight_names"]]
        return out


def require(condition, message):
    if not condition:
        sys.exit("keras_reference.py: roundtrip: " + message)


def normwise(ours, ref):
    scale = np.max(np.abs(ref))
    worst = np.max(np.abs(ours.astype(np.float64) - ref))
    return float(worst / scale) if scale > 0 else float(worst)


def keras_step(export, x, labels):
    """tf_keras load_model() of the export, then one train_on_batch()."""
    model = tf_keras.models.load_model(export)
    loss = float(model.train_on_batch(x, labels)[0])
    return model, loss


def make_roundtrip(out, nanprobe):
    import logging
    import subprocess
    import tempfile
    pixels, labels, x, onehot = the_data()
    work = tempfile.mkdtemp(prefix="nanprobe-roundtrip-")
    np.save(os.path.join(work, "train_clips.npy"), pixels)
    np.save(os.path.join(work, "train_labels.npy"), labels)
    export = os.path.join(out, "nanprobe_export.h5")
    # --max-steps counts the file's 4 steps too: 2 steps of nanprobe's own
    run = [nanprobe, "train", "--from-keras", os.path.join(out, "tfk_adam.h5"), "--data", work, "--val-clips", "0",
           "--batch", str(BATCH), "--max-steps", "6", "--threads", "1", "--probes", "off", "--no-report", "--quiet",
           "--out", os.path.join(work, "run")]
    subprocess.run(run, check=True)
    subprocess.run([nanprobe, "export-keras", os.path.join(work, "run"), "-o", export, "--optimizer"], check=True)
    subprocess.run(["rm", "-rf", work], check=True)
    result = {"file": "nanprobe_export.h5"}
    # tf_keras load_model(): the optimizer state must survive (it logs, not raises, when it does not).
    logged = []
    handler = logging.Handler()
    handler.emit = lambda record: logged.append(record.getMessage())
    logging.getLogger("tensorflow").addHandler(handler)
    resnet3d_seed.K.clear_session()
    model = tf_keras.models.load_model(export)
    logging.getLogger("tensorflow").removeHandler(handler)
    slots = file_datasets(export, "optimizer_weights")
    opt_values = [np.asarray(v) for v in model.optimizer.weights]
    require(not any("optimizer" in m and "rror" in m for m in logged), "load_model logged: %s" % logged)
    require(len(opt_values) == len(slots) == 1 + 2 * len(model.trainable_variables),
            "optimizer weights: Keras %d, file %d" % (len(opt_values), len(slots)))
    require(int(opt_values[0]) == int(slots[0][1]) and int(opt_values[0]) > 0, "iterations not restored")
    require(all(same_bits(a, b) for a, (_, b) in zip(opt_values[1:], slots[1:])), "an Adam slot differs")
    weights = file_weights(export)
    require(all(same_bits(np.asarray(v), w) for v, w in zip(model.weights, weights)), "a weight differs")
    result["tf_keras_load_model"] = {"optimizer": type(model.optimizer).__module__ + "." +
                                     type(model.optimizer).__name__, "iterations": int(opt_values[0]),
                                     "slots_bit_identical": 2 * len(model.trainable_variables)}
    batch_x, batch_y = x[:BATCH], onehot[:BATCH]
    result["loss"] = keras_losses(model, batch_x, batch_y)
    # One more step on all 4 clips, twice: in order, and permuted (the same step in exact arithmetic, summed
    # in another order): the difference is Keras' own float32 noise on each variable, the C side's yardstick.
    # export-keras compiles with sparse_categorical_crossentropy (integer labels, as nanprobe reads them).
    model, result["step_loss"] = keras_step(export, x, labels)
    permutation = [3, 1, 0, 2]
    permuted, _ = keras_step(export, x[permutation], labels[permutation])
    result["learning_rate"] = float(tf_keras.backend.get_value(model.optimizer.lr))
    result["iterations_after"] = int(model.optimizer.iterations.numpy())
    with h5py.File(os.path.join(out, "batch.h5"), "a") as f:
        for key in ("step_pixels", "step_labels"):
            if key in f:
                del f[key]
        f["step_pixels"], f["step_labels"] = pixels, labels
    with h5py.File(os.path.join(out, "roundtrip_step.h5"), "w") as f:
        for i, (v, other, before) in enumerate(zip(model.weights, permuted.weights, weights)):
            d = f.create_dataset("%03d" % i, data=np.asarray(v))
            d.attrs["name"] = v.name
            delta = v.trainable  # the update of a weight, the value of a moving statistic
            d.attrs["float32_error"] = normwise(np.asarray(other) - before if delta else np.asarray(other),
                                                np.asarray(v) - before if delta else np.asarray(v))
    # load_weights by name and by order into the seed's model, tf_keras then Keras 3.
    checks = {}
    for by_name in (False, True):
        fresh = resnet3d_seed.build(DEPTH, CLIP, CLASSES, WIDTH, "he_normal")
        fresh.load_weights(export, by_name=by_name)
        checks["tf_keras_load_weights_by_%s" % ("name" if by_name else "order")] = \
            all(same_bits(np.asarray(v), w) for v, w in zip(fresh.weights, weights))
    import keras
    resnet3d_seed.use_keras3()
    for by_name in (False, True):
        fresh = resnet3d_seed.build(DEPTH, CLIP, CLASSES, WIDTH, "he_normal")
        fresh.load_weights(export, by_name=by_name) if by_name else fresh.load_weights(export)
        checks["keras3_load_weights_by_%s" % ("name" if by_name else "order")] = \
            all(same_bits(np.asarray(v), w) for v, w in zip(fresh.weights, weights))
    require(all(checks.values()), "load_weights: %s" % checks)
    # Keras 3 load_model() of a legacy .h5: does Adam's state survive?  Tried on our export and, for
    # comparison, on the real tf_keras legacy-Adam file: recorded, not required (see docs/keras-reference.md).
    import warnings
    for name, path in (("nanprobe_export", export), ("tf_keras_legacy_file", os.path.join(out, "tfk_legacy_adam.h5"))):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            k3 = keras.models.load_model(path)
        saved = [v for _, v in file_datasets(path, "optimizer_weights")]
        k3_vars = [np.asarray(v) for v in k3.optimizer.variables]
        slots = [v for v in k3_vars if v.ndim > 0]
        kept = len(slots) == len(saved) - 1 and all(any(same_bits(a, b) for b in saved) for a in slots)
        checks["keras3_load_model_weights_%s" % name] = all(same_bits(np.asarray(v), w)
                                                           for v, w in zip(k3.weights, file_weights(path)))
        checks["keras3_load_model_slots_kept_%s" % name] = bool(kept)
        result["keras3_load_model_%s" % name] = {"optimizer_variables": len(k3_vars), "file_variables": len(saved),
                                                 "messages": sorted({str(w.message)[:160] for w in caught})}
    result["checks"] = checks
    print("roundtrip: tf_keras load_model kept Adam (t=%d, %d slots); %s" % (
        int(opt_values[0]), result["tf_keras_load_model"]["slots_bit_identical"], checks), flush=True)
    return result


TRAJ_WIDTH, TRAJ_BATCH, TRAJ_TRAIN, TRAJ_VAL, TRAJ_EPOCHS, TRAJ_PATIENCE = 2, 4, 16, 4, 12, 4  # width 4 in the docs' 48-step run


def traj_data(folder):
    rng = np.random.default_rng(SEED + 10)
    n = TRAJ_TRAIN + TRAJ_VAL
    labels = (np.arange(n) % CLASSES).astype(np.int32)
    # validation labels at random: val_loss soon rises, so ReduceLROnPlateau and EarlyStopping act
    labels[TRAJ_TRAIN:] = rng.integers(0, CLASSES, size=TRAJ_VAL)
    # learnable: brightness and one channel carry the class, the rest is noise
    pixels = rng.integers(0, 160, size=(n,) + CLIP).astype(np.int32) + 20 * labels[:, None, None, None, None]
    pixels[..., 0] += 10 * (labels % 3)[:, None, None, None]
    pixels = np.clip(pixels, 0, 255).astype(np.uint8)
    np.save(os.path.join(folder, "train_clips.npy"), pixels[:TRAJ_TRAIN])
    np.save(os.path.join(folder, "train_labels.npy"), labels[:TRAJ_TRAIN])
    np.save(os.path.join(folder, "val_clips.npy"), pixels[TRAJ_TRAIN:])
    np.save(os.path.join(folder, "val_labels.npy"), labels[TRAJ_TRAIN:])
    return pixels.astype(np.float32) / np.float32(255), labels


def nanprobe_run(nanprobe, folder, run):
    import sqlite3
    import subprocess
    subprocess.run([nanprobe, "train", "--from-keras", os.path.join(folder, "init.h5"), "--data", folder,
                    "--batch", str(TRAJ_BATCH), "--epochs", str(TRAJ_EPOCHS), "--early-stopping", str(TRAJ_PATIENCE),
                    "--threads", "1", "--probes", "off", "--no-report", "--quiet", "--snapshot-every", "0",
                    "--out", run], check=True)
    db = sqlite3.connect(os.path.join(run, "run.db"))
    steps = db.execute("SELECT step, epoch, sample_ids, loss FROM steps ORDER BY step").fetchall()
    epochs = db.execute("SELECT epoch, val_loss, lr FROM epochs ORDER BY epoch").fetchall()
    return steps, epochs


class Batches(tf_keras.utils.Sequence):
    """nanprobe's batches, epoch by epoch (reverse: each batch's clips reversed)."""
    def __init__(self, x, onehot, ids, reverse):
        super().__init__()
        self.x, self.onehot, self.ids, self.reverse, self.epoch = x, onehot, ids, reverse, 0

    def __len__(self):
        return TRAJ_TRAIN // TRAJ_BATCH

    def __getitem__(self, i):
        ids = self.ids[self.epoch * len(self) + i]
        ids = ids[::-1] if self.reverse else ids
        return self.x[ids], self.onehot[ids]

    def on_epoch_end(self):
        self.epoch += 1


class Trace(tf_keras.callbacks.Callback):
    """Loss per step (from fit's running mean), val_loss and lr per epoch."""
    def __init__(self):
        super().__init__()
        self.step_loss, self.val_loss, self.lr, self.running = [], [], [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.running = []

    def on_train_batch_end(self, batch, logs=None):
        k = len(self.running) + 1
        mean = float(logs["loss"])
        previous = self.running[-1] if self.running else 0.0
        self.step_loss.append(k * mean - (k - 1) * previous)
        self.running.append(mean)

    def on_epoch_end(self, epoch, logs=None):
        self.val_loss.append(float(logs["val_loss"]))
        self.lr.append(float(tf_keras.backend.get_value(self.model.optimizer.learning_rate)))


def keras_fit(folder, x, labels, ids, reverse):
    onehot = np.eye(CLASSES, dtype=np.float32)[labels]
    model = resnet3d_seed.build(DEPTH, CLIP, CLASSES, TRAJ_WIDTH, "he_normal")
    model.load_weights(os.path.join(folder, "init.h5"))
    model.compile(optimizer=tf_keras.optimizers.Adam(learning_rate=1e-3), loss="categorical_crossentropy")
    trace = Trace()
    # the seed's callbacks (its checkpoint left out: nothing to compare), then the trace, so the lr it
    # records at an epoch's end is the one after ReduceLROnPlateau (as nanprobe's epochs.lr)
    callbacks = [tf_keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.1, patience=1, verbose=0,
                                                      mode="min", min_lr=1e-4),
                 tf_keras.callbacks.EarlyStopping(monitor="val_loss", patience=TRAJ_PATIENCE), trace]
    model.fit(Batches(x, onehot, ids, reverse), epochs=TRAJ_EPOCHS, shuffle=False, verbose=0, callbacks=callbacks,
              validation_data=(x[TRAJ_TRAIN:], onehot[TRAJ_TRAIN:]), validation_batch_size=TRAJ_BATCH)
    return model, trace


def make_trajectory(out, nanprobe):
    import shutil
    import tempfile
    folder = os.path.join(out, "traj")
    os.makedirs(folder, exist_ok=True)
    x, labels = traj_data(folder)
    tf_keras.utils.set_random_seed(SEED + 20)
    resnet3d_seed.build(DEPTH, CLIP, CLASSES, TRAJ_WIDTH, "he_normal").save(os.path.join(folder, "init.h5"))
    work = tempfile.mkdtemp(prefix="nanprobe-trajectory-")
    steps, epochs = nanprobe_run(nanprobe, folder, os.path.join(work, "run"))
    shutil.rmtree(work)
    ids = [[int(i) for i in s[2].split(",")] for s in steps]
    model, trace = keras_fit(folder, x, labels, ids, False)
    model.save(os.path.join(folder, "final.h5"))
    noise_model, noise = keras_fit(folder, x, labels, ids, True)
    t, m, v = optimizer_state(model)
    _, nm, nv = optimizer_state(noise_model)
    result = {"width": TRAJ_WIDTH, "batch": TRAJ_BATCH, "epochs": TRAJ_EPOCHS, "patience": TRAJ_PATIENCE,
              "sample_ids": [s[2] for s in steps], "loss": trace.step_loss,
              "loss_noise": [abs(a - b) / abs(a) for a, b in zip(trace.step_loss, noise.step_loss)],
              "loss_reversed": noise.step_loss, "val_loss": trace.val_loss, "val_loss_reversed": noise.val_loss,
              "val_noise": [abs(a - b) / abs(a) for a, b in zip(trace.val_loss, noise.val_loss)],
              "lr": trace.lr, "iterations": t,
              "final_noise": [normwise(np.asarray(a), np.asarray(b)) for a, b in zip(noise_model.weights,
                                                                                     model.weights)],
              "m_noise": [normwise(a, b) for a, b in zip(nm, m)], "v_noise": [normwise(a, b) for a, b in zip(nv, v)],
              "nanprobe_at_generation": {"loss": [s[3] for s in steps], "val_loss": [e[1] for e in epochs],
                                         "lr": [e[2] for e in epochs]}}
    print("trajectory: %d steps, %d epochs; Keras lr per epoch %s" % (len(trace.step_loss), len(trace.val_loss),
                                                                      trace.lr), flush=True)
    for s, (a, b) in enumerate(zip(trace.step_loss, result["nanprobe_at_generation"]["loss"])):
        print("  step %2d  Keras %.7f  nanprobe %.7f  rel %.1e  Keras noise %.1e" % (
            s + 1, a, b, abs(a - b) / abs(a), result["loss_noise"][s]))
    return result


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--nanprobe", default="./nanprobe")
    p.add_argument("--only", default="files,roundtrip,summary,trajectory")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    parts = a.only.split(",")
    path = os.path.join(a.out, "manifest.json")
    manifest = {}
    if set(parts) != {"files", "roundtrip", "summary", "trajectory"} and os.path.exists(path):
        with open(path) as f:
            manifest = json.load(f)  # a partial run updates its parts only
    manifest["versions"] = {"tensorflow": tf.__version__, "tf_keras": tf_keras.__version__}
    import keras
    manifest["versions"]["keras"] = keras.__version__
    makers = (("summary", make_summary), ("files", lambda: make_files(a.out)),
              ("trajectory", lambda: make_trajectory(a.out, a.nanprobe)),
              ("roundtrip", lambda: make_roundtrip(a.out, a.nanprobe)))
    for part, make in makers:
        if part in parts:
            resnet3d_seed.use_tf_keras()  # files and roundtrip switch the builder to Keras 3 on the way
            manifest[part] = make()
    with open(path, "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
