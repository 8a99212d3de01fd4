-- nanprobe run database (run.db), schema version 1.
-- One file per run directory; run_id lets `compare` ATTACH several files and
-- keeps a resumed run's rows apart from the first attempt's.
-- Every CHECK list is the name table of its column in src/rundb/run_enums.c
-- (tests/test_names.c holds them equal).  A database made before the CHECKs
-- has none, which changes nothing for reading it or going on in it.
PRAGMA user_version = 1;

-- One row per training process.
CREATE TABLE IF NOT EXISTS runs (
    run_id        INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,    -- the run directory's name unless --name is given
    version       TEXT NOT NULL,    -- nanprobe version that wrote it
    started_at    TEXT NOT NULL,    -- ISO 8601, UTC
    finished_at   TEXT,             -- NULL while running or after a hard kill
    status        TEXT NOT NULL CHECK (status IN ('running', 'completed', 'nan', 'interrupted', 'early_stopped',
                                                  'failed')),
    depth         INTEGER NOT NULL,
    width         INTEGER NOT NULL,
    clip          TEXT NOT NULL,    -- "16x112x112x3"
    classes       INTEGER NOT NULL,
    batch         INTEGER NOT NULL,
    init          TEXT NOT NULL CHECK (init IN ('he_normal', 'glorot_uniform')),
    l2            REAL NOT NULL,
    lr            REAL NOT NULL,    -- initial learning rate
    seed          INTEGER NOT NULL,
    data          TEXT NOT NULL,    -- "synthetic" or the clip directory
    normalize     TEXT NOT NULL,
    probe_every   INTEGER NOT NULL,
    resumed_from  INTEGER,          -- step of the checkpoint a resumed run started from
    config_json   TEXT NOT NULL,    -- every option, as given or defaulted
    identity      TEXT              -- random id shared with the run's checkpoint (checked on --resume)
);

-- The network, one row per layer in execution (= Keras creation) order.
CREATE TABLE IF NOT EXISTS layers (
    run_id        INTEGER NOT NULL,
    layer_id      INTEGER NOT NULL, -- position in execution order, 0 = the input
    name          TEXT NOT NULL,    -- Keras auto-name: conv3d_12, batch_normalization_7, ...
    path          TEXT NOT NULL,    -- structural path: stage3.block2.conv2
    kind          TEXT NOT NULL CHECK (kind IN ('InputLayer', 'Conv3D', 'BatchNormalization', 'Activation',
                  'MaxPooling3D', 'AveragePooling3D', 'Flatten', 'Dense', 'Add')), -- the Keras class
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
    loss_scale    REAL,             -- --precision mixed_float16: the dynamic loss scale of this step; else NULL
    skipped       INTEGER NOT NULL DEFAULT 0, -- 1: non-finite gradients, the loss scale skipped the update
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

-- Derived scalars per layer and step (names in docs/database.md):
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
-- The init x L2 x Adam mechanism metrics (probes/probe_mechanism.c).  A
-- Conv3D kernel's taps split, from its geometry, into those that meet input
-- data at some output cell and those that only ever meet 'same' padding
-- (their data gradient is exactly 0); Dense kernels are all data taps:
--   kernel.data_norm, kernel.padding_norm   ||w|| of each part, after the update
--                         (padding_* only for kernels that have such taps)
--   kernel.data_l2_penalty, kernel.padding_l2_penalty   lambda ||w_part||^2
--   kernel.data_update_ratio  ||dw|| / ||w before|| over the data taps
--   kernel.data_angular_update  angle (radians) between w before and after,
--                         data taps: the step that changes what BN sees
--   kernel.data_l2_grad_ratio  ||2 lambda w|| / ||g|| over the data taps
--   kernel.l2_dominant_fraction  share of data-tap coordinates where
--                         |2 lambda w_i| > |g_i| (w before the update)
--   bn.max_batch_over_moving_var, bn.min_batch_over_moving_var   over the
--                         channels, training batch variance / moving variance
--   bn.max_mean_shift2_over_moving_var   over the channels,
--                         (batch mean - moving mean)^2 / moving variance
--                         (moving statistics after this step's update)
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
-- reductions, early stopping, checkpoints, interruptions, injected faults,
-- videos replaced after a decode failure, the loss scale's skipped steps.
CREATE TABLE IF NOT EXISTS events (
    event_id      INTEGER PRIMARY KEY,
    run_id        INTEGER NOT NULL,
    step          INTEGER,
    epoch         INTEGER,
    kind          TEXT NOT NULL CHECK (kind IN ('nan', 'lr_reduced', 'early_stop', 'checkpoint', 'checkpoint_failed',
                                                'interrupted', 'injection', 'resumed', 'keras_import', 'video_decode',
                                                'bn_variance_negative', 'step_skipped', 'loss_scale_grew')),
    layer_id      INTEGER,          -- for nan / injection
    layer_name    TEXT,
    layer_path    TEXT,
    pass          TEXT CHECK (pass IN ('input', 'forward', 'moving_statistics', 'loss', 'backward', 'optimizer_state',
                                   'update', 'validation', 'loaded')),
                                    -- validation: the forward pass in inference mode after an epoch (step is the
                                    -- last training step before it, sample_id a validation clip's id); loaded: a
                                    -- checkpoint's values before any step (keras import)
    tensor        TEXT,             -- as in stats.tensor
    value_class   TEXT CHECK (value_class IN ('nan', '+inf', '-inf')),
    element_index INTEGER,          -- flat index of the first bad element in the tensor (injection: the one hit)
    sample        INTEGER,          -- coordinates of that element (NULL where the tensor has no such axis)
    d INTEGER, h INTEGER, w INTEGER, channel INTEGER,
    sample_id     INTEGER,          -- dataset id of the clip at `sample`
    is_origin     INTEGER,          -- 1: every input of that tensor was finite; 0: it propagated
    old_value     REAL,             -- lr_reduced: old lr; injection: scale-weights' factor
    new_value     REAL,             -- lr_reduced: new lr
    message       TEXT NOT NULL,    -- one plain sentence
    val_batch     INTEGER,          -- pass 'validation': the batch's index in the validation pass (from 0;
                                    -- its clips are val_batch * batch ...); NULL otherwise.  Added by
                                    -- src/rundb/db_validation.c to databases made before it.
    inject_kind   TEXT CHECK (inject_kind IN ('nan-input', 'inf-forward', 'inf-backward', 'scale-weights'))
                                    -- injection: the --inject SPEC's kind (its layer is layer_id, its element
                                    -- element_index, sample, d, h, w, channel, its factor old_value); NULL
                                    -- otherwise.  Added by src/rundb/db.c to databases made before it.
);

-- The causal verdict: the chain from the first NaN's origin tensor back to
-- its root, written by the report (`nanprobe report`, or train at its end).
-- chain 0 is the verdict's chain, chain 1 the runner-up; position 0 is the
-- origin, the highest position the root.  Every row of a chain repeats its
-- mechanism (data | update_blowup | gradual_growth | batchnorm |
-- loss_saturation | injected | inference_statistics) and whether the evidence was weak.
--   SELECT position, step, layer_name, tensor, statistic, value_before, value_after, role
--   FROM cause_chain WHERE chain = 0 ORDER BY position DESC;   -- root first
CREATE TABLE IF NOT EXISTS cause_chain (
    run_id        INTEGER NOT NULL,
    chain         INTEGER NOT NULL, -- 0: the verdict's chain, 1: the runner-up
    position      INTEGER NOT NULL, -- 0 = origin ... highest = root
    step          INTEGER NOT NULL, -- step of value_after
    step_before   INTEGER NOT NULL, -- step of value_before
    layer_id      INTEGER NOT NULL,
    layer_name    TEXT NOT NULL,
    tensor        TEXT NOT NULL,    -- as in stats.tensor; 'kernel.update' for an optimizer step
    statistic     TEXT NOT NULL,    -- absmax | l2norm | nan_count | injected; a validation-first NaN
                                    -- (inference trace): inference_scale | var_ratio | mean_shift |
                                    -- moving_variance_min (validation_batchnorm's columns) | gain
    value_before  REAL,             -- the baseline (median of the window's first quarter), or the
                                    -- value before the update or injection; NULL when unknown
    value_after   REAL,             -- at step; NULL when non-finite (the origin)
    decades       REAL,             -- the rise that chose this link (log10 after/before, per power)
    onset_step    INTEGER,          -- first step out of its band (NULL if never)
    role          TEXT NOT NULL CHECK (role IN ('origin', 'link', 'root')),
    mechanism     TEXT NOT NULL CHECK (mechanism IN ('none', 'data', 'update_blowup', 'gradual_growth', 'batchnorm',
                  'loss_saturation', 'injected', 'inference_statistics', 'float16_overflow', 'float16_underflow',
                  'loss_scale_collapse', 'reduced_precision', 'l2_adam')), -- 'none' (a healthy run) is never stored
    weak          INTEGER NOT NULL, -- 1: weak evidence (see the verdict's "Uncertain" line)
    sample_id     INTEGER,          -- a data root: the dataset id of the clip
    PRIMARY KEY (run_id, chain, position)
) WITHOUT ROWID;

-- Replays (`nanprobe replay`, the first NaN of a run, --shadow-every): one
-- step run again from the state at its start, in float32 (does the first
-- non-finite value recur, bit for bit?) and float64 (is float32 to blame?).
--   SELECT step, finding, message FROM replays ORDER BY replay_id;
-- Non-finite doubles are kept as text in *_text too (SQLite stores NaN as NULL).
CREATE TABLE IF NOT EXISTS replays (
    replay_id     INTEGER PRIMARY KEY,
    run_id        INTEGER NOT NULL,
    step          INTEGER NOT NULL, -- the step replayed
    trigger       TEXT NOT NULL CHECK (trigger IN ('nan', 'command', 'shadow')),
                                    -- nan: the run's first non-finite value; shadow: --shadow-every
    snapshot_step INTEGER NOT NULL, -- state restored: after this step, then steps up to step-1 rerun
    threads       INTEGER NOT NULL,
    float_rerun   INTEGER NOT NULL, -- 1: the step ran again in float32
    reproduced    INTEGER,          -- the same first non-finite value (tensor, element, class); NULL: none to recur
    layers_compared   INTEGER,      -- tensors digested (each layer's output and gradient, and the parameters)
    layers_identical  INTEGER,      -- of those, equal bit for bit to the run's (NULL after the fact)
    first_difference_layer INTEGER, -- layer_id of the first tensor that differs, in execution order (the
                                    -- number of layers when only the parameters differ); NULL: none
    loss_identical INTEGER,         -- the rerun's data loss equals steps.data_loss bit for bit; NULL: not compared
    rerun_event   TEXT,             -- the float32 rerun's first non-finite value, NULL if it stayed finite
    double_rerun  INTEGER NOT NULL, -- 1: the step ran in float64
    finding       TEXT NOT NULL CHECK (finding IN ('none', 'not_reproducible', 'real_divergence', 'float32_artefact',
                                                   'maths_itself')),
    origin_layer  INTEGER,          -- the element explained (the run's first non-finite value), NULL: none
    origin_tensor TEXT,
    origin_element INTEGER,
    float_value   TEXT CHECK (float_value IN ('nan', '+inf', '-inf')),
    double_value  REAL,             -- the element in float64 (NULL when NaN: see double_value_text)
    double_value_text TEXT,
    double_max_abs REAL,            -- largest finite |x| of that tensor in float64
    operation     TEXT,             -- maths_itself: the operation that made the NaN
    message       TEXT NOT NULL,    -- the verdict's sentence
    float_seconds REAL, double_seconds REAL,
    -- element provenance: the terms of the origin element's sum, in float64
    terms_sum     REAL, terms_sum_text TEXT,
    term_count    INTEGER,
    dominant_channel INTEGER,       -- input channel with the largest share of sum |term|
    dominant_share REAL,
    dominant_input_max REAL,        -- largest |input| of that channel's terms
    dominant_weight_typical REAL,   -- median |weight| of them
    input_npy     TEXT,             -- receptive field as the layer read it (relative to the run directory)
    kernel_npy    TEXT              -- the matching kernel taps
);

-- Every tensor of a replayed step: float32 against float64.
CREATE TABLE IF NOT EXISTS replay_tensors (
    replay_id     INTEGER NOT NULL,
    layer_id      INTEGER NOT NULL,
    tensor        TEXT NOT NULL,    -- as stats.tensor: output | output_grad | batch_mean | batch_variance | kernel | kernel.grad | ...
    float_max_abs REAL,
    double_max_abs REAL,
    relative_error REAL,            -- ||x32 - x64|| / ||x64||; NULL when either holds a non-finite value
    double_nonfinite INTEGER NOT NULL,
    chain_position INTEGER,         -- cause_chain position when the tensor is a link; NULL otherwise
    double_value  REAL              -- at the chain link's element, NULL otherwise
);

-- The largest terms of the origin element's sum (rank 0 = largest |term|).
CREATE TABLE IF NOT EXISTS replay_terms (
    replay_id     INTEGER NOT NULL,
    rank          INTEGER NOT NULL,
    source_layer  INTEGER NOT NULL, -- the layer whose output the term reads
    channel       INTEGER NOT NULL,
    sample INTEGER, d INTEGER, h INTEGER, w INTEGER, -- the input cell
    tap           TEXT,             -- "(kd,kh,kw)" of a Conv3D term
    input REAL, weight REAL, term REAL,
    PRIMARY KEY (replay_id, rank)
) WITHOUT ROWID;

-- The precision ladder (nanprobe replay --precision tf32|mixed_float16|...|all):
-- one step rerun from the same state in each emulated precision.
--   SELECT precision, failed, skipped, first_bad_tensor, first_lost_tensor FROM replay_precisions;
CREATE TABLE IF NOT EXISTS replay_precisions (
    run_id        INTEGER NOT NULL,
    step          INTEGER NOT NULL,
    precision     TEXT NOT NULL CHECK (precision IN ('float32', 'tf32', 'mixed_float16', 'mixed_bfloat16')),
    failed        INTEGER NOT NULL, -- 1: a non-finite value reached the loss or the update
    skipped       INTEGER NOT NULL, -- 1: mixed_float16's loss scale absorbed non-finite gradients (no update)
    loss_scale    REAL,             -- the loss scale the rerun used; NULL: none
    loss          REAL,             -- the rerun's data loss (NULL when non-finite)
    first_bad_layer  INTEGER,       -- the first tensor, in execution order, that left the format's range
    first_bad_tensor TEXT,          -- (held a NaN or Inf), NULL: none
    first_bad_value  TEXT CHECK (first_bad_value IN ('nan', '+inf', '-inf')),
    first_lost_layer INTEGER,       -- the first tensor that lost all its digits: all zero where float32's is not
    first_lost_tensor TEXT,
    message       TEXT NOT NULL,
    PRIMARY KEY (run_id, step, precision)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS replay_tensors_by_replay ON replay_tensors (replay_id, layer_id);

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

-- Video datasets (--data DIR of videos; empty for synthetic and .npy data).
-- The classes as indexed: sorted folder names (Keras), classInd.txt or a list.
CREATE TABLE IF NOT EXISTS classes (
    run_id        INTEGER NOT NULL,
    class_id      INTEGER NOT NULL, -- the label
    name          TEXT NOT NULL,
    train_videos  INTEGER NOT NULL,
    val_videos    INTEGER NOT NULL,
    PRIMARY KEY (run_id, class_id)
) WITHOUT ROWID;

-- Files found unusable at open and skipped (--skip-bad-videos).
CREATE TABLE IF NOT EXISTS bad_videos (
    run_id        INTEGER NOT NULL,
    path          TEXT NOT NULL,    -- relative to the dataset directory
    problem       TEXT NOT NULL CHECK (problem IN ('ok', 'zero bytes', 'not a video', 'no video stream', 'unknown codec',
                  'truncated', 'undecodable', 'too small', 'unreadable')), -- never 'ok' (that file was used)
    reason        TEXT NOT NULL,    -- one sentence, with FFmpeg's own message when it gave one
    PRIMARY KEY (run_id, path)
) WITHOUT ROWID;

-- Where each clip came from: one row per (split, epoch, sample id) served.
-- Training choices depend only on (seed, epoch, sample id), validation uses
-- the centre, so a row is the same whenever it is written again (--resume).
CREATE TABLE IF NOT EXISTS clip_origins (
    run_id        INTEGER NOT NULL,
    split         TEXT NOT NULL CHECK (split IN ('train', 'validation')),
    epoch         INTEGER NOT NULL, -- counts from 1, as steps.epoch
    sample_id     INTEGER NOT NULL, -- dataset id within the split (input_samples.sample_id)
    video         TEXT NOT NULL,    -- path relative to the dataset directory
    start_frame   INTEGER NOT NULL, -- first decoded frame of the clip (0-based)
    last_frame    INTEGER NOT NULL, -- start_frame + (D-1)*frame_step, before any wrap
    frame_step    INTEGER NOT NULL,
    video_frames  INTEGER NOT NULL, -- frames the video holds (fewer after a mid-run decode failure)
    crop_y        INTEGER NOT NULL, -- crop window in the resized frame
    crop_x        INTEGER NOT NULL,
    crop_h        INTEGER NOT NULL,
    crop_w        INTEGER NOT NULL,
    looped        INTEGER NOT NULL, -- 1: shorter than the clip, frame indices wrapped (i*step mod frames)
    fallback      INTEGER NOT NULL, -- 0 decoded; 1 decode failed mid-file, used the frames before; 2 grey clip
    PRIMARY KEY (run_id, split, epoch, sample_id)
) WITHOUT ROWID;

-- input_samples with the video, frame range and crop of each clip.
CREATE VIEW IF NOT EXISTS input_sample_videos AS
    SELECT i.run_id, i.step, i.position, i.sample_id, i.label, c.name AS class_name, o.video, o.start_frame,
           o.last_frame, o.frame_step, o.crop_y, o.crop_x, o.crop_h, o.crop_w, o.looped, o.fallback,
           i.mean, i.std, i.absmax, i.nan_count, i.inf_count
    FROM input_samples i
    JOIN steps s ON s.run_id = i.run_id AND s.step = i.step
    JOIN clip_origins o ON o.run_id = i.run_id AND o.split = 'train' AND o.epoch = s.epoch
                       AND o.sample_id = i.sample_id
    LEFT JOIN classes c ON c.run_id = i.run_id AND c.class_id = i.label;

-- ---------------------------------------------------------------- validation
-- The validation pass (inference mode: BatchNorm normalizes with its moving
-- statistics), kept apart from the training steps.  A NaN first seen there is
-- an events row with pass 'validation' and val_batch (first_nan shows it).
--   SELECT val_batch, layer_id, absmax, nan_count FROM validation_stats
--   WHERE epoch = 18 AND tensor = 'output' ORDER BY val_batch, layer_id;
-- Per-layer statistics: each layer's output (layer 0: the clips) for every
-- validation batch of an epoch in which a non-finite value appeared, and
-- one summary row (val_batch -1, the batches merged) for every epoch.
CREATE TABLE IF NOT EXISTS validation_stats (
    run_id        INTEGER NOT NULL,
    epoch         INTEGER NOT NULL, -- the epoch the validation followed (from 1)
    val_batch     INTEGER NOT NULL, -- -1: the epoch's summary
    step          INTEGER NOT NULL, -- last training step before the validation
    layer_id      INTEGER NOT NULL,
    tensor        TEXT NOT NULL,    -- 'output'
    count         INTEGER NOT NULL,
    mean REAL, std REAL, min REAL, max REAL, absmax REAL, -- over the finite elements
    nan_count     INTEGER NOT NULL,
    posinf_count  INTEGER NOT NULL,
    neginf_count  INTEGER NOT NULL,
    PRIMARY KEY (run_id, epoch, val_batch, layer_id, tensor)
) WITHOUT ROWID;

-- Per BatchNorm layer and validation epoch: its moving statistics against
-- the batch statistics of the last training steps (train_steps of them,
-- per-channel means), and against what its input was during this validation.
--   var_ratio      batch variance / moving variance (1 when they agree; min and max over channels)
--   mean_shift     |moving mean - batch mean| / batch std (max over channels)
--   inference_scale  RMS over the validation of (x - moving mean) / sqrt(moving variance + eps), the
--                  largest over channels: 1 when the moving statistics fit what the layer now gets.
--                  Along a path it compounds: a BatchNorm fed by an over-scaled one inherits its factor.
--   bad_moving_variance  channels whose moving variance is <= 0 or non-finite (NaN after sqrt)
CREATE TABLE IF NOT EXISTS validation_batchnorm (
    run_id        INTEGER NOT NULL,
    epoch         INTEGER NOT NULL,
    step          INTEGER NOT NULL,
    layer_id      INTEGER NOT NULL,
    channels      INTEGER NOT NULL,
    train_steps   INTEGER NOT NULL, -- training steps averaged (0 after a resume before any step)
    var_ratio_min REAL, var_ratio_max REAL,
    mean_shift_max REAL,
    inference_scale REAL,
    scale_channel INTEGER,          -- the channel of inference_scale
    moving_variance_min REAL,       -- NULL when non-finite
    bad_moving_variance INTEGER NOT NULL,
    bad_channel   INTEGER,          -- the first such channel, NULL if none
    PRIMARY KEY (run_id, epoch, layer_id)
) WITHOUT ROWID;
