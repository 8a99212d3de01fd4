/* test_hostile.c: hostile and unlucky input, one table.
 *
 * Every case states what it prepares, the nanprobe command line, the exit
 * status and a fragment of the message it must print, and then checks that
 * nothing that existed changed: the case's whole directory is snapshotted
 * (every path, type, mode, size, symlink target and a hash of every file)
 * before the command and compared after it.  A refused command must leave
 * the tree exactly as it was (no empty --out directory, no database switched
 * to WAL, no file written through a planted symlink); a command that
 * succeeds is checked on the files it must not touch (`keep`).
 *
 * Placeholders in arguments: {D} the case directory, {R} a copy of a small
 * finished run in {D}/run, {N} a .npy data directory in {D}/data, {L} a
 * 5,000-character path under {D}, {K} the case's Keras file ({D}/model.h5,
 * .weights.h5 or .keras), {V} a video directory in {D}/videos.  Every command
 * runs with a 60 s timeout: a hang is a failure like a crash.  No command may
 * print a terminal escape (ESC), whatever the names it was given. */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include <hdf5.h>
#include <zip.h>

#include "keras_h5.h"
#include "npy.h"
#include "test_db.h"
#include "test_util.h"

static const char *nanprobe;
static char base[256];
static char reference_run[512];  /* a finished small run, copied per case */
static char other_run[512];      /* another run (other width and seed), for stolen checkpoints */
static char nan_run[512];        /* a run stopped by a NaN, with its replay's .npy slice */

#define FIXTURES "tests/keras/"
#define NAN_SLICE "replay/step-2-batch_normalization_5-input.npy"

#define RUN_OPTIONS "--depth=18", "--width=2", "--clip=4x8x8x1", "--classes=3", "--batch=2", "--threads=1"

typedef enum setup_kind {
    SETUP_NONE,
    SETUP_RUN,             /* {R}: a finished run */
    SETUP_RUN_LOCKED,      /* {R}, with its directory locked by another process (this test) */
    SETUP_RUN_STOLEN,      /* {R} with the checkpoint of another run dropped in */
    SETUP_CKPT_TRUNCATED,  /* {R} with its checkpoint cut in half */
    SETUP_CKPT_FLIPPED,    /* {R} with one bit of its checkpoint flipped */
    SETUP_CKPT_GARBAGE,    /* {R} with a checkpoint that is not one */
    SETUP_NO_CHECKPOINT,   /* {D}/empty: a directory without a run */
    SETUP_DB_SQL,          /* {R} whose run.db has had `sql` applied */
    SETUP_DB_GARBAGE,      /* {D}/run.db: not SQLite */
    SETUP_DB_EMPTY_SQLITE, /* {D}/run.db: SQLite, no tables (what a kill in the first 100 ms used to leave) */
    SETUP_DB_WAL_PENDING,  /* {R} read-only to the command, run.db in WAL mode with committed steps in -wal */
    SETUP_RUN_READ_ONLY,   /* {R} read-only to the command (another user's directory) */
    SETUP_SYMLINK_REPORT,  /* {D}/out/index.html and verdict.txt: symlinks to {D}/victim */
    SETUP_FILE,            /* {D}/file: a plain file */
    SETUP_NPY,             /* {N}: .npy data broken as `npy` says */
    SETUP_NPY_SHRINK,      /* {N}: valid data, truncated 1.5 s into training */
    SETUP_UNWRITABLE,      /* {D}/locked: a directory the command may not write in */
    SETUP_EXPORT_TMP_LINK, /* {R}, and {D}/out.h5.tmp a symlink to {D}/victim */
    SETUP_FIFO,            /* {R}, and {D}/fifo a FIFO */
    SETUP_REPLAY_FIFO,     /* {R} (NaN run) whose run.db names replay/fifo.npy as its slice, a FIFO */
    SETUP_NAN_SLICE_LINK,  /* {R} (NaN run) whose replay slice is a symlink to {D}/victim */
    SETUP_NAN_REPLAY_LINK, /* {R} (NaN run) whose replay/ is a symlink to {D}/elsewhere (holding a slice's name) */
    SETUP_VIDEOS,          /* {V}: a usable video and an undecodable one, names with terminal escapes,
                              a class-folder symlink to {D}/outside (holding secret.avi) */
    SETUP_KERAS,           /* {K}: a fixture edited as `keras` says */
    SETUP_CKPT_OPTION,     /* {R} whose stored --width=2 reads --width=3 (checksum not updated) */
} setup_kind;

typedef enum keras_edit {
    KERAS_ITERATIONS_NAN,      /* tf.keras .h5: Adam/iteration:0 a float64 NaN */
    KERAS_ITERATIONS_2_31,     /* tf.keras .h5: iterations 2^31 */
    KERAS3_ITERATIONS_HUGE,    /* .weights.h5: optimizer/vars/0 = 2^63 - 1 */
    KERAS_LR_HUGE,             /* tf.keras .h5: Adam/learning_rate:0 = 1e38 */
    KERAS_BETA_NAN,            /* legacy .h5: Adam/beta_1:0 NaN */
    KERAS_L2_HUGE,             /* model_config: kernel L2 1e300 */
    KERAS_WIDTH_HUGE,          /* model_config: the stem's filters 1e9 */
    KERAS_CLASSES_HUGE,        /* model_config: the Dense units 1e9 */
    KERAS_EXTERNAL_LINK,       /* a kernel replaced by an external link to {D}/other.h5 */
    KERAS_SOFT_LINK_OUT,       /* a kernel replaced by a dangling soft link */
    KERAS3_EXTRA_LAYER,        /* .weights.h5 with layers/dropout holding a variable */
    KERAS3_LEADING_SCALARS,    /* .weights.h5 with 5,000 more scalars ahead of optimizer/vars */
    KERAS_ARCHIVE_BOMB,        /* .keras: config.json, and 64 MiB of zeros as model.weights.h5 */
    KERAS_ARCHIVE,             /* .keras: the fixture as it is */
    KERAS_TF211,               /* tf.keras .h5 (iterations 40) as it is */
} keras_edit;

typedef enum npy_kind {
    NPY_GOOD,
    NPY_TRUNCATED,
    NPY_DTYPE,
    NPY_AXES,
    NPY_LABEL_RANGE,
    NPY_LABEL_COUNT,
    NPY_NOT_NPY,
    NPY_EMPTY,
    NPY_VAL_UNPAIRED,
    NPY_FORTRAN,
    NPY_BIG_ENDIAN,
    NPY_DIRECTORY,
    NPY_HEADER_LIES,
    NPY_NAN_CLIP,
    NPY_FLOAT_LABELS,
} npy_kind;

typedef struct hostile_case {
    const char *name;
    setup_kind setup;
    npy_kind npy;
    const char *sql;       /* SETUP_DB_SQL */
    int as_nobody;         /* run the command as user nobody */
    long address_limit_mb; /* RLIMIT_AS for the command; 0 none */
    const char *args[28];
    int status;
    const char *message; /* a fragment the output must contain */
    const char *keep;    /* when the command succeeds: this file (relative to {D}) must be unchanged */
    keras_edit keras;    /* SETUP_KERAS */
    const char *env;     /* NAME=VALUE set for the command ({D} expanded) */
    const char *absent;  /* a fragment the output must not contain */
} hostile_case;

#define DATA_OPTIONS "--data", "{N}", "--clip=4x8x8x1", "--classes=3", "--depth=18", "--width=2", "--batch=2", \
                     "--val-clips=1", "--epochs=1", "--no-report", "--quiet", "--threads=1", "--out", "{D}/out"
#define TINY "--depth=18", "--width=2", "--clip=4x8x8x1", "--classes=3", "--batch=2", "--train-clips=4", \
             "--val-clips=0", "--threads=1", "--quiet", "--no-report", "--out", "{D}/out"

#define KERAS_TINY "--batch=2", "--train-clips=4", "--val-clips=0", "--epochs=1", "--threads=1", "--quiet", \
                   "--no-report", "--out", "{D}/out"

static const hostile_case cases[] = {
    /* ---- options: bad usage, exit 2 */
    {"unknown option", SETUP_NONE, 0, 0, 0, 0, {"train", "--bogus", "--out", "{D}/out"}, 2, "unknown option '--bogus'", 0, 0, 0, 0},
    {"batch not a number", SETUP_NONE, 0, 0, 0, 0, {"train", "--batch", "abc", "--out", "{D}/out"}, 2, "--batch expects an integer", 0, 0, 0, 0},
    {"negative batch", SETUP_NONE, 0, 0, 0, 0, {"train", "--batch=-3", "--out", "{D}/out"}, 2, "--batch expects an integer in [1,", 0, 0, 0, 0},
    {"batch 0", SETUP_NONE, 0, 0, 0, 0, {"train", "--batch=0", "--out", "{D}/out"}, 2, "--batch expects an integer in [1,", 0, 0, 0, 0},
    {"lr nan", SETUP_NONE, 0, 0, 0, 0, {"train", "--lr=nan", "--out", "{D}/out"}, 2, "--lr expects a number", 0, 0, 0, 0},
    {"lr inf", SETUP_NONE, 0, 0, 0, 0, {"train", "--lr=inf", "--out", "{D}/out"}, 2, "--lr expects a number", 0, 0, 0, 0},
    {"negative l2", SETUP_NONE, 0, 0, 0, 0, {"train", "--l2=-1e-4", "--out", "{D}/out"}, 2, "--l2 expects a number", 0, 0, 0, 0},
    {"clip with 3 axes", SETUP_NONE, 0, 0, 0, 0, {"train", "--clip=16x112x112", "--out", "{D}/out"}, 2, "--clip expects DxHxWxC", 0, 0, 0, 0},
    {"clip with 5 axes", SETUP_NONE, 0, 0, 0, 0, {"train", "--clip=4x8x8x1x2", "--out", "{D}/out"}, 2, "--clip expects DxHxWxC", 0, 0, 0, 0},
    {"clip of zero", SETUP_NONE, 0, 0, 0, 0, {"train", "--clip=0x8x8x1", "--out", "{D}/out"}, 2, "--clip expects DxHxWxC", 0, 0, 0, 0},
    {"depth 20", SETUP_NONE, 0, 0, 0, 0, {"train", "--depth=20", "--out", "{D}/out"}, 2, "--depth expects one of 18, 34, 50, 101, 152", 0, 0, 0, 0},
    {"missing value", SETUP_NONE, 0, 0, 0, 0, {"train", "--out", "{D}/out", "--epochs"}, 2, "--epochs expects a value", 0, 0, 0, 0},
    {"bad --on-nan", SETUP_NONE, 0, 0, 0, 0, {"train", "--on-nan=maybe", "--out", "{D}/out"}, 2, "--on-nan expects 'stop' or 'continue=N'", 0, 0, 0, 0},
    {"negative --on-nan", SETUP_NONE, 0, 0, 0, 0, {"train", "--on-nan=continue=-1", "--out", "{D}/out"}, 2, "--on-nan expects", 0, 0, 0, 0},
    {"width 0", SETUP_NONE, 0, 0, 0, 0, {"train", "--width=0", "--out", "{D}/out"}, 2, "--width expects an integer in [1,", 0, 0, 0, 0},
    {"threads 0", SETUP_NONE, 0, 0, 0, 0, {"train", "--threads=0", "--out", "{D}/out"}, 2, "--threads expects", 0, 0, 0, 0},
    {"negative seed", SETUP_NONE, 0, 0, 0, 0, {"train", "--seed=-1", "--out", "{D}/out"}, 2, "--seed expects", 0, 0, 0, 0},
    {"probes maybe", SETUP_NONE, 0, 0, 0, 0, {"train", "--probes=maybe", "--out", "{D}/out"}, 2, "--probes expects one of off, on", 0, 0, 0, 0},
    {"unknown normalize", SETUP_NONE, 0, 0, 0, 0, {"train", "--normalize=zscore", "--out", "{D}/out"}, 2, "--normalize expects one of", 0, 0, 0, 0},
    {"unknown init", SETUP_NONE, 0, 0, 0, 0, {"train", "--init=zeros", "--out", "{D}/out"}, 2, "--init expects one of he_normal, glorot_uniform", 0, 0, 0, 0},
    {"flag with a value", SETUP_NONE, 0, 0, 0, 0, {"train", "--quiet=1", "--out", "{D}/out"}, 2, "--quiet takes no value", 0, 0, 0, 0},
    {"epochs overflow", SETUP_NONE, 0, 0, 0, 0, {"train", "--epochs=99999999999999999999", "--out", "{D}/out"}, 2, "--epochs expects an integer", 0, 0, 0, 0},
    {"negative max-steps", SETUP_NONE, 0, 0, 0, 0, {"train", "--max-steps=-1", "--out", "{D}/out"}, 2, "--max-steps expects", 0, 0, 0, 0},
    {"summary width", SETUP_NONE, 0, 0, 0, 0, {"summary", "--width=-1"}, 2, "--width expects", 0, 0, 0, 0},
    {"report without a database", SETUP_NONE, 0, 0, 0, 0, {"report"}, 2, "expected one run database", 0, 0, 0, 0},
    {"report with two databases", SETUP_NONE, 0, 0, 0, 0, {"report", "{D}/a.db", "{D}/b.db"}, 2, "expected one run database", 0, 0, 0, 0},
    {"compare without -o", SETUP_NONE, 0, 0, 0, 0, {"compare", "{D}/a.db"}, 2, "-o DIR", 0, 0, 0, 0},
    {"unknown command", SETUP_NONE, 0, 0, 0, 0, {"fly"}, 2, "unknown command 'fly'", 0, 0, 0, 0},
    /* ---- one spelling for outputs (-o, long form --out), exit 2 for every bad value */
    {"resume with -o elsewhere", SETUP_RUN, 0, 0, 0, 0, {"train", "--resume", "{R}", "-o", "{D}/elsewhere"}, 2, "--out cannot be given with --resume", 0, 0, 0, 0},
    {"train -o empty", SETUP_NONE, 0, 0, 0, 0, {"train", "-o", ""}, 2, "--out expects a non-empty value", 0, 0, 0, 0},
    {"report -o without a value", SETUP_RUN, 0, 0, 0, 0, {"report", "{R}/run.db", "-o"}, 2, "--out expects a value (DIR)", 0, 0, 0, 0},
    {"data -o to a directory", SETUP_NONE, 0, 0, 0, 0, {"data", "{D}", "-o", "{D}/sheet/"}, 2, "-o expects a PNG file path", 0, 0, 0, 0},
    {"data --sheet (old -o) to a directory", SETUP_NONE, 0, 0, 0, 0, {"data", "{D}", "--sheet", "{D}/sheet/"}, 2, "-o expects a PNG file path", 0, 0, 0, 0},
    {"export-keras without -o", SETUP_RUN, 0, 0, 0, 0, {"export-keras", "{R}"}, 2, "-o FILE.h5", 0, 0, 0, 0},
    {"replay precision half", SETUP_RUN, 0, 0, 0, 0, {"replay", "{R}", "--precision=half"}, 2, "nanprobe replay: --precision expects one of float, double, both", 0, 0, 0, 0},
    {"replay step 0", SETUP_RUN, 0, 0, 0, 0, {"replay", "{R}", "--step=0"}, 2, "--step expects an integer >= 1", 0, 0, 0, 0},
    {"ablate jobs 0", SETUP_NONE, 0, 0, 0, 0, {"ablate", "--grid", "l2=0,1e-4", "--jobs=0", "-o", "{D}/ab"}, 2, "--jobs expects an integer in [1, 64], got '0'", 0, 0, 0, 0},
    {"ablate seeds 0", SETUP_NONE, 0, 0, 0, 0, {"ablate", "--arm", "l2=0", "--seeds=0", "-o", "{D}/ab"}, 2, "--seeds expects an integer in [1, 64], got '0'", 0, 0, 0, 0},
    {"ablate arm not key=value", SETUP_NONE, 0, 0, 0, 0, {"ablate", "--arm", "l2", "-o", "{D}/ab"}, 2, "--arm expects KEY=V,KEY=V", 0, 0, 0, 0},
    {"ablate arm of -o", SETUP_NONE, 0, 0, 0, 0, {"ablate", "--arm", "out=x", "-o", "{D}/ab"}, 2, "--arm key 'out' is not a train option that can vary", 0, 0, 0, 0},
    {"ablate arm with grid", SETUP_NONE, 0, 0, 0, 0, {"ablate", "--arm", "l2=0", "--grid", "init=he_normal,glorot_uniform", "-o", "{D}/ab"}, 2, "--grid and --arm cannot be combined", 0, 0, 0, 0},
    {"ablate grid without a value", SETUP_NONE, 0, 0, 0, 0, {"ablate", "--grid"}, 2, "--grid expects a value", 0, 0, 0, 0},
    {"ablate grid of -o", SETUP_NONE, 0, 0, 0, 0, {"ablate", "--grid", "out=a,b", "-o", "{D}/ab"}, 2, "is not a train option that can vary", 0, 0, 0, 0},
    {"ablate bad train value", SETUP_NONE, 0, 0, 0, 0, {"ablate", "--grid", "l2=0,1e-4", "--batch=0", "-o", "{D}/ab"}, 2, "--batch expects an integer in [1,", 0, 0, 0, 0},
    {"doctor seconds 99", SETUP_NONE, 0, 0, 0, 0, {"doctor", "--seconds=99"}, 2, "--seconds expects a number in [0, 60], got '99'", 0, 0, 0, 0},
    {"summary clip 1x2", SETUP_NONE, 0, 0, 0, 0, {"summary", "--clip=1x2"}, 2, "--clip expects DxHxWxC", 0, 0, 0, 0},
    {"version with an unknown option", SETUP_NONE, 0, 0, 0, 0, {"version", "--bogus"}, 2, "unknown option '--bogus'", 0, 0, 0, 0},
    {"help of an unknown command", SETUP_NONE, 0, 0, 0, 0, {"help", "fly"}, 2, "unknown command 'fly'", 0, 0, 0, 0},
    {"help --man with --markdown", SETUP_NONE, 0, 0, 0, 0, {"help", "--man", "--markdown"}, 2, "exclude each other", 0, 0, 0, 0},
    {"resume with another --out", SETUP_RUN, 0, 0, 0, 0, {"train", "--resume", "{R}", "--out", "{D}/elsewhere"}, 2, "--out", 0, 0, 0, 0},
    {"resume changing the width", SETUP_RUN, 0, 0, 0, 0, {"train", "--resume", "{R}", "--width=8"}, 2, "--width cannot change when resuming", 0, 0, 0, 0},

    /* ---- --inject: every bound checked before narrowing; a bad spec is a bad
     * option value (exit 2), though only the model can tell */
    {"inject sample 2^31", SETUP_NONE, 0, 0, 0, 0, {"train", TINY, "--inject=nan-input@step=1,sample=2147483648"}, 2, "sample must be an integer in [0, 2147483647]", 0, 0, 0, 0},
    {"inject sample 2^32-1", SETUP_NONE, 0, 0, 0, 0, {"train", TINY, "--inject=nan-input@step=1,sample=4294967295"}, 2, "sample must be an integer in [0, 2147483647]", 0, 0, 0, 0},
    {"inject d 2^32-1", SETUP_NONE, 0, 0, 0, 0, {"train", TINY, "--inject=inf-forward@layer=conv3d_2,step=1,d=4294967295"}, 2, "d must be an integer", 0, 0, 0, 0},
    {"inject spec too long", SETUP_NONE, 0, 0, 0, 0, {"train", TINY, "--inject=nan-input@sample=0,0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000step=1234"}, 2, "at most 159", 0, 0, 0, 0},
    {"inject unknown layer", SETUP_NONE, 0, 0, 0, 0, {"train", TINY, "--inject=inf-forward@layer=nope,step=1"}, 2, "no layer named 'nope'", 0, 0, 0, 0},
    {"inject unknown kind", SETUP_NONE, 0, 0, 0, 0, {"train", TINY, "--inject=melt@step=1"}, 2, "unknown kind", 0, 0, 0, 0},
    {"inject not key=value", SETUP_NONE, 0, 0, 0, 0, {"train", TINY, "--inject=nan-input@step"}, 2, "is not key=value", 0, 0, 0, 0},
    {"inject sample beyond batch", SETUP_NONE, 0, 0, 0, 0, {"train", TINY, "--inject=nan-input@step=1,sample=2"}, 2, "outside the batch of 2", 0, 0, 0, 0},
    {"inject element outside", SETUP_NONE, 0, 0, 0, 0, {"train", TINY, "--inject=inf-forward@layer=conv3d_2,step=1,h=99"}, 2, "element outside", 0, 0, 0, 0},
    {"inject scale without factor", SETUP_NONE, 0, 0, 0, 0, {"train", TINY, "--inject=scale-weights@layer=conv3d_2,step=1"}, 2, "factor=F is required", 0, 0, 0, 0},
    {"inject step 0", SETUP_NONE, 0, 0, 0, 0, {"train", TINY, "--inject=nan-input@step=0"}, 2, "step must be an integer in [1,", 0, 0, 0, 0},

    /* ---- data */
    {"missing data directory", SETUP_NONE, 0, 0, 0, 0, {"train", "--data", "{D}/missing-dir", "--out", "{D}/out", "--quiet"}, 1, "missing-dir", 0, 0, 0, 0},
    {"npy truncated", SETUP_NPY, NPY_TRUNCATED, 0, 0, 0, {"train", DATA_OPTIONS}, 1, "train_clips.npy: truncated", 0, 0, 0, 0},
    {"npy dtype int16", SETUP_NPY, NPY_DTYPE, 0, 0, 0, {"train", DATA_OPTIONS}, 1, "is not supported for clips", 0, 0, 0, 0},
    {"npy 4 axes", SETUP_NPY, NPY_AXES, 0, 0, 0, {"train", DATA_OPTIONS}, 1, "has 4 axes", 0, 0, 0, 0},
    {"npy label out of range", SETUP_NPY, NPY_LABEL_RANGE, 0, 0, 0, {"train", DATA_OPTIONS}, 1, "out of range", 0, 0, 0, 0},
    {"npy label count", SETUP_NPY, NPY_LABEL_COUNT, 0, 0, 0, {"train", DATA_OPTIONS}, 1, "labels", 0, 0, 0, 0},
    {"npy not npy", SETUP_NPY, NPY_NOT_NPY, 0, 0, 0, {"train", DATA_OPTIONS}, 1, "not a .npy file", 0, 0, 0, 0},
    {"npy empty file", SETUP_NPY, NPY_EMPTY, 0, 0, 0, {"train", DATA_OPTIONS}, 1, "the file is empty", 0, 0, 0, 0},
    {"npy val without labels", SETUP_NPY, NPY_VAL_UNPAIRED, 0, 0, 0, {"train", DATA_OPTIONS}, 1, "val_labels.npy", 0, 0, 0, 0},
    {"npy fortran order", SETUP_NPY, NPY_FORTRAN, 0, 0, 0, {"train", DATA_OPTIONS}, 1, "ortran", 0, 0, 0, 0},
    {"npy big-endian", SETUP_NPY, NPY_BIG_ENDIAN, 0, 0, 0, {"train", DATA_OPTIONS}, 1, "big-endian", 0, 0, 0, 0},
    {"npy is a directory", SETUP_NPY, NPY_DIRECTORY, 0, 0, 0, {"train", DATA_OPTIONS}, 1, "not a regular file", 0, 0, 0, 0},
    {"npy header lies", SETUP_NPY, NPY_HEADER_LIES, 0, 0, 0, {"train", DATA_OPTIONS}, 1, "train_clips.npy", 0, 0, 0, 0},
    {"npy float labels", SETUP_NPY, NPY_FLOAT_LABELS, 0, 0, 0, {"train", DATA_OPTIONS}, 1, "train_labels.npy", 0, 0, 0, 0},
    {"npy clip shape against --clip", SETUP_NPY, NPY_GOOD, 0, 0, 0, {"train", "--data", "{N}", "--clip=4x8x8x3", "--classes=3", "--depth=18", "--width=2", "--batch=2", "--val-clips=1", "--epochs=1", "--quiet", "--out", "{D}/out"}, 1, "but the configured clip shape is (4, 8, 8, 3)", 0, 0, 0, 0},
    {"npy NaN clip is the sentinel's", SETUP_NPY, NPY_NAN_CLIP, 0, 0, 0, {"train", DATA_OPTIONS}, 3, "", 0, 0, 0, 0},
    {"npy shape from the file", SETUP_NPY, NPY_GOOD, 0, 0, 0, {"train", "--data", "{N}", "--classes=3", "--depth=18", "--width=2", "--batch=2", "--val-clips=1", "--epochs=1", "--no-report", "--threads=1", "--out", "{D}/out"}, 0, "clips (4, 8, 8, 1)", "data/train_clips.npy", 0, 0, 0},
    {"npy shrinks under the trainer", SETUP_NPY_SHRINK, NPY_GOOD, 0, 0, 0, {"train", "--data", "{N}", "--classes=3", "--depth=18", "--width=2", "--batch=2", "--val-clips=0", "--epochs=100000", "--no-report", "--quiet", "--threads=1", "--out", "{D}/out"}, 1, "shrank", 0, 0, 0, 0},

    /* ---- run directories, checkpoints, --resume */
    {"existing run", SETUP_RUN, 0, 0, 0, 0, {"train", RUN_OPTIONS, "--out", "{R}"}, 1, "already holds a run", 0, 0, 0, 0},
    {"resume without a checkpoint", SETUP_NO_CHECKPOINT, 0, 0, 0, 0, {"train", "--resume", "{D}/empty"}, 1, "checkpoint.bin", 0, 0, 0, 0},
    {"resume a stolen checkpoint", SETUP_RUN_STOLEN, 0, 0, 0, 0, {"train", "--resume", "{R}", "--quiet"}, 1, "belongs to another run", 0, 0, 0, 0},
    {"resume a truncated checkpoint", SETUP_CKPT_TRUNCATED, 0, 0, 0, 0, {"train", "--resume", "{R}", "--quiet"}, 1, "truncated checkpoint", 0, 0, 0, 0},
    {"resume a flipped checkpoint", SETUP_CKPT_FLIPPED, 0, 0, 0, 0, {"train", "--resume", "{R}", "--quiet"}, 1, "checkpoint", 0, 0, 0, 0},
    {"resume a garbage checkpoint", SETUP_CKPT_GARBAGE, 0, 0, 0, 0, {"train", "--resume", "{R}", "--quiet"}, 1, "not a nanprobe checkpoint", 0, 0, 0, 0},
    {"second trainer into a locked directory", SETUP_RUN_LOCKED, 0, 0, 0, 0, {"train", RUN_OPTIONS, "--out", "{R}"}, 1, "another nanprobe process", 0, 0, 0, 0},
    {"resume a locked directory", SETUP_RUN_LOCKED, 0, 0, 0, 0, {"train", "--resume", "{R}", "--quiet"}, 1, "another nanprobe process", 0, 0, 0, 0},
    {"--out is a file", SETUP_FILE, 0, 0, 0, 0, {"train", TINY, "--out", "{D}/file"}, 1, "not a directory", 0, 0, 0, 0},
    {"--out under an unwritable parent", SETUP_UNWRITABLE, 0, 0, 1, 0, {"train", TINY, "--out", "{D}/locked/run"}, 1, "cannot create", 0, 0, 0, 0},
    {"5000-character path", SETUP_NONE, 0, 0, 0, 0, {"train", "--data", "{L}", "--out", "{D}/out", "--quiet"}, 1, "cannot access: File name too long", 0, 0, 0, 0},
    {"batch 4096 under 4 GiB", SETUP_NONE, 0, 0, 0, 4096, {"train", "--batch=4096", "--depth=18", "--width=16", "--clip=8x64x64x3", "--train-clips=4096", "--val-clips=0", "--threads=1", "--quiet", "--no-report", "--out", "{D}/out"}, 1, "cannot allocate 13.07 GiB", 0, 0, 0, 0},
    /* The figure is the model's whole need (its eight buffers at batch 4096), whatever the limit: it used to be
     * the one buffer that failed (7.20 GiB under 4 GiB, 5.70 GiB under 12 GiB). */
    {"batch 4096 under 12 GiB", SETUP_NONE, 0, 0, 0, 12288, {"train", "--batch=4096", "--depth=18", "--width=16", "--clip=8x64x64x3", "--train-clips=4096", "--val-clips=0", "--threads=1", "--quiet", "--no-report", "--out", "{D}/out"}, 1, "cannot allocate 13.07 GiB", 0, 0, 0, 0},

    /* ---- databases handed to `report` */
    {"report of a missing file", SETUP_NONE, 0, 0, 0, 0, {"report", "{D}/nothing.db"}, 1, "no such file", 0, 0, 0, 0},
    {"report of a directory", SETUP_NONE, 0, 0, 0, 0, {"report", "{D}"}, 1, "not a regular file", 0, 0, 0, 0},
    {"report of a non-SQLite file", SETUP_DB_GARBAGE, 0, 0, 0, 0, {"report", "{D}/run.db"}, 1, "not a SQLite database", 0, 0, 0, 0},
    {"report of a SQLite file without tables", SETUP_DB_EMPTY_SQLITE, 0, 0, 0, 0, {"report", "{D}/run.db"}, 1, "not one written by nanprobe", 0, 0, 0, 0},
    {"stats step 1.5", SETUP_DB_SQL, 0, "UPDATE stats SET step = 1.5 WHERE step = 2", 0, 0, {"report", "{R}/run.db", "-o", "{D}/out"}, 1, "damaged database", 0, 0, 0, 0},
    {"stats step 2^32+1", SETUP_DB_SQL, 0, "UPDATE stats SET step = 4294967297 WHERE step = 2", 0, 0, {"report", "{R}/run.db", "-o", "{D}/out"}, 1, "damaged database", 0, 0, 0, 0},
    {"huge layer_id", SETUP_DB_SQL, 0, "UPDATE layers SET layer_id = 1099511627776 WHERE layer_id = 3", 0, 0, {"report", "{R}/run.db", "-o", "{D}/out"}, 1, "damaged database", 0, 0, 0, 0},
    {"huge step in steps", SETUP_DB_SQL, 0, "UPDATE steps SET step = 9000000000000 WHERE step = 2", 0, 0, {"report", "{R}/run.db", "-o", "{D}/out"}, 1, "damaged database", 0, 0, 0, 0},
    {"recursive view for stats", SETUP_DB_SQL, 0, "DROP TABLE stats; CREATE VIEW stats AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT 1 AS run_id, x AS step, 1 AS layer_id, 'output' AS tensor FROM c", 0, 0, {"report", "{R}/run.db", "-o", "{D}/out"}, 1, "views", 0, 0, 0, 0},
    {"classes 0", SETUP_DB_SQL, 0, "UPDATE runs SET classes = 0", 0, 0, {"report", "{R}/run.db", "-o", "{D}/out"}, 1, "damaged database", 0, 0, 0, 0},
    {"event on a layer that is not there", SETUP_DB_SQL, 0, "INSERT INTO events (run_id, step, epoch, kind, layer_id, message) VALUES (1, 1, 1, 'nan', 7777, 'x')", 0, 0, {"report", "{R}/run.db", "-o", "{D}/out"}, 1, "damaged database", 0, 0, 0, 0},
    /* Every loader checks its rows by one table (src/rundb/read_columns.h), which names the table and column. */
    {"steps probed 7", SETUP_DB_SQL, 0, "PRAGMA ignore_check_constraints = 1; UPDATE steps SET probed = 7 WHERE step = 2", 0, 0, {"report", "{R}/run.db", "-o", "{D}/out"}, 1, "damaged database: steps.probed = '7' where an integer in [0, 1] was expected", 0, 0, 0, 0},
    /* A name a newer nanprobe may write is kept as unknown, not fatal: the report still comes. */
    {"event of an unknown kind", SETUP_DB_SQL, 0, "PRAGMA ignore_check_constraints = 1; INSERT INTO events (run_id, step, epoch, kind, pass, value_class, message) VALUES (1, 1, 1, 'melted', 'sideways', 'purple', 'x')", 0, 0, {"report", "{R}/run.db", "-o", "{D}/out"}, 0, "report:", "run/run.db", 0, 0, "damaged"},
    {"layer of an unknown kind", SETUP_DB_SQL, 0, "PRAGMA ignore_check_constraints = 1; UPDATE layers SET kind = 'Conv2D' WHERE layer_id = 3", 0, 0, {"report", "{R}/run.db", "-o", "{D}/out"}, 0, "report:", "run/run.db", 0, 0, "damaged"},
    {"non-finite counts overflow", SETUP_DB_SQL, 0, "UPDATE stats SET nan_count = 9223372036854775807, posinf_count = 9223372036854775807 WHERE step = 2 AND layer_id = 1", 0, 0, {"report", "{R}/run.db", "-o", "{D}/out"}, 0, "report:", "run/run.db", 0, 0, 0},
    {"report from another user's directory", SETUP_RUN_READ_ONLY, 0, 0, 1, 0, {"report", "{R}/run.db", "-o", "{D}/mine"}, 0, "report:", "run/run.db", 0, 0, 0},
    {"report of a killed run, read-only", SETUP_DB_WAL_PENDING, 0, 0, 1, 0, {"report", "{R}/run.db", "-o", "{D}/mine"}, 1, "copy the run directory somewhere writable", 0, 0, 0, 0},
    {"report of a killed run", SETUP_DB_WAL_PENDING, 0, 0, 0, 0, {"report", "{R}/run.db", "-o", "{D}/mine"}, 0, "report:", "run/run.db", 0, 0, 0},
    {"report through planted symlinks", SETUP_SYMLINK_REPORT, 0, 0, 0, 0, {"report", "{R}/run.db", "-o", "{D}/out"}, 0, "report:", "victim", 0, 0, 0},
    {"report -o is a file", SETUP_RUN, 0, 0, 0, 0, {"report", "{R}/run.db", "-o", "{R}/run.db"}, 1, "not a directory", 0, 0, 0, 0},
    /* ---- round 3 (issue 26): export-keras */
    {"export through a planted .tmp symlink", SETUP_EXPORT_TMP_LINK, 0, 0, 0, 0, {"export-keras", "{R}", "-o", "{D}/out.h5"}, 0, "wrote", "victim", 0, 0, 0},
    {"export onto the run's database", SETUP_RUN, 0, 0, 0, 0, {"export-keras", "{R}", "-o", "{R}/run.db"}, 2, "the run's own database or checkpoint", 0, 0, 0, 0},
    {"export onto the run's checkpoint", SETUP_RUN, 0, 0, 0, 0, {"export-keras", "{R}", "-o", "{R}/./checkpoint.bin"}, 2, "the run's own database or checkpoint", 0, 0, 0, 0},
    {"export onto a FIFO", SETUP_FIFO, 0, 0, 0, 0, {"export-keras", "{R}", "-o", "{D}/fifo"}, 1, "not a regular file", 0, 0, 0, 0},

    /* ---- Keras files: every number held to train's ranges */
    {"keras iterations NaN", SETUP_KERAS, 0, 0, 0, 0, {"train", "--from-keras", "{K}", KERAS_TINY}, 1, "model.h5: Adam/iteration:0 = nan is not a step count", 0, KERAS_ITERATIONS_NAN, 0, 0},
    {"keras iterations 2^31", SETUP_KERAS, 0, 0, 0, 0, {"train", "--from-keras", "{K}", KERAS_TINY}, 1, "= 2.14748e+09 is not a step count", 0, KERAS_ITERATIONS_2_31, 0, 0},
    {"keras 3 iterations 2^63-1", SETUP_KERAS, 0, 0, 0, 0, {"train", "--from-keras", "{K}", KERAS_TINY}, 1, "model.weights.h5: optimizer/vars/0 = 9.22337e+18 is not a step count", 0, KERAS3_ITERATIONS_HUGE, 0, 0},
    {"keras learning rate 1e38", SETUP_KERAS, 0, 0, 0, 0, {"train", "--from-keras", "{K}", KERAS_TINY}, 1, "is not a usable learning rate", 0, KERAS_LR_HUGE, 0, 0},
    {"keras beta_1 NaN", SETUP_KERAS, 0, 0, 0, 0, {"train", "--from-keras", "{K}", KERAS_TINY}, 1, "the Keras Adam has beta_1 = nan", 0, KERAS_BETA_NAN, 0, 0},
    {"keras L2 1e300", SETUP_KERAS, 0, 0, 0, 0, {"train", "--from-keras", "{K}", KERAS_TINY}, 1, "L2 factor 1e+300 is outside --l2's range", 0, KERAS_L2_HUGE, 0, 0},
    {"keras width 1e9", SETUP_KERAS, 0, 0, 0, 0, {"train", "--from-keras", "{K}", KERAS_TINY}, 1, "width 1000000000 is outside --width's range", 0, KERAS_WIDTH_HUGE, 0, 0},
    {"keras classes 1e9", SETUP_KERAS, 0, 0, 0, 0, {"train", "--from-keras", "{K}", KERAS_TINY}, 1, "1000000000 classes are outside --classes' range", 0, KERAS_CLASSES_HUGE, 0, 0},
    {"keras max-steps below its iterations", SETUP_KERAS, 0, 0, 0, 0, {"train", "--from-keras", "{K}", KERAS_TINY, "--max-steps=10"}, 2, "--max-steps 10 is not above the 40 iterations", 0, KERAS_TF211, 0, 0},
    {"keras external link", SETUP_KERAS, 0, 0, 0, 0, {"train", "--from-keras", "{K}", KERAS_TINY}, 1, "is an external link", 0, KERAS_EXTERNAL_LINK, 0, 0},
    {"keras dangling soft link", SETUP_KERAS, 0, 0, 0, 0, {"train", "--from-keras", "{K}", KERAS_TINY}, 1, "is a soft link to '/elsewhere/kernel'", 0, KERAS_SOFT_LINK_OUT, 0, 0},
    {"keras 3 extra layer", SETUP_KERAS, 0, 0, 0, 0, {"train", "--from-keras", "{K}", KERAS_TINY}, 1, "layers/dropout is not a layer of the model", 0, KERAS3_EXTRA_LAYER, 0, 0},
    {"keras 3 leading scalars", SETUP_KERAS, 0, 0, 0, 0, {"train", "--from-keras", "{K}", KERAS_TINY}, 1, "optimizer/vars/2 is a third scalar", 0, KERAS3_LEADING_SCALARS, 0, 0},
    {"keras file is a FIFO", SETUP_FIFO, 0, 0, 0, 0, {"train", "--from-keras", "{D}/fifo", KERAS_TINY}, 1, "fifo: not a regular file", 0, 0, 0, 0},
    {"keras archive bomb", SETUP_KERAS, 0, 0, 0, 0, {"train", "--from-keras", "{K}", KERAS_TINY}, 1, "model.weights.h5 says it holds 67108864 bytes, more than the model of config.json can", 0, KERAS_ARCHIVE_BOMB, "TMPDIR={D}", 0},
    {"keras archive honours TMPDIR", SETUP_KERAS, 0, 0, 0, 0, {"train", "--from-keras", "{K}", KERAS_TINY}, 1, "cannot create a temporary file in", 0, KERAS_ARCHIVE, "TMPDIR={D}/no-such-directory", 0},

    /* ---- replay, report, video lists */
    {"replay through a planted slice symlink", SETUP_NAN_SLICE_LINK, 0, 0, 0, 0, {"replay", "{R}"}, 0, "replay of step 2", "victim", 0, 0, 0},
    {"replay through a planted replay/ symlink", SETUP_NAN_REPLAY_LINK, 0, 0, 0, 0, {"replay", "{R}"}, 0, "not a plain directory of the run", "elsewhere/step-2-batch_normalization_5-input.npy", 0, 0, 0},
    {"report of a replay slice that is a FIFO", SETUP_REPLAY_FIFO, 0, 0, 0, 0, {"report", "{R}/run.db", "-o", "{D}/out"}, 0, "report:", "run/run.db", 0, 0, 0},
    {"train-list /dev/zero", SETUP_VIDEOS, 0, 0, 0, 0, {"train", "--data", "{V}", "--train-list", "/dev/zero", TINY}, 1, "/dev/zero: not a regular file", 0, 0, 0, 0},
    {"data --train-list /dev/zero", SETUP_VIDEOS, 0, 0, 0, 0, {"data", "{V}", "--train-list", "/dev/zero"}, 1, "/dev/zero: not a regular file", 0, 0, 0, 0},
    {"data: escapes in names", SETUP_VIDEOS, 0, 0, 0, 0, {"data", "{V}", "--sheet-clips=0", "--files", "--clip=2x16x16x3", "--val-clips=0"}, 1, "cannot be used", 0, 0, 0, "secret"},
    {"train refuses a video with escapes", SETUP_VIDEOS, 0, 0, 0, 0, {"train", "--data", "{V}", "--clip=2x16x16x3", "--val-clips=0", "--depth=18", "--width=2", "--batch=1", "--quiet", "--no-report", "--out", "{D}/out"}, 1, "bad?[2J.avi", 0, 0, 0, "secret"},

    /* ---- checkpoints, init */
    {"resume a checkpoint with a damaged option", SETUP_CKPT_OPTION, 0, 0, 0, 0, {"train", "--resume", "{R}", "--quiet"}, 1, "damaged checkpoint (checksum mismatch)", 0, 0, 0, 0},
    {"init --max-steps", SETUP_NONE, 0, 0, 0, 0, {"init", "--max-steps=5", "--out", "{D}/out"}, 2, "--max-steps does not apply", 0, 0, 0, 0},
    {"init --resume", SETUP_RUN, 0, 0, 0, 0, {"init", "--resume", "{R}"}, 2, "--resume does not apply", 0, 0, 0, 0},
};

#define CASE_COUNT ((int)(sizeof cases / sizeof cases[0]))

/* ------------------------------------------------------------ snapshots */

static uint64_t hash_file(const char *path)
{
    uint64_t h = 0xcbf29ce484222325ull;
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    unsigned char buffer[65536];
    size_t n;
    while ((n = fread(buffer, 1, sizeof buffer, f)) > 0)
        for (size_t i = 0; i < n; i++) h = (h ^ buffer[i]) * 0x100000001b3ull;
    fclose(f);
    return h;
}

static char *snapshot_text;
static size_t snapshot_used, snapshot_capacity;

static int snapshot_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    char line[5000];
    int n;
    if (type == FTW_SL) {
        char target[1024] = "";
        ssize_t k = readlink(path, target, sizeof target - 1);
        target[k > 0 ? k : 0] = '\0';
        n = snprintf(line, sizeof line, "%s L %s\n", path, target);
    } else if (S_ISREG(st->st_mode)) {
        n = snprintf(line, sizeof line, "%s F %o %lld %016llx\n", path, (unsigned)st->st_mode, (long long)st->st_size,
                     (unsigned long long)hash_file(path));
    } else {
        n = snprintf(line, sizeof line, "%s D %o\n", path, (unsigned)st->st_mode);
    }
    if (snapshot_used + (size_t)n + 1 > snapshot_capacity) {
        snapshot_capacity = (snapshot_used + (size_t)n + 1) * 2;
        snapshot_text = realloc(snapshot_text, snapshot_capacity);
    }
    memcpy(snapshot_text + snapshot_used, line, (size_t)n + 1);
    snapshot_used += (size_t)n;
    return 0;
}

/* The tree under dir as text (nftw visits in directory order, which is
 * stable for an unchanged directory). */
static char *snapshot(const char *dir)
{
    snapshot_text = NULL;
    snapshot_used = snapshot_capacity = 0;
    nftw(dir, snapshot_entry, 16, FTW_PHYS);
    return snapshot_text ? snapshot_text : calloc(1, 1);
}

static char *file_snapshot(const char *path)
{
    struct stat st;
    char *text = malloc(128);
    if (lstat(path, &st) != 0) snprintf(text, 128, "missing");
    else snprintf(text, 128, "%lld %016llx", (long long)st.st_size, (unsigned long long)hash_file(path));
    return text;
}

/* ---------------------------------------------------------------- setup */

static void copy_tree(const char *from, const char *to)
{
    char command[2048];
    snprintf(command, sizeof command, "cp -a '%s' '%s'", from, to);
    if (system(command) != 0) fprintf(stderr, "%s failed\n", command);
}

static void write_npy(const char *dir, const char *name, const char *descr, int rank, const int64_t *shape,
                      const void *data)
{
    char path[5000];
    error err;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (npy_write(path, descr, rank, shape, data, 1, &err)) fprintf(stderr, "npy_write: %s\n", err.message);
}

/* Replaces the first occurrence of `from` in a file (same length). */
static void patch_file(const char *path, const char *from, const char *to)
{
    FILE *f = fopen(path, "r+b");
    if (!f) return;
    char buffer[512];
    size_t n = fread(buffer, 1, sizeof buffer, f);
    for (size_t i = 0; i + strlen(from) <= n; i++)
        if (memcmp(buffer + i, from, strlen(from)) == 0) {
            fseek(f, (long)i, SEEK_SET);
            fwrite(to, 1, strlen(to), f);
            break;
        }
    fclose(f);
}

static void make_npy(const char *dir, npy_kind kind, int clips_count)
{
    mkdir(dir, 0755);
    const int64_t shape[5] = {clips_count, 4, 8, 8, 1}, four_axes[4] = {clips_count, 4, 8, 8};
    size_t values = (size_t)clips_count * 4 * 8 * 8;
    unsigned char *clips = calloc(values, 1);
    float *float_clips = calloc(values, sizeof(float));
    int64_t *labels = calloc((size_t)clips_count, sizeof(int64_t));
    for (int i = 0; i < clips_count; i++) labels[i] = i % 3;
    for (size_t i = 0; i < values; i++) clips[i] = (unsigned char)(i * 7), float_clips[i] = 0.5f;
    const int64_t label_shape[1] = {clips_count}, short_shape[1] = {clips_count - 1};
    char path[5000];
    snprintf(path, sizeof path, "%s/train_clips.npy", dir);
    switch (kind) {
    case NPY_DTYPE: write_npy(dir, "train_clips.npy", "<i2", 5, shape, float_clips); break;
    case NPY_AXES: write_npy(dir, "train_clips.npy", "|u1", 4, four_axes, clips); break;
    case NPY_NOT_NPY: test_write_file(path, "PK\3\4 this is a zip file", 24); break;
    case NPY_EMPTY: test_write_file(path, "", 0); break;
    case NPY_DIRECTORY: mkdir(path, 0755); break;
    case NPY_NAN_CLIP:
        float_clips[3] = NAN;
        write_npy(dir, "train_clips.npy", "<f4", 5, shape, float_clips);
        break;
    default: write_npy(dir, "train_clips.npy", "|u1", 5, shape, clips); break;
    }
    if (kind == NPY_TRUNCATED && truncate(path, 300) != 0) perror("truncate");
    if (kind == NPY_FORTRAN) patch_file(path, "False", "True ");
    if (kind == NPY_BIG_ENDIAN) {
        write_npy(dir, "train_clips.npy", "<f4", 5, shape, float_clips);
        patch_file(path, "<f4", ">f4");
    }
    if (kind == NPY_HEADER_LIES) patch_file(path, "(4, 4, 8, 8, 1)", "(9, 4, 8, 8, 1)");
    if (kind == NPY_LABEL_RANGE) labels[1] = 7;
    if (kind == NPY_FLOAT_LABELS) write_npy(dir, "train_labels.npy", "<f4", 1, label_shape, float_clips);
    else write_npy(dir, "train_labels.npy", "<i8", 1, kind == NPY_LABEL_COUNT ? short_shape : label_shape, labels);
    if (kind == NPY_VAL_UNPAIRED) write_npy(dir, "val_clips.npy", "|u1", 5, shape, clips);
    free(clips);
    free(float_clips);
    free(labels);
}


/* ---------------------------------------------------------- Keras files */

static char keras_path[600]; /* {K} of the current case */

static const char *keras_fixture(keras_edit e)
{
    switch (e) {
    case KERAS3_ITERATIONS_HUGE:
    case KERAS3_EXTRA_LAYER:
    case KERAS3_LEADING_SCALARS: return FIXTURES "resnet.weights.h5";
    case KERAS_BETA_NAN: return FIXTURES "full_legacy.h5";
    case KERAS_ARCHIVE_BOMB:
    case KERAS_ARCHIVE: return FIXTURES "resnet.keras";
    default: return FIXTURES "full_tf211.h5";
    }
}

static void scalar_dataset(hid_t loc, const char *at, hid_t file_type, hid_t mem_type, const void *value)
{
    H5Ldelete(loc, at, H5P_DEFAULT);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t d = H5Dcreate2(loc, at, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (d < 0 || H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, value) < 0) fprintf(stderr, "cannot write %s\n", at);
    if (d >= 0) H5Dclose(d);
    H5Sclose(space);
}

/* model_config with its first `from` replaced by `to`. */
static void edit_config(hid_t file, const char *from, const char *to)
{
    char *text = NULL;
    error err;
    if (keras_h5_read_string(file, "model_config", "fixture", &text, &err)) return;
    char *at = strstr(text, from);
    char *edited = malloc(strlen(text) + strlen(to) + 1);
    if (at && edited) {
        sprintf(edited, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
        H5Adelete(file, "model_config");
        keras_h5_write_string(file, "model_config", edited);
    }
    free(edited);
    free(text);
}

#define KERNEL12 "model_weights/conv3d_12/conv3d_12/kernel:0"

static void edit_links(hid_t file, keras_edit e, const char *dir)
{
    if (e == KERAS_SOFT_LINK_OUT) {
        H5Ldelete(file, KERNEL12, H5P_DEFAULT);
        H5Lcreate_soft("/elsewhere/kernel", file, KERNEL12, H5P_DEFAULT, H5P_DEFAULT);
        return;
    }
    /* The kernel moved to another file, reached by an external link. */
    char other[700];
    snprintf(other, sizeof other, "%s/other.h5", dir);
    hid_t o = H5Fcreate(other, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Ocopy(file, KERNEL12, o, "kernel", H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(o);
    H5Ldelete(file, KERNEL12, H5P_DEFAULT);
    H5Lcreate_external(other, "kernel", file, KERNEL12, H5P_DEFAULT, H5P_DEFAULT);
}

/* optimizer/vars/i moved to i + 5000, and 5,000 scalars ahead (an
 * iteration count, then learning rates). */
static void leading_scalars(hid_t file)
{
    hid_t g = H5Gopen2(file, "optimizer/vars", H5P_DEFAULT);
    H5G_info_t gi;
    H5Gget_info(g, &gi);
    for (long i = (long)gi.nlinks - 1; i >= 0; i--) {
        char from[32], to[32];
        snprintf(from, sizeof from, "%ld", i);
        snprintf(to, sizeof to, "%ld", i + 5000);
        H5Lmove(g, from, g, to, H5P_DEFAULT, H5P_DEFAULT);
    }
    const long long zero = 0;
    const float rate = 1e-3f;
    for (int i = 0; i < 5000; i++) {
        char name[32];
        snprintf(name, sizeof name, "%d", i);
        if (i == 0) scalar_dataset(g, name, H5T_STD_I64LE, H5T_NATIVE_LLONG, &zero);
        else scalar_dataset(g, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, &rate);
    }
    H5Gclose(g);
}

static void edit_hdf5(hid_t f, keras_edit e, const char *dir)
{
    const double nan_value = NAN, lr = 1e38, beta = NAN;
    const long long big = 2147483648ll, huge = 9223372036854775807ll;
    switch (e) {
    case KERAS_ITERATIONS_NAN: scalar_dataset(f, "optimizer_weights/Adam/iteration:0", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &nan_value); break;
    case KERAS_ITERATIONS_2_31: scalar_dataset(f, "optimizer_weights/Adam/iteration:0", H5T_STD_I64LE, H5T_NATIVE_LLONG, &big); break;
    case KERAS3_ITERATIONS_HUGE: scalar_dataset(f, "optimizer/vars/0", H5T_STD_I64LE, H5T_NATIVE_LLONG, &huge); break;
    case KERAS_LR_HUGE: scalar_dataset(f, "optimizer_weights/Adam/learning_rate:0", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &lr); break;
    case KERAS_BETA_NAN: scalar_dataset(f, "optimizer_weights/Adam/beta_1:0", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &beta); break;
    case KERAS_L2_HUGE: edit_config(f, "\"l2\": 0.0001", "\"l2\": 1e300"); break;
    case KERAS_WIDTH_HUGE: edit_config(f, "\"filters\": 4,", "\"filters\": 1000000000,"); break;
    case KERAS_CLASSES_HUGE: edit_config(f, "\"units\": 5,", "\"units\": 1000000000,"); break;
    case KERAS_EXTERNAL_LINK:
    case KERAS_SOFT_LINK_OUT: edit_links(f, e, dir); break;
    case KERAS3_EXTRA_LAYER: {
        const float one = 1.0f;
        hid_t plist = H5Pcreate(H5P_LINK_CREATE);
        H5Pset_create_intermediate_group(plist, 1);
        hid_t g = H5Gcreate2(f, "layers/dropout/vars", plist, H5P_DEFAULT, H5P_DEFAULT);
        H5Pclose(plist);
        scalar_dataset(g, "0", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, &one);
        H5Gclose(g);
        break;
    }
    case KERAS3_LEADING_SCALARS: leading_scalars(f); break;
    default: break;
    }
}

/* Streams `left` zero bytes to libzip (an archive member of 64 MiB that
 * deflates to a few hundred KB). */
static zip_int64_t zeros_source(void *state, void *data, zip_uint64_t length, zip_source_cmd_t cmd)
{
    zip_uint64_t *left = state;
    switch (cmd) {
    case ZIP_SOURCE_OPEN: *left = 64u << 20; return 0;
    case ZIP_SOURCE_READ: {
        zip_uint64_t n = length < *left ? length : *left;
        memset(data, 0, (size_t)n);
        *left -= n;
        return (zip_int64_t)n;
    }
    case ZIP_SOURCE_STAT: {
        zip_stat_t *st = data;
        zip_stat_init(st);
        st->size = 64u << 20;
        st->valid |= ZIP_STAT_SIZE;
        return sizeof *st;
    }
    case ZIP_SOURCE_SUPPORTS:
        return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE, ZIP_SOURCE_STAT,
                                              ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE, -1);
    default: return 0;
    }
}

/* The fixture's config.json beside 64 MiB of zeros named model.weights.h5. */
static void archive_bomb(const char *path)
{
    int code;
    zip_t *in = zip_open(FIXTURES "resnet.keras", ZIP_RDONLY, &code), *out = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &code);
    static zip_uint64_t left;
    zip_source_t *config = in && out ? zip_source_zip(out, in, zip_name_locate(in, "config.json", 0), 0, 0, -1) : NULL;
    zip_source_t *zeros = out ? zip_source_function(out, zeros_source, &left) : NULL;
    if (!config || zip_file_add(out, "config.json", config, 0) < 0 || !zeros ||
        zip_file_add(out, "model.weights.h5", zeros, 0) < 0 || zip_close(out) != 0)
        fprintf(stderr, "cannot write %s\n", path);
    if (in) zip_discard(in);
}

static void make_keras(keras_edit e, const char *dir)
{
    const char *fixture = keras_fixture(e), *suffix = strstr(fixture, ".weights.h5") ? ".weights.h5"
                                                    : strstr(fixture, ".keras") ? ".keras" : ".h5";
    snprintf(keras_path, sizeof keras_path, "%s/model%s", dir, suffix);
    if (e == KERAS_ARCHIVE_BOMB) {
        archive_bomb(keras_path);
        return;
    }
    char command[2048];
    snprintf(command, sizeof command, "cp '%s' '%s'", fixture, keras_path);
    if (system(command) != 0) fprintf(stderr, "%s failed\n", command);
    if (e == KERAS_ARCHIVE || e == KERAS_TF211) return;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(keras_path, H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0) {
        fprintf(stderr, "cannot open %s\n", keras_path);
        return;
    }
    edit_hdf5(f, e, dir);
    H5Fclose(f);
}

/* ---------------------------------------------------------- videos */

#define ESC "\x1b"

/* {V}: class "cls ESC]0;x BEL" with a real one-second video and an
 * undecodable one, both named with escapes, a second class "plain" with a
 * copy of the video, and symlinks out of the
 * dataset (a class folder and a folder inside a class) to {D}/outside,
 * which holds secret.avi. */
static void make_videos(const char *dir)
{
    char path[2048], target[1024], command[4600];
    snprintf(path, sizeof path, "%s/videos/cls" ESC "]0;x\x07", dir);
    char videos[700];
    snprintf(videos, sizeof videos, "%s/videos", dir);
    mkdir(videos, 0755);
    mkdir(path, 0755);
    snprintf(command, sizeof command, "ffmpeg -loglevel error -y -f lavfi -i testsrc=size=32x24:rate=8 -t 1 "
             "-pix_fmt yuv420p '%s/ok" ESC "[1m.avi'", path);
    if (system(command) != 0) fprintf(stderr, "%s failed\n", command);
    snprintf(command, sizeof command, "mkdir '%s/plain' && cp '%s/ok" ESC "[1m.avi' '%s/plain/ok.avi'", videos, path,
             videos);
    if (system(command) != 0) fprintf(stderr, "%s failed\n", command);
    char bad[2200];
    snprintf(bad, sizeof bad, "%s/bad" ESC "[2J.avi", path);
    test_write_file(bad, "not a video at all", 18);
    snprintf(target, sizeof target, "%s/outside", dir);
    mkdir(target, 0755);
    snprintf(bad, sizeof bad, "%s/secret.avi", target);
    test_write_file(bad, "not a video either", 18);
    snprintf(bad, sizeof bad, "%s/link", path);
    if (symlink(target, bad) != 0) perror("symlink");
    snprintf(bad, sizeof bad, "%s/videos/outside-class", dir);
    if (symlink(target, bad) != 0) perror("symlink");
}

static int held_lock = -1;


static void plant_symlink(const char *target, const char *at)
{
    if (symlink(target, at) != 0) perror("symlink");
}

/* The setups of round 3 (issue 26). */
static void set_up_round3(const hostile_case *c, const char *dir, const char *run)
{
    char path[4096], data[3000];
    snprintf(data, sizeof data, "%s/victim", dir);
    switch (c->setup) {
    case SETUP_EXPORT_TMP_LINK:
        test_write_file(data, "precious\n", 9);
        snprintf(path, sizeof path, "%s/out.h5.tmp", dir);
        plant_symlink(data, path);
        break;
    case SETUP_FIFO:
        snprintf(path, sizeof path, "%s/fifo", dir);
        if (mkfifo(path, 0644) != 0) perror("mkfifo");
        break;
    case SETUP_REPLAY_FIFO:
        test_db_exec(run, "UPDATE replays SET input_npy = 'replay/fifo.npy'");
        snprintf(path, sizeof path, "%s/replay/fifo.npy", run);
        if (mkfifo(path, 0644) != 0) perror("mkfifo");
        break;
    case SETUP_NAN_SLICE_LINK:
        test_write_file(data, "precious\n", 9);
        snprintf(path, sizeof path, "%s/" NAN_SLICE, run);
        unlink(path);
        plant_symlink(data, path);
        break;
    case SETUP_NAN_REPLAY_LINK:
        snprintf(data, sizeof data, "%s/elsewhere", dir);
        mkdir(data, 0755);
        snprintf(path, sizeof path, "%s/elsewhere/step-2-batch_normalization_5-input.npy", dir);
        test_write_file(path, "precious\n", 9);
        snprintf(path, sizeof path, "%s/replay", run);
        test_remove_tree(path);
        plant_symlink(data, path);
        break;
    case SETUP_VIDEOS: make_videos(dir); break;
    case SETUP_KERAS: make_keras(c->keras, dir); break;
    case SETUP_CKPT_OPTION:
        snprintf(path, sizeof path, "%s/checkpoint.bin", run);
        patch_file(path, "--width=2", "--width=3");
        break;
    default: break;
    }
}

static void set_up(const hostile_case *c, const char *dir, char *run, size_t run_size)
{
    snprintf(run, run_size, "%s/run", dir);
    char path[4096], data[3000];
    switch (c->setup) {
    case SETUP_RUN:
    case SETUP_RUN_LOCKED:
    case SETUP_RUN_STOLEN:
    case SETUP_CKPT_TRUNCATED:
    case SETUP_CKPT_FLIPPED:
    case SETUP_CKPT_GARBAGE:
    case SETUP_DB_SQL:
    case SETUP_RUN_READ_ONLY:
    case SETUP_DB_WAL_PENDING:
    case SETUP_SYMLINK_REPORT:
    case SETUP_EXPORT_TMP_LINK:
    case SETUP_FIFO:
    case SETUP_CKPT_OPTION:
        copy_tree(reference_run, run);
        break;
    case SETUP_REPLAY_FIFO:
    case SETUP_NAN_SLICE_LINK:
    case SETUP_NAN_REPLAY_LINK:
        copy_tree(nan_run, run);
        break;
    default: break;
    }
    snprintf(path, sizeof path, "%s/checkpoint.bin", run);
    struct stat st;
    switch (c->setup) {
    case SETUP_RUN_LOCKED:
        held_lock = open(run, O_RDONLY | O_DIRECTORY);
        if (held_lock < 0 || flock(held_lock, LOCK_EX | LOCK_NB) != 0) perror("flock");
        break;
    case SETUP_RUN_STOLEN: {
        char stolen[600];
        snprintf(stolen, sizeof stolen, "%s/checkpoint.bin", other_run);
        if (test_copy_file(stolen, path, -1)) fprintf(stderr, "copying %s failed\n", stolen);
        break;
    }
    case SETUP_CKPT_TRUNCATED:
        if (stat(path, &st) == 0 && truncate(path, st.st_size / 2) != 0) perror("truncate");
        break;
    case SETUP_CKPT_FLIPPED: {
        FILE *f = fopen(path, "r+b");
        if (f && stat(path, &st) == 0) {
            fseek(f, st.st_size - 100, SEEK_SET);
            int b = fgetc(f);
            fseek(f, st.st_size - 100, SEEK_SET);
            fputc(b ^ 0x10, f);
        }
        if (f) fclose(f);
        break;
    }
    case SETUP_CKPT_GARBAGE: test_write_file(path, "NOTACKPTxxxxxxxxxxxxxxxx", 24); break;
    case SETUP_NO_CHECKPOINT:
        snprintf(path, sizeof path, "%s/empty", dir);
        mkdir(path, 0755);
        break;
    case SETUP_DB_SQL:
        if (test_db_exec(run, c->sql)) fprintf(stderr, "%s: its SQL did not apply\n", c->name);
        break;
    case SETUP_DB_GARBAGE:
        snprintf(path, sizeof path, "%s/run.db", dir);
        test_write_file(path, "this is not a database, only text pretending\n", 45);
        break;
    case SETUP_DB_EMPTY_SQLITE: {
        sqlite3 *db = test_db_open(dir, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
        if (db) test_sql_exec(db, "PRAGMA journal_mode=WAL; PRAGMA user_version=0;");
        sqlite3_close(db);
        break;
    }
    case SETUP_DB_WAL_PENDING: {
        /* What a kill leaves: WAL mode, committed rows still in run.db-wal.
         * A second connection keeps the log from being folded back when
         * this one closes; then both are dropped without a checkpoint. */
        pid_t pid = fork();
        if (pid == 0) {
            sqlite3 *db = test_db_open(run, SQLITE_OPEN_READWRITE);
            if (db)
                test_sql_exec(db, "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; INSERT INTO events (run_id, "
                                  "step, epoch, kind, message) VALUES (1, 1, 1, 'resumed', 'x')");
            _exit(0); /* no close: the -wal stays as a killed trainer leaves it */
        }
        waitpid(pid, NULL, 0);
        snprintf(data, sizeof data, "%s/run.db-shm", run);
        unlink(data); /* the -shm would be rebuilt; a read-only place cannot rebuild it */
        break;
    }
    case SETUP_SYMLINK_REPORT:
        snprintf(path, sizeof path, "%s/victim", dir);
        test_write_file(path, "precious\n", 9);
        snprintf(path, sizeof path, "%s/out", dir);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/out/index.html", dir);
        snprintf(data, sizeof data, "%s/victim", dir);
        if (symlink(data, path) != 0) perror("symlink");
        snprintf(path, sizeof path, "%s/out/verdict.txt", dir);
        if (symlink(data, path) != 0) perror("symlink");
        break;
    case SETUP_FILE:
        snprintf(path, sizeof path, "%s/file", dir);
        test_write_file(path, "x", 1);
        break;
    case SETUP_NPY:
        snprintf(data, sizeof data, "%s/data", dir);
        make_npy(data, c->npy, 4);
        break;
    case SETUP_NPY_SHRINK:
        snprintf(data, sizeof data, "%s/data", dir);
        make_npy(data, NPY_GOOD, 4096);
        break;
    case SETUP_UNWRITABLE:
        snprintf(path, sizeof path, "%s/locked", dir);
        mkdir(path, 0755); /* owned by root: nobody cannot write in it */
        break;
    default: set_up_round3(c, dir, run); break;
    }
    if (c->as_nobody) {
        /* The output place is the user's own; the run's directory is not. */
        snprintf(path, sizeof path, "%s/mine", dir);
        mkdir(path, 0755);
        if (chown(path, 65534, 65534) != 0) perror("chown");
    }
}

/* ------------------------------------------------------------------ run */

static void expand(const char *arg, const char *dir, const char *run, char *out, size_t size)
{
    size_t k = 0;
    for (const char *p = arg; *p && k + 1 < size;) {
        const char *with = NULL;
        char longpath[5200];
        if (strncmp(p, "{D}", 3) == 0) with = dir;
        else if (strncmp(p, "{R}", 3) == 0) with = run;
        else if (strncmp(p, "{N}", 3) == 0) {
            snprintf(longpath, sizeof longpath, "%s/data", dir);
            with = longpath;
        } else if (strncmp(p, "{K}", 3) == 0) {
            with = keras_path;
        } else if (strncmp(p, "{V}", 3) == 0) {
            snprintf(longpath, sizeof longpath, "%s/videos", dir);
            with = longpath;
        } else if (strncmp(p, "{L}", 3) == 0) {
            int n = snprintf(longpath, sizeof longpath, "%s/", dir);
            for (; n < 5000; n++) longpath[n] = n % 100 ? 'a' : '/';
            longpath[n] = '\0';
            with = longpath;
        }
        if (with) {
            size_t n = strlen(with);
            if (k + n >= size) n = size - k - 1;
            memcpy(out + k, with, n);
            k += n;
            p += 3;
        } else {
            out[k++] = *p++;
        }
    }
    out[k] = '\0';
}

/* What the child of a case sets up just before its exec. */
typedef struct child_setting {
    const hostile_case *c;
    int limit;
    char *env;
} child_setting;

static void in_child(void *context)
{
    const child_setting *s = context;
    if (held_lock >= 0) close(held_lock); /* the lock stays with the parent's descriptor */
    if (s->limit) {
        struct rlimit bound = {(rlim_t)s->c->address_limit_mb << 20, (rlim_t)s->c->address_limit_mb << 20};
        setrlimit(RLIMIT_AS, &bound);
    }
    if (s->c->as_nobody && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(126);
    if (s->c->env) putenv(s->env);
}

/* Runs the case's command with the output captured; a command still
 * running after 60 s is killed (and reported as a hang). */
static int run_case(const hostile_case *c, const char *dir, const char *run, char *output, size_t size)
{
    static char storage[28][6000];
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)nanprobe;
    for (int i = 0; c->args[i]; i++) {
        expand(c->args[i], dir, run, storage[i], sizeof storage[i]);
        argv[argc++] = storage[i];
    }
    /* ASan cannot start under an address-space limit (its shadow memory is
     * terabytes of reservations): sanitized, the case asks for more than
     * any machine has instead (the last --width wins). */
    int limit = c->address_limit_mb && !test_sanitized();
    if (c->address_limit_mb && !limit) argv[argc++] = "--width=4096";
    argv[argc] = NULL;
    static char env[6000];
    if (c->env) expand(c->env, dir, run, env, sizeof env);
    child_setting setting = {c, limit, env};
    test_process p;
    if (test_spawn(&p, argv, in_child, &setting)) return -1;
    if (c->setup == SETUP_NPY_SHRINK) {
        struct timespec t = {1, 500000000};
        nanosleep(&t, NULL);
        char clips[4096];
        snprintf(clips, sizeof clips, "%s/data/train_clips.npy", dir);
        if (truncate(clips, 4096) != 0) perror("truncate");
    }
    return test_collect(&p, output, size, 60);
}

static void check_case(int index)
{
    const hostile_case *c = &cases[index];
    char dir[512], run[600], output[16384];
    snprintf(dir, sizeof dir, "%s/case-%02d", base, index);
    mkdir(dir, 0755);
    set_up(c, dir, run, sizeof run);
    /* The tree the command must leave alone: everything, unless it succeeds. */
    char *before = snapshot(dir), *keep_before = NULL, keep[700] = "";
    if (c->keep) {
        snprintf(keep, sizeof keep, "%s/%s", dir, c->keep);
        keep_before = file_snapshot(keep);
    }
    int status = run_case(c, dir, run, output, sizeof output);
    if (held_lock >= 0) {
        close(held_lock);
        held_lock = -1;
    }
    CHECK(status == c->status, "%s: exit %d, expected %d%s; output:\n%s", c->name, status, c->status,
          status == 137 ? " (killed after 60 s: a hang)" : "", output);
    /* Sanitized, an address-space case asks for --width=4096 instead (run_case): another figure. */
    const char *message = c->address_limit_mb && test_sanitized() ? "cannot allocate" : c->message;
    CHECK(strstr(output, message) != NULL, "%s: the message lacks '%s':\n%s", c->name, message, output);
    CHECK(strchr(output, 0x1b) == NULL, "%s: the output carries a terminal escape (ESC):\n%s", c->name, output);
    CHECK(!c->absent || strstr(output, c->absent) == NULL, "%s: the output names '%s', which it must not:\n%s",
          c->name, c->absent ? c->absent : "", output);
    char *first_line_end = strchr(output, '\n');
    CHECK(status == 0 || status == 3 || (first_line_end && first_line_end - output < 2000) || strlen(output) < 2000,
          "%s: the message is not one line of sensible length:\n%.300s", c->name, output);
    if (c->setup == SETUP_NPY_SHRINK) {
        /* Not a refusal: the run failed halfway (the test cut its data).
         * What it committed must be intact and say so. */
        char out[700], row[128], check[64] = "", run_status[32] = "";
        snprintf(out, sizeof out, "%s/out", dir);
        test_db_row(out, "SELECT (SELECT integrity_check FROM pragma_integrity_check), status FROM runs", row,
                    sizeof row);
        sscanf(row, "%63[^|]|%31s", check, run_status);
        CHECK(strcmp(check, "ok") == 0 && strcmp(run_status, "failed") == 0,
              "%s: the run's database after the failure: integrity '%s', status '%s'", c->name, check, run_status);
    } else if (status == c->status && c->status != 0 && c->status != 3) {
        char *after = snapshot(dir);
        CHECK(strcmp(before, after) == 0, "%s: the command changed what existed:\nbefore:\n%s\nafter:\n%s", c->name,
              before, after);
        free(after);
    }
    if (keep_before) {
        char *keep_after = file_snapshot(keep);
        CHECK(strcmp(keep_before, keep_after) == 0, "%s: %s changed (%s -> %s)", c->name, c->keep, keep_before,
              keep_after);
        free(keep_after);
        free(keep_before);
    }
    free(before);
}

/* Two small finished runs: the reference copied into each case, and
 * another (other width and seed) whose checkpoint gets stolen. */
static int make_runs(void)
{
    char output[8192];
    snprintf(reference_run, sizeof reference_run, "%s/reference", base);
    snprintf(other_run, sizeof other_run, "%s/other", base);
    char *const first[] = {(char *)nanprobe, "train", RUN_OPTIONS, "--train-clips=4", "--val-clips=2",
                           "--epochs=1", "--quiet", "--out", reference_run, NULL};
    int s = test_run(first, output, sizeof output);
    CHECK(s == 0, "the reference run failed (%d):\n%s", s, output);
    char *const second[] = {(char *)nanprobe, "train", "--depth=18", "--width=4", "--clip=4x8x8x1", "--classes=3",
                            "--batch=2", "--threads=1", "--seed=7", "--train-clips=4", "--val-clips=0",
                            "--epochs=1", "--quiet", "--no-report", "--out", other_run, NULL};
    int t = test_run(second, output, sizeof output);
    CHECK(t == 0, "the other run failed (%d):\n%s", t, output);
    snprintf(nan_run, sizeof nan_run, "%s/nan", base);
    char *const third[] = {(char *)nanprobe, "train", RUN_OPTIONS, "--train-clips=8", "--val-clips=0", "--epochs=1",
                           "--inject", "scale-weights@layer=conv3d_5,step=2,factor=1e30", "--quiet", "--no-report",
                           "--out", nan_run, NULL};
    int u = test_run(third, output, sizeof output);
    char slice[700];
    snprintf(slice, sizeof slice, "%s/" NAN_SLICE, nan_run);
    CHECK(u == 3 && access(slice, F_OK) == 0, "the NaN run (%d) or its slice %s is missing:\n%s", u, slice, output);
    return s == 0 && t == 0 && u == 3 ? 0 : -1;
}

int main(int argc, char **argv)
{
    nanprobe = test_binary(argc, argv);
    if (nanprobe[0] != '/') {
        static char absolute[4096];
        if (getcwd(absolute, sizeof absolute - strlen(nanprobe) - 2)) {
            strcat(absolute, "/");
            strcat(absolute, nanprobe);
            nanprobe = absolute;
        }
    }
    if (test_temp_dir(base, sizeof base, "hostile")) return 1;
    chmod(base, 0755); /* the cases run as nobody need to reach their directory */
    if (make_runs() == 0) {
        /* NANPROBE_HOSTILE_ONLY=TEXT runs the cases whose name contains TEXT. */
        const char *only = getenv("NANPROBE_HOSTILE_ONLY");
        for (int i = 0; i < CASE_COUNT; i++)
            if (!only || strstr(cases[i].name, only)) check_case(i);
        printf("  %d hostile cases\n", CASE_COUNT);
    }
    test_remove_tree(base);
    return test_finish();
}
