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

void train_cli_init(train_cli *c)
{
    memset(c, 0, sizeof *c);
    train_options_defaults(&c->o);
    c->depth_index = 1; /* 34 */
    c->probes_choice = 1;
}

static int build_specs(train_cli *c, option_spec *s)
{
    const double big = 1e18;
    int n = 0;
    s[n++] = (option_spec){"--depth", OPTION_CHOICE, &c->depth_index, "N", "ResNet3D depth: 18, 34 (default), 50, 101, 152", 0, 0, model_depth_names};
    s[n++] = (option_spec){"--width", OPTION_INT, &c->o.width, "N", "filters of the first stage (the seed: 64)", 1, 4096, NULL};
    s[n++] = (option_spec){"--clip", OPTION_CLIP, c->o.clip, "DxHxWxC", "clip shape (default 16x112x112x3)", 0, 0, NULL};
    s[n++] = (option_spec){"--classes", OPTION_INT, &c->o.classes, "N", "output classes; 1 = sigmoid binary (default 10)", 1, 100000, NULL};
    s[n++] = (option_spec){"--batch", OPTION_INT, &c->o.batch, "N", "clips per step (default 8)", 1, 4096, NULL};
    s[n++] = (option_spec){"--init", OPTION_CHOICE, &c->o.init, "NAME", "kernel initializer: he_normal (default) or glorot_uniform", 0, 0, init_choices};
    s[n++] = (option_spec){"--l2", OPTION_DOUBLE, &c->o.l2, "LAMBDA", "L2 penalty lambda*sum(w^2) on every kernel; 0 disables (default 1e-4)", 0, 1e6, NULL};
    s[n++] = (option_spec){"--lr", OPTION_DOUBLE, &c->o.lr, "RATE", "Adam learning rate (default 1e-3)", 1e-30, 1e30, NULL};
    s[n++] = (option_spec){"--epochs", OPTION_INT, &c->o.epochs, "N", "epochs (default 5)", 1, 1e9, NULL};
    s[n++] = (option_spec){"--steps-per-epoch", OPTION_LONG, &c->o.steps_per_epoch, "N", "steps per epoch; 0 = one pass over the training clips (default)", 0, big, NULL};
    s[n++] = (option_spec){"--data", OPTION_STRING, &c->o.data, "SRC", "'synthetic' (default), a directory of .npy files or of videos", 0, 0, NULL};
    s[n++] = (option_spec){"--split", OPTION_INT, &c->o.video.split, "N", "videos: UCF101 split files classInd.txt, trainlist0N.txt, testlist0N.txt", 1, 99, NULL};
    s[n++] = (option_spec){"--train-list", OPTION_STRING, &c->o.video.train_list, "FILE", "videos: lines of 'relative/path label'", 0, 0, NULL};
    s[n++] = (option_spec){"--val-list", OPTION_STRING, &c->o.video.val_list, "FILE", "videos: the validation list, same format", 0, 0, NULL};
    s[n++] = (option_spec){"--resize", OPTION_STRING, &c->resize, "HxW", "videos: frame size before the crop (default 128x171, C3D)", 0, 0, NULL};
    s[n++] = (option_spec){"--frame-step", OPTION_INT, &c->o.video.frame_step, "K", "videos: take every K-th frame (default 1)", 1, 1000, NULL};
    s[n++] = (option_spec){"--skip-bad-videos", OPTION_FLAG, &c->o.video.skip_bad, NULL, "videos: leave out files that cannot be decoded (listed in run.db) instead of stopping", 0, 0, NULL};
    s[n++] = (option_spec){"--train-clips", OPTION_LONG, &c->o.train_clips, "N", "training clips (synthetic: how many; .npy: at most, 0 = all) (default 320)", 0, big, NULL};
    s[n++] = (option_spec){"--val-clips", OPTION_LONG, &c->o.val_clips, "N", "validation clips (default 64; 0 = no validation)", 0, big, NULL};
    s[n++] = (option_spec){"--normalize", OPTION_CHOICE, &c->o.normalize, "KIND", "none, scale (x/255, default), standardize, per_image", 0, 0, normalize_choices};
    s[n++] = (option_spec){"--seed", OPTION_LONG, &c->o.seed, "N", "seed of initialization, shuffling and synthetic data (default 1)", 0, 9.2e18, NULL};
    s[n++] = (option_spec){"--threads", OPTION_INT, &c->o.threads, "N", "threads (default: all cores)", 1, 1024, NULL};
    s[n++] = (option_spec){"--out", OPTION_STRING, &c->o.out, "DIR", "run directory for run.db, checkpoint and report (default runs/run-DATE)", 0, 0, NULL};
    s[n++] = (option_spec){"--name", OPTION_STRING, &c->o.name, "TEXT", "run name in the database (default: the directory name)", 0, 0, NULL};
    s[n++] = (option_spec){"--from-keras", OPTION_STRING, &c->o.from_keras, "FILE", "start from a Keras checkpoint (.h5, .weights.h5, .keras): weights, moving statistics, Adam state; the model comes from the file", 0, 0, NULL};
    s[n++] = (option_spec){"--initial-epoch", OPTION_INT, &c->o.initial_epoch, "N", "fit()'s initial_epoch: the first epoch is N+1 and --epochs the last (default 0)", 0, 1e9, NULL};
    s[n++] = (option_spec){"--resume", OPTION_STRING, &c->resume, "DIR", "continue the run in DIR from its checkpoint, bit-identically", 0, 0, NULL};
    s[n++] = (option_spec){"--max-steps", OPTION_LONG, &c->o.max_steps, "N", "stop after N steps in all, with a checkpoint; 0 = the untrained model's (default: no limit)", 0, big, NULL};
    s[n++] = (option_spec){"--checkpoint-every", OPTION_LONG, &c->o.checkpoint_every, "N", "also checkpoint every N steps (default: at epoch ends)", 0, big, NULL};
    s[n++] = (option_spec){"--reduce-lr-factor", OPTION_DOUBLE, &c->o.plateau_factor, "F", "ReduceLROnPlateau factor (default 0.1)", 1e-9, 0.999999, NULL};
    s[n++] = (option_spec){"--reduce-lr-patience", OPTION_INT, &c->o.plateau_patience, "N", "ReduceLROnPlateau patience in epochs (default 1)", 0, 1e9, NULL};
    s[n++] = (option_spec){"--min-lr", OPTION_DOUBLE, &c->o.plateau_min_lr, "RATE", "ReduceLROnPlateau min_lr (default 1e-4)", 0, 1e30, NULL};
    s[n++] = (option_spec){"--early-stopping", OPTION_INT, &c->o.early_stopping, "PATIENCE", "stop when val_loss has not improved for PATIENCE epochs (default off)", 1, 1e9, NULL};
    s[n++] = (option_spec){"--probes", OPTION_CHOICE, &c->probes_choice, "on|off", "per-layer statistics and the full sentinel (default on)", 0, 0, probe_choices};
    s[n++] = (option_spec){"--probe-every", OPTION_INT, &c->o.probe_every, "K", "write statistics every K steps; the last W before a NaN always (default 1)", 1, 1e9, NULL};
    s[n++] = (option_spec){"--ring", OPTION_INT, &c->o.ring_steps, "W", "steps kept in memory for the flush on a NaN (default 32)", 1, 100000, NULL};
    s[n++] = (option_spec){"--on-nan", OPTION_STRING, &c->on_nan, "stop|continue=N", "at the first non-finite value: stop (default, exit 3) or run N more steps", 0, 0, NULL};
    s[n++] = (option_spec){"--snapshot-every", OPTION_LONG, &c->o.snapshot_every, "K", "keep the training state in memory every K steps so the first NaN's step is replayed in float32 and float64; 0 = no replay (default 16)", 0, big, NULL};
    s[n++] = (option_spec){"--shadow-every", OPTION_LONG, &c->o.shadow_every, "N", "also run one step in N in float64 and record each layer's float32 error (default off)", 0, big, NULL};
    s[n++] = (option_spec){"--inject", OPTION_LIST, &c->inject, "SPEC", "fault drill, repeatable: nan-input@step=S,sample=K | inf-forward@layer=NAME,step=S | inf-backward@layer=NAME,step=S | scale-weights@layer=NAME,step=S,factor=F", 0, 0, NULL};
    s[n++] = (option_spec){"--quiet", OPTION_FLAG, &c->o.quiet, NULL, "no console output but errors", 0, 0, NULL};
    s[n++] = (option_spec){"--timing", OPTION_FLAG, &c->o.timing, NULL, "print the time per step split by layer kind (JSON on stderr)", 0, 0, NULL};
    s[n++] = (option_spec){"--sync-bn", OPTION_FLAG, &c->o.sync_bn, NULL, "under mpirun: BatchNorm statistics of the global batch (default: each rank's own)", 0, 0, NULL};
    s[n++] = (option_spec){"--bucket-mb", OPTION_DOUBLE, &c->o.bucket_mb, "MB", "under mpirun: gradient allreduce bucket size (default 25)", 1e-3, 1e6, NULL};
    s[n++] = (option_spec){"--precision", OPTION_CHOICE, &c->o.precision, "P", "emulate a GPU's arithmetic: float32 (default), tf32, mixed_float16 (with Keras' dynamic loss scale), mixed_bfloat16", 0, 0, precision_train_names};
    s[n++] = (option_spec){"--bn-variance", OPTION_CHOICE, &c->o.bn_variance, "KIND", "BatchNorm batch variance: two_pass (default, TensorFlow's fused kernel) or one_pass (E[x^2]-E[x]^2 in float32, as XLA)", 0, 0, bn_variance_names};
    s[n++] = (option_spec){"--no-report", OPTION_FLAG, &c->no_report, NULL, "do not write the report at the end", 0, 0, NULL};
    s[n++] = (option_spec){"--report", OPTION_FLAG, &c->report_flag, NULL, "write the report (default; after --no-report, e.g. of a resumed run, turns it back on)", 0, 0, NULL};
    return n;
}

/* Options that define the model, the data or their order may not change
 * when a run is resumed: the checkpoint would not fit, or the rerun would
 * not be the same run. */
const char *const train_cli_fixed_on_resume[] = {"--depth", "--width", "--clip", "--classes", "--batch", "--init",
                                              "--data", "--train-clips", "--val-clips", "--normalize", "--seed",
                                              "--steps-per-epoch", "--split", "--train-list", "--val-list", "--resize",
                                              "--frame-step", "--skip-bad-videos", "--from-keras",
                                              "--initial-epoch", NULL};

/* The video options after a parse: --resize parsed, and a video directory
 * serving all its videos with the classes it holds unless told otherwise
 * (a resume parses twice, so "given" accumulates). */
static int video_options_finish(train_cli *c, int argc, char *const *argv, error *err)
{
    if (c->resize && data_parse_resize(c->resize, c->o.video.resize) < 0)
        return error_set(err, "nanprobe train: --resize expects HxW with both sides 1..8192, e.g. 128x171; got '%s'",
                         c->resize);
    /* A video directory knows its classes and serves all its videos unless told otherwise. */
    c->classes_given |= options_given(argc, argv, "--classes");
    c->train_clips_given |= options_given(argc, argv, "--train-clips");
    dataset_config data = {.source = c->o.data, .video = &c->o.video};
    if (dataset_config_is_video(&data)) {
        /* When the listing fails, 0 lets the run's open report why. */
        error ignored;
        if (!c->classes_given &&
            data_classes_count(c->o.data, c->o.video.split, c->o.video.train_list, c->o.video.val_list,
                               &c->o.classes, &ignored) < 0)
            c->o.classes = 0;
        if (!c->train_clips_given) c->o.train_clips = 0;
    }
    return 0;
}

int train_cli_parse(train_cli *c, int argc, char *const *argv, int *help, error *err)
{
    option_spec specs[56];
    int count = build_specs(c, specs);
    if (options_parse("train", specs, count, argc, argv, NULL, 0, NULL, help, err)) return -1;
    if (*help) {
        options_print_help(stdout, "nanprobe train [options]",
                           "Trains the seed's ResNet3D with Keras semantics, probing every layer every step into "
                           "DIR/run.db,\nand names the first non-finite value if one appears.",
                           specs, count);
        return 0;
    }
    /* The last of --report / --no-report wins: a resumed run re-parses the
     * stored options with the new ones after them. */
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--report") == 0) c->o.report = 1;
        else if (strcmp(argv[i], "--no-report") == 0) c->o.report = 0;
    }
    /* Without --clip, a .npy source gives its own clip shape (all zeros
     * tell the dataset to take it from the file). */
    if (!options_given(argc, argv, "--clip") && strcmp(c->o.data, "synthetic") != 0)
        memset(c->o.clip, 0, sizeof c->o.clip);
    c->o.depth = model_depths[c->depth_index];
    c->o.probes = c->probes_choice;
    if (c->on_nan) {
        char *end;
        if (strcmp(c->on_nan, "stop") == 0) {
            c->o.on_nan_continue = -1;
        } else if (strncmp(c->on_nan, "continue=", 9) == 0 && (c->o.on_nan_continue = strtol(c->on_nan + 9, &end, 10)) >= 0 &&
                   end != c->on_nan + 9 && *end == '\0') {
        } else {
            return error_set(err, "nanprobe train: --on-nan expects 'stop' or 'continue=N' with N >= 0, got '%s'", c->on_nan);
        }
    }
    for (int i = 0; i < c->inject.count; i++) c->o.injections[i] = c->inject.items[i];
    c->o.injection_count = c->inject.count;
    return video_options_finish(c, argc, argv, err);
}


int train_cli_has_option(const char *name)
{
    train_cli c;
    option_spec specs[56];
    train_cli_init(&c);
    int count = build_specs(&c, specs);
    for (int k = 0; k < count; k++)
        if (strcmp(specs[k].name, name) == 0) return 1;
    return 0;
}
