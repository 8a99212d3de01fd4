/* train_cli.c: the options of `nanprobe train` (also used by `ablate`,
 * which passes them through to every arm). */
#include "train_cli.h"

#include <stdlib.h>
#include <string.h>

#include "data_cmd.h"
#include "dataset.h"

static const char *const init_choices[] = {"he_normal", "glorot_uniform", NULL};
static const char *const normalize_choices[] = {"none", "scale", "standardize", "per_image", NULL};
static const char *const probe_choices[] = {"off", "on", NULL};

#define F(member) offsetof(train_cli, member)
#define KEEP ON_RESUME_MAY_CHANGE
#define FIXED ON_RESUME_FIXED
#define BIG 1e18

/* Every option of train (and of init, and the ones ablate passes through):
 * FIXED ones define the model, the data or their order, so a resumed run
 * may not change them (the checkpoint would not fit, or the rerun would not
 * be the same run). */
const option_spec train_option_specs[] = {
    {"--depth", NULL, OPTION_CHOICE, F(depth_index), "N", "34", "ResNet3D depth: 18, 34 (basic blocks), 50, 101, 152 (bottleneck)", 0, 0, model_depth_names, FIXED, NULL},
    {"--width", NULL, OPTION_INT, F(o.model.width), "N", "64", "filters of the first stage (the seed's is 64; small widths for quick experiments)", 1, 4096, NULL, FIXED, NULL},
    {"--clip", NULL, OPTION_CLIP, F(o.data.clip), "DxHxWxC", "16x112x112x3", "clip shape (.npy data: the file's, unless given)", 0, 0, NULL, FIXED, NULL},
    {"--classes", NULL, OPTION_INT, F(o.model.classes), "N", "10", "output classes; 1 = sigmoid binary (videos: as the directory holds)", 1, 100000, NULL, FIXED, NULL},
    {"--batch", NULL, OPTION_INT, F(o.data.batch), "N", "8", "clips per step", 1, 4096, NULL, FIXED, NULL},
    {"--init", NULL, OPTION_CHOICE, F(o.model.init), "NAME", "he_normal", "initializer of every kernel (conv, shortcut, dense): he_normal or glorot_uniform", 0, 0, init_choices, FIXED, NULL},
    {"--l2", NULL, OPTION_DOUBLE, F(o.model.l2), "LAMBDA", "1e-4", "L2 penalty lambda*sum(w^2) on every kernel; 0 disables", 0, 1e6, NULL, KEEP, NULL},
    {"--lr", NULL, OPTION_DOUBLE, F(o.fit.lr), "RATE", "1e-3", "Adam learning rate (on --resume it replaces the checkpoint's)", 1e-30, 1e30, NULL, KEEP, NULL},
    {"--epochs", NULL, OPTION_INT, F(o.fit.epochs), "N", "5", "epochs (the last epoch, with --initial-epoch)", 1, 1e9, NULL, KEEP, NULL},
    {"--steps-per-epoch", NULL, OPTION_LONG, F(o.fit.steps_per_epoch), "N", "0", "steps per epoch; 0 = one pass over the training clips with a partial last batch, as fit() does on arrays", 0, BIG, NULL, FIXED, NULL},
    {"--data", NULL, OPTION_STRING, F(o.data.source), "SRC", "synthetic", "'synthetic', a directory of .npy files or of videos (docs/videos.md)", 0, 0, NULL, FIXED, NULL},
    {"--split", NULL, OPTION_INT, F(o.data.video.split), "N", NULL, "videos: UCF101 split files classInd.txt, trainlist0N.txt, testlist0N.txt", 1, 99, NULL, FIXED, NULL},
    {"--train-list", NULL, OPTION_STRING, F(o.data.video.train_list), "FILE", NULL, "videos: lines of 'relative/path label'", 0, 0, NULL, FIXED, NULL},
    {"--val-list", NULL, OPTION_STRING, F(o.data.video.val_list), "FILE", NULL, "videos: the validation list, same format", 0, 0, NULL, FIXED, NULL},
    {"--resize", NULL, OPTION_STRING, F(resize), "HxW", NULL, "videos: frame size before the crop (default 128x171, C3D's)", 0, 0, NULL, FIXED, NULL},
    {"--frame-step", NULL, OPTION_INT, F(o.data.video.frame_step), "K", "1", "videos: take every K-th frame", 1, 1000, NULL, FIXED, NULL},
    {"--skip-bad-videos", NULL, OPTION_FLAG, F(o.data.video.skip_bad), NULL, NULL, "videos: leave out files that cannot be decoded (listed in run.db) instead of stopping", 0, 0, NULL, FIXED, NULL},
    {"--train-clips", NULL, OPTION_LONG, F(o.data.train_clips), "N", "320", "training clips (synthetic: how many; .npy: at most, 0 = all; videos: all)", 0, BIG, NULL, FIXED, NULL},
    {"--val-clips", NULL, OPTION_LONG, F(o.data.val_clips), "N", "64", "validation clips (videos: held out when there is no validation list); 0 = no validation", 0, BIG, NULL, FIXED, NULL},
    {"--normalize", NULL, OPTION_CHOICE, F(o.data.normalize), "KIND", "scale", "input scaling: none, scale (x/255), standardize, per_image", 0, 0, normalize_choices, FIXED, NULL},
    {"--seed", NULL, OPTION_LONG, F(o.seed), "N", "1", "seed of initialization, shuffling and synthetic data", 0, 9.2e18, NULL, FIXED, NULL},
    {"--threads", NULL, OPTION_INT, F(o.threads), "N", NULL, "threads (default: all cores)", 1, 1024, NULL, KEEP, NULL},
    {"--out", "-o", OPTION_STRING, F(o.out), "DIR", NULL, "run directory for run.db, checkpoint and report (default runs/run-DATE)", 0, 0, NULL, FIXED, NULL},
    {"--name", NULL, OPTION_STRING, F(o.name), "TEXT", NULL, "run name in the database (default: the directory name)", 0, 0, NULL, KEEP, NULL},
    {"--from-keras", NULL, OPTION_STRING, F(o.model.from_keras), "FILE", NULL, "start from a Keras checkpoint (.h5, .weights.h5, .keras): weights, moving statistics, Adam state; the model comes from the file", 0, 0, NULL, FIXED, NULL},
    {"--initial-epoch", NULL, OPTION_INT, F(o.fit.initial_epoch), "N", "0", "fit()'s initial_epoch: the first epoch is N+1 and --epochs the last", 0, 1e9, NULL, FIXED, NULL},
    {"--resume", NULL, OPTION_STRING, F(resume), "DIR", NULL, "continue the run in DIR (no --out) from its checkpoint, bit-identically; refused when the checkpoint belongs to another run or another trainer holds DIR; the options marked fixed cannot change, the others can", 0, 0, NULL, KEEP, NULL},
    {"--max-steps", NULL, OPTION_LONG, F(o.max_steps), "N", NULL, "stop after N steps in all, with a checkpoint; 0 = the untrained model's (default: no limit)", 0, BIG, NULL, KEEP, NULL},
    {"--checkpoint-every", NULL, OPTION_LONG, F(o.checkpoint_every), "N", "0", "also checkpoint every N steps; 0 = at epoch ends only", 0, BIG, NULL, KEEP, NULL},
    {"--reduce-lr-factor", NULL, OPTION_DOUBLE, F(o.fit.plateau_factor), "F", "0.1", "ReduceLROnPlateau factor (it watches val_loss, min_delta 1e-4)", 1e-9, 0.999999, NULL, KEEP, NULL},
    {"--reduce-lr-patience", NULL, OPTION_INT, F(o.fit.plateau_patience), "N", "1", "ReduceLROnPlateau patience in epochs", 0, 1e9, NULL, KEEP, NULL},
    {"--min-lr", NULL, OPTION_DOUBLE, F(o.fit.plateau_min_lr), "RATE", "1e-4", "ReduceLROnPlateau min_lr", 0, 1e30, NULL, KEEP, NULL},
    {"--early-stopping", NULL, OPTION_INT, F(o.fit.early_stopping), "PATIENCE", NULL, "EarlyStopping: stop when val_loss has not improved for PATIENCE epochs (default off)", 1, 1e9, NULL, KEEP, NULL},
    {"--probes", NULL, OPTION_CHOICE, F(probes_choice), "on|off", "on", "per-layer statistics and the full sentinel; off checks only the loss (for benchmarks)", 0, 0, probe_choices, KEEP, NULL},
    {"--probe-every", NULL, OPTION_INT, F(o.probes.probe_every), "K", "1", "write statistics every K steps; the last W before a NaN always", 1, 1e9, NULL, KEEP, NULL},
    {"--ring", NULL, OPTION_INT, F(o.probes.ring_steps), "W", "32", "steps kept in memory for the flush on a NaN", 1, 100000, NULL, KEEP, NULL},
    {"--on-nan", NULL, OPTION_STRING, F(on_nan), "stop|continue=N", "stop", "at the first non-finite value: stop (exit 3) or run N more steps", 0, 0, NULL, KEEP, NULL},
    {"--snapshot-every", NULL, OPTION_LONG, F(o.replay.snapshot_every), "K", "16", "keep the training state in memory every K steps so the first NaN's step is replayed in float32 and float64; 0 = no replay", 0, BIG, NULL, KEEP, NULL},
    {"--shadow-every", NULL, OPTION_LONG, F(o.replay.shadow_every), "N", NULL, "also run one step in N in float64 and record every tensor's float32 relative error (replays rows with trigger shadow) (default off)", 0, BIG, NULL, KEEP, NULL},
    {"--inject", NULL, OPTION_LIST, F(inject), "SPEC", NULL, "fault drill (docs/verdict.md), repeatable: nan-input@step=S,sample=K | inf-forward@layer=NAME,step=S | inf-backward@layer=NAME,step=S | scale-weights@layer=NAME,step=S,factor=F", 0, 0, NULL, KEEP, NULL},
    {"--quiet", NULL, OPTION_FLAG, F(quiet), NULL, NULL, "no console output but errors", 0, 0, NULL, KEEP, NULL},
    {"--timing", NULL, OPTION_FLAG, F(timing), NULL, NULL, "print the time per step split by kind (JSON on stderr)", 0, 0, NULL, KEEP, NULL},
    {"--sync-bn", NULL, OPTION_FLAG, F(o.dist.sync_bn), NULL, NULL, "under mpirun: BatchNorm normalizes with the statistics of the global batch (default: each rank's own)", 0, 0, NULL, KEEP, NULL},
    {"--bucket-mb", NULL, OPTION_DOUBLE, F(o.dist.bucket_mb), "MB", "25", "under mpirun: size of the gradient buckets allreduced during backward", 1e-3, 1e6, NULL, KEEP, NULL},
    {"--precision", NULL, OPTION_CHOICE, F(o.model.precision), "P", "float32", "emulate a GPU's arithmetic: float32, tf32, mixed_float16 (with Keras' dynamic loss scale), mixed_bfloat16 (docs/precision.md)", 0, 0, precision_train_names, KEEP, NULL},
    {"--bn-variance", NULL, OPTION_CHOICE, F(o.model.bn_variance), "KIND", "two_pass", "BatchNorm batch variance: two_pass (TensorFlow's fused kernel) or one_pass (E[x^2]-E[x]^2 in float32, as XLA)", 0, 0, bn_variance_names, KEEP, NULL},
    {"--no-report", NULL, OPTION_FLAG, F(no_report), NULL, NULL, "do not write the report at the end", 0, 0, NULL, KEEP, NULL},
    {"--report", NULL, OPTION_FLAG, F(report_flag), NULL, NULL, "write the report (the default; after --no-report, e.g. of a resumed run, turns it back on)", 0, 0, NULL, KEEP, NULL},
    {NULL, NULL, 0, 0, NULL, NULL, NULL, 0, 0, NULL, 0, NULL},
};
_Static_assert(sizeof train_option_specs / sizeof train_option_specs[0] <= TRAIN_CLI_MAX_OPTIONS, "train_cli.given is too small");

void train_cli_init(train_cli *c)
{
    memset(c, 0, sizeof *c);
    train_options_defaults(&c->o);
    c->report = 1;
    options_init("train", train_option_specs, c);
}

/* The video options after a parse: --resize parsed, and a video directory
 * serving all its videos with the classes it holds unless told otherwise
 * (a resume parses twice, so "given" accumulates). */
static int video_options_finish(train_cli *c, error *err)
{
    if (c->resize && data_parse_resize(c->resize, c->o.data.video.resize) < 0)
        return error_set(err, "nanprobe train: --resize expects HxW with both sides 1..8192, e.g. 128x171; got '%s'",
                         c->resize);
    /* A video directory knows its classes and serves all its videos unless told otherwise. */
    dataset_config data = {.source = c->o.data.source, .video = &c->o.data.video};
    if (dataset_config_is_video(&data)) {
        /* When the listing fails, 0 lets the run's open report why. */
        error ignored;
        if (!train_cli_given(c, "--classes") &&
            data_classes_count(c->o.data.source, c->o.data.video.split, c->o.data.video.train_list,
                               c->o.data.video.val_list, &c->o.model.classes, &ignored) < 0)
            c->o.model.classes = 0;
        if (!train_cli_given(c, "--train-clips")) c->o.data.train_clips = 0;
    }
    return 0;
}

int train_cli_given(const train_cli *c, const char *name)
{
    const option_spec *s = options_find(train_option_specs, name);
    return s && c->given[s - train_option_specs];
}

int train_cli_parse(train_cli *c, int argc, char *const *argv, int *help, error *err)
{
    if (options_parse("train", train_option_specs, c, argc, argv, NULL, 0, NULL, c->given, help, err)) return -1;
    if (*help) return 0;
    /* The last of --report / --no-report wins: a resumed run re-parses the
     * stored options with the new ones after them. */
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--report") == 0) c->report = 1;
        else if (strcmp(argv[i], "--no-report") == 0) c->report = 0;
    }
    /* Without --clip, a .npy source gives its own clip shape (all zeros
     * tell the dataset to take it from the file). */
    if (!options_given(argc, argv, "--clip") && strcmp(c->o.data.source, "synthetic") != 0)
        memset(c->o.data.clip, 0, sizeof c->o.data.clip);
    c->o.model.depth = model_depths[c->depth_index];
    c->o.probes.statistics = c->probes_choice;
    if (c->on_nan) {
        char *end;
        if (strcmp(c->on_nan, "stop") == 0) {
            c->o.probes.on_nan_continue = -1;
        } else if (strncmp(c->on_nan, "continue=", 9) == 0 &&
                   (c->o.probes.on_nan_continue = strtol(c->on_nan + 9, &end, 10)) >= 0 && end != c->on_nan + 9 &&
                   *end == '\0') {
        } else {
            return error_set(err, "nanprobe train: --on-nan expects 'stop' or 'continue=N' with N >= 0, got '%s'", c->on_nan);
        }
    }
    for (int i = 0; i < c->inject.count; i++) c->o.probes.injections[i] = c->inject.items[i];
    c->o.probes.injection_count = c->inject.count;
    return video_options_finish(c, err);
}
