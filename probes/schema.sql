-- nanprobe run database (run.db), schema version 1.
-- One file per run directory; run_id lets `compare` ATTACH several files and
-- keeps a resumed run's rows apart from the first attempt's.
PRAGMA user_version = 1;

-- One row per training process.
CREATE TABLE IF NOT EXISTS runs (
    run_id        INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,    -- the run directory's name unless --name is given
    version       TEXT NOT NULL,    -- nanprobe version that wrote it
    started_at    TEXT NOT NULL,    -- ISO 8601, UTC
    finished_at   TEXT,             -- NULL while running or after a hard kill
    status        TEXT NOT NULL,    -- running | completed | nan | interrupted | early_stopped | failed
    depth         INTEGER NOT NULL,
    width         INTEGER NOT NULL,
    clip          TEXT NOT NULL,    -- "16x112x112x3"
    classes       INTEGER NOT NULL,
    batch         INTEGER NOT NULL,
    init          TEXT NOT NULL,    -- he_normal | glorot_uniform
    l2            REAL NOT NULL,
    lr            REAL NOT NULL,    -- initial learning rate
    seed          INTEGER NOT NULL,
    data          TEXT NOT NULL,    -- "synthetic" or the clip directory
    normalize     TEXT NOT NULL,
    probe_every   INTEGER NOT NULL,
    resumed_from  INTEGER,          -- step of the checkpoint a resumed run started from
    config_json   TEXT NOT NULL     -- every option, as given or defaulted
);

-- The network, one row per layer in execution (= Keras creation) order.
CREATE TABLE IF NOT EXISTS layers (
    run_id        INTEGER NOT NULL,
    layer_id      INTEGER NOT NULL, -- position in execution order, 0 = the input
    name          TEXT NOT NULL,    -- Keras auto-name: conv3d_12, batch_normalization_7, ...
    path          TEXT NOT NULL,    -- structural path: stage3.block2.conv2
    kind          TEXT NOT NULL,    -- Keras class: Conv3D, BatchNormalization, Activation, ...
    inputs        TEXT NOT NULL,    -- comma-separated names of the producing layers
    output_shape  TEXT NOT NULL,    -- "(None, 4, 28, 28, 64)"
    param_count   INTEGER NOT NULL,
    PRIMARY KEY (run_id, layer_id)
) WITHOUT ROWID;

-- One row per training step (steps count from 1 over the whole run).
CREATE TABLE IF NOT EXISTS steps (
    run_id        INTEGER NOT NULL,
    step          INTEGER NOT NULL,
    epoch         INTEGER NOT NULL, -- counts from 1
    lr            REAL NOT NULL,    -- learning rate used by this step's update
    loss          REAL,             -- objective: data_loss + l2_penalty (NULL if non-finite)
    data_loss     REAL,             -- mean cross-entropy of the batch
    l2_penalty    REAL,             -- lambda * sum(w^2) over every kernel
    accuracy      REAL,
    seconds       REAL NOT NULL,    -- wall time of the step
    probed        INTEGER NOT NULL, -- 1 if this step's per-tensor statistics were written
    sample_ids    TEXT NOT NULL,    -- comma-separated dataset ids of the batch, in batch order
    loss_finite   INTEGER NOT NULL, -- 0 when the objective was NaN or Inf
    PRIMARY KEY (run_id, step)
) WITHOUT ROWID;

-- One row per epoch (validation in inference mode after every epoch).
CREATE TABLE IF NOT EXISTS epochs (
    run_id        INTEGER NOT NULL,
    epoch         INTEGER NOT NULL,
    last_step     INTEGER NOT NULL,
    loss          REAL,             -- Keras' epoch loss: batch-size-weighted mean objective
    accuracy      REAL,
    val_loss      REAL,             -- includes the L2 penalty, as Keras reports it
    val_accuracy  REAL,
    lr            REAL NOT NULL,    -- learning rate at the end of the epoch (after callbacks)
    seconds       REAL NOT NULL,
    PRIMARY KEY (run_id, epoch)
) WITHOUT ROWID;

-- Summary statistics of one tensor at one step.  Non-finite elements are
-- counted, and excluded from every other column.
--   tensor, for a layer's activations:  'output' (forward), 'output_grad' (the
--     gradient reaching that output, backward);
--   for a parameter ROLE in kernel | bias | gamma | beta:  ROLE (value after
--     the update), ROLE.grad (the data-loss gradient, without the L2 part),
--     ROLE.update (the change actually applied), ROLE.adam_m, ROLE.adam_v;
--   for BatchNormalization also: batch_mean, batch_variance (the per-channel
--     vectors of this step), moving_mean, moving_variance.
CREATE TABLE IF NOT EXISTS stats (
    run_id        INTEGER NOT NULL,
    step          INTEGER NOT NULL,
    layer_id      INTEGER NOT NULL,
    tensor        TEXT NOT NULL,
    count         INTEGER NOT NULL, -- elements, finite or not
    mean          REAL,
    std           REAL,             -- population standard deviation
    min           REAL,
    max           REAL,
    absmax        REAL,
    l2norm        REAL,
    zero_fraction REAL,             -- exact zeros / count (dead ReLU units)
    nan_count     INTEGER NOT NULL,
    posinf_count  INTEGER NOT NULL,
    neginf_count  INTEGER NOT NULL,
    PRIMARY KEY (run_id, step, layer_id, tensor)
) WITHOUT ROWID;

-- Derived scalars per layer and step (names in the README):
--   ROLE.update_ratio     ||update|| / ||w||   (ROLE in kernel, bias, gamma, beta)
--   ROLE.adam_step_size   alpha = lr*sqrt(1-b2^t)/(1-b1^t)
--   ROLE.adam_min_sqrt_v  min over elements of sqrt(v)
--   ROLE.adam_max_ratio   max over elements of |m|/(sqrt(v)+eps)
--   kernel.l2_grad_norm   ||2 lambda w|| (w before the update), the L2 part
--                         of the gradient, kept apart from kernel.grad
--   kernel.l2_grad_ratio  ||2 lambda w|| / ||data gradient||
--   bn.min_variance, bn.max_variance, bn.max_mean2_over_var,
--   bn.max_gamma_over_std, bn.count (values per channel, n = N*D*H*W)
--   loss.max_probability       largest softmax (or sigmoid) probability in the batch
--   loss.mean_max_probability  mean over the batch of each sample's largest probability
--   (loss.* rows belong to the output layer, dense)
CREATE TABLE IF NOT EXISTS layer_metrics (
    run_id        INTEGER NOT NULL,
    step          INTEGER NOT NULL,
    layer_id      INTEGER NOT NULL,
    metric        TEXT NOT NULL,
    value         REAL,
    PRIMARY KEY (run_id, step, layer_id, metric)
) WITHOUT ROWID;

-- The input batch, one row per clip of every probed step.
CREATE TABLE IF NOT EXISTS input_samples (
    run_id        INTEGER NOT NULL,
    step          INTEGER NOT NULL,
    position      INTEGER NOT NULL, -- index in the batch
    sample_id     INTEGER NOT NULL, -- dataset id of the clip
    label         INTEGER NOT NULL,
    mean          REAL,
    std           REAL,
    min           REAL,
    max           REAL,
    absmax        REAL,
    nan_count     INTEGER NOT NULL,
    inf_count     INTEGER NOT NULL,
    PRIMARY KEY (run_id, step, position)
) WITHOUT ROWID;

-- Things that happened: the first non-finite value (kind 'nan', one per run
-- unless --on-nan continue=N logs later first-occurrences), learning-rate
-- reductions, early stopping, checkpoints, interruptions, injected faults.
CREATE TABLE IF NOT EXISTS events (
    event_id      INTEGER PRIMARY KEY,
    run_id        INTEGER NOT NULL,
    step          INTEGER,
    epoch         INTEGER,
    kind          TEXT NOT NULL,    -- nan | lr_reduced | early_stop | checkpoint | checkpoint_failed | interrupted | injection | resumed | keras_import
    layer_id      INTEGER,          -- for nan / injection
    layer_name    TEXT,
    layer_path    TEXT,
    pass          TEXT,             -- input | forward | loss | backward | update | optimizer_state | moving_statistics | loaded
    tensor        TEXT,             -- as in stats.tensor
    value_class   TEXT,             -- nan | +inf | -inf
    element_index INTEGER,          -- flat index of the first bad element in the tensor
    sample        INTEGER,          -- coordinates of that element (NULL where the tensor has no such axis)
    d INTEGER, h INTEGER, w INTEGER, channel INTEGER,
    sample_id     INTEGER,          -- dataset id of the clip at `sample`
    is_origin     INTEGER,          -- 1: every input of that tensor was finite; 0: it propagated
    old_value     REAL,             -- lr_reduced: old lr; injection: factor
    new_value     REAL,             -- lr_reduced: new lr
    message       TEXT NOT NULL     -- one plain sentence
);

CREATE INDEX IF NOT EXISTS stats_by_tensor ON stats (run_id, tensor, layer_id, step);
CREATE INDEX IF NOT EXISTS metrics_by_name ON layer_metrics (run_id, metric, layer_id, step);
CREATE INDEX IF NOT EXISTS events_by_kind ON events (run_id, kind, step);

-- Views for the common questions.
CREATE VIEW IF NOT EXISTS gradient_norms AS
    SELECT s.run_id, s.step, l.layer_id, l.name, l.path, s.l2norm AS norm, s.absmax
    FROM stats s JOIN layers l USING (run_id, layer_id)
    WHERE s.tensor = 'output_grad';
CREATE VIEW IF NOT EXISTS activation_ranges AS
    SELECT s.run_id, s.step, l.layer_id, l.name, l.path, s.absmax, s.std, s.zero_fraction,
           s.nan_count + s.posinf_count + s.neginf_count AS nonfinite
    FROM stats s JOIN layers l USING (run_id, layer_id)
    WHERE s.tensor = 'output';
CREATE VIEW IF NOT EXISTS weight_norms AS
    SELECT s.run_id, s.step, l.layer_id, l.name, l.path, s.l2norm AS norm
    FROM stats s JOIN layers l USING (run_id, layer_id)
    WHERE s.tensor = 'kernel';
CREATE VIEW IF NOT EXISTS update_ratios AS
    SELECT m.run_id, m.step, l.layer_id, l.name, l.path, m.value AS ratio
    FROM layer_metrics m JOIN layers l USING (run_id, layer_id)
    WHERE m.metric = 'kernel.update_ratio';
CREATE VIEW IF NOT EXISTS first_nan AS
    SELECT * FROM events WHERE kind = 'nan'
    AND event_id = (SELECT MIN(e.event_id) FROM events e WHERE e.kind = 'nan' AND e.run_id = events.run_id);
