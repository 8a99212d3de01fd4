/* test_train.c: the training loop end to end through the `nanprobe train`
 * command: Keras callbacks on scripted val_loss sequences, a learning run,
 * determinism, bit-identical --resume, Ctrl-C, --max-steps 0 / init and
 * --report (bad input of every kind is in test_hostile). */
#include <math.h>
#include <sys/stat.h>
#include <time.h>

#include "callbacks.h"
#include "test_db.h"
#include "test_util.h"

static const char *nanprobe;

/* ------------------------------------------------------------ callbacks */

static void test_reduce_lr_on_plateau(void)
{
    reduce_lr_on_plateau r;
    reduce_lr_init(&r, 0.1, 1, 1e-4, 1e-4);
    float lr = 1e-3f;
    /* epoch:       1 improves; 2 worse -> reduce; 3 improves; 4 within min_delta -> reduce to min_lr;
     *              5 NaN -> no reduction possible (already at min_lr). */
    double val[] = {2.0, 2.1, 1.5, 1.49995, NAN, NAN};
    int reduced[6];
    float lrs[6];
    for (int i = 0; i < 6; i++) {
        reduced[i] = reduce_lr_update(&r, val[i], &lr);
        lrs[i] = lr;
    }
    CHECK(!reduced[0] && lrs[0] == 1e-3f, "epoch 1 improved: lr %g", lrs[0]);
    CHECK(reduced[1] && lrs[1] == (float)((double)1e-3f * 0.1), "epoch 2 no improvement, patience 1: lr %g", lrs[1]);
    CHECK(!reduced[2], "epoch 3 improved");
    CHECK(reduced[3] && lrs[3] == 1e-4f, "epoch 4 improved by less than min_delta: lr %g, expected min_lr", lrs[3]);
    CHECK(!reduced[4] && !reduced[5] && lrs[5] == 1e-4f, "at min_lr nothing more happens (lr %g)", lrs[5]);
    /* Keras multiplies the float32 lr by the Python float 0.1 and stores it
     * back in float32: 1.00000005e-4, one ulp above float32(1e-4), so the
     * next plateau still "reduces" (to min_lr), as it does in Keras. */
    CHECK(lrs[1] == 1.0000000474974513e-4f && lrs[1] > 1e-4f, "first reduction gives %.12g", lrs[1]);

    /* NaN is never an improvement: with patience 2 two NaNs in a row reduce. */
    reduce_lr_init(&r, 0.5, 2, 0.0, 0.0);
    lr = 1.0f;
    int a = reduce_lr_update(&r, 1.0, &lr), b = reduce_lr_update(&r, NAN, &lr), c = reduce_lr_update(&r, NAN, &lr);
    CHECK(!a && !b && c && lr == 0.5f, "NaN val_loss counts as no improvement (lr %g)", lr);
    int d = reduce_lr_update(&r, 0.9, &lr);
    CHECK(!d && r.wait == 0 && r.best == 0.9, "finite improvement after NaNs resets wait");
}

static void test_early_stopping(void)
{
    early_stopping e;
    early_stopping_init(&e, 2, 0.0);
    double val[] = {NAN, 1.0, 1.1, 0.9, 0.95, 0.95};
    int stop[6];
    for (int i = 0; i < 6; i++) stop[i] = early_stopping_update(&e, val[i], i);
    CHECK(!stop[0], "never stops after the first epoch");
    CHECK(!stop[1] && !stop[2] && !stop[3] && !stop[4], "stopped too early: %d %d %d %d", stop[1], stop[2], stop[3],
          stop[4]);
    CHECK(stop[5], "two epochs without improvement (0.95, 0.95 after 0.9) must stop");
    early_stopping_init(&e, -1, 0.0);
    int any = 0;
    for (int i = 0; i < 10; i++) any |= early_stopping_update(&e, 5.0 + i, i);
    CHECK(!any, "patience < 0 means off");
}

/* ------------------------------------------------------------ run helpers */

/* `nanprobe train ARG...` (NULL-terminated), like test_run. */
#define run_train(output, size, ...) test_run_args(nanprobe, output, size, "train", __VA_ARGS__)

/* ------------------------------------------------------------- learning */

/* A small ResNet3D-18 (width 8) on 8x32x32x3 synthetic clips of 4 motion
 * directions (chance: 0.25), the seed's optimizer and L2.  Validation is in
 * inference mode with BN moving statistics (momentum 0.99), which need a few
 * hundred steps to settle, so the run is 4 epochs of 64 steps. */
static void test_learning(const char *base)
{
    char dir[4200], output[8192];
    snprintf(dir, sizeof dir, "%s/learn", base);
    int status = run_train(output, sizeof output, "--depth=18", "--width=8", "--clip=8x32x32x3", "--classes=4",
                           "--batch=16", "--train-clips=1024", "--val-clips=128", "--epochs=4", "--probe-every=16",
                           "--no-report", "--out", dir, NULL);
    CHECK(status == 0, "learning run exited %d:\n%s", status, output);
    double first = test_db_double(dir, "SELECT val_accuracy FROM epochs WHERE epoch = 1");
    double last = test_db_double(dir, "SELECT val_accuracy FROM epochs ORDER BY epoch DESC LIMIT 1");
    double loss_first = test_db_double(dir, "SELECT loss FROM epochs WHERE epoch = 1");
    double loss_last = test_db_double(dir, "SELECT loss FROM epochs ORDER BY epoch DESC LIMIT 1");
    printf("  learning: val_acc %.3f after epoch 1, %.3f after epoch 4 (chance 0.25); loss %.3f -> %.3f\n", first,
           last, loss_first, loss_last);
    CHECK(last >= 0.6, "validation accuracy %.3f after 256 steps, expected >= 0.6 (chance 0.25)", last);
    CHECK(loss_last < loss_first, "training loss did not decrease: %.4f -> %.4f", loss_first, loss_last);
}

/* An epoch end that is also a --checkpoint-every step is checkpointed once
 * (end_epoch's, with the epoch's end in the state), not twice. */
static void test_checkpoint_once(const char *base)
{
    char dir[4200], output[8192];
    snprintf(dir, sizeof dir, "%s/checkpoint-once", base);
    int status = run_train(output, sizeof output, "--depth=18", "--width=2", "--clip=4x8x8x1", "--classes=3",
                           "--batch=2", "--train-clips=4", "--val-clips=0", "--epochs=2", "--checkpoint-every=1",
                           "--threads=1", "--quiet", "--no-report", "--out", dir, NULL);
    CHECK(status == 0, "--checkpoint-every 1: exit %d\n%s", status, output);
    /* Steps 0 (initial), 1 (periodic), 2 (epoch 1's end), 3 (periodic), 4 (epoch 2's end). */
    double rows = test_db_double(dir, "SELECT COUNT(*) FROM events WHERE kind = 'checkpoint'");
    double steps = test_db_double(dir, "SELECT COUNT(DISTINCT step) FROM events WHERE kind = 'checkpoint'");
    CHECK(rows == 5 && steps == 5, "checkpoints: %g written at %g distinct steps, expected 5 at 5", rows, steps);
}

/* ---------------------------------------------------------- determinism */

#define SMALL_RUN "--depth=18", "--width=4", "--clip=4x16x16x2", "--classes=3", "--batch=4", "--train-clips=24", \
                  "--val-clips=8", "--epochs=3", "--no-report", "--quiet"

static void test_determinism_and_resume(const char *base)
{
    char a[4200], b[4200], c[4200], output[8192];
    snprintf(a, sizeof a, "%s/det-a", base);
    snprintf(b, sizeof b, "%s/det-b", base);
    snprintf(c, sizeof c, "%s/resumed", base);
    int sa = run_train(output, sizeof output, SMALL_RUN, "--threads=1", "--out", a, NULL);
    CHECK(sa == 0, "run a exited %d: %s", sa, output);
    int sb = run_train(output, sizeof output, SMALL_RUN, "--threads=1", "--out", b, NULL);
    CHECK(sb == 0, "run b exited %d: %s", sb, output);
    double la[64], lb[64], lc[64];
    int na = test_db_losses(a, la, 64), nb = test_db_losses(b, lb, 64);
    CHECK(na == 18 && nb == 18, "expected 18 contiguous steps, got %d and %d", na, nb);
    int same = na == nb;
    for (int i = 0; same && i < na; i++) same = memcmp(&la[i], &lb[i], sizeof(double)) == 0;
    CHECK(same, "same seed and --threads 1 must give bit-identical losses");

    /* Stop mid-epoch 2 (step 8 of 18), then resume: the same 18 losses. */
    int sc = run_train(output, sizeof output, SMALL_RUN, "--threads=1", "--max-steps=8", "--out", c, NULL);
    CHECK(sc == 0, "--max-steps run exited %d: %s", sc, output);
    int partial = test_db_losses(c, lc, 64);
    CHECK(partial == 8, "--max-steps=8 left %d steps", partial);
    char *resume_argv[] = {(char *)nanprobe, "train", "--resume", c, "--quiet", NULL};
    int sr = test_run(resume_argv, output, sizeof output);
    CHECK(sr == 0, "resume exited %d: %s", sr, output);
    int nc = test_db_losses(c, lc, 64);
    same = nc == na;
    for (int i = 0; same && i < na; i++) same = memcmp(&la[i], &lc[i], sizeof(double)) == 0;
    CHECK(same, "resumed run differs from the uninterrupted one (%d vs %d steps)", nc, na);
    double val_a = test_db_double(a, "SELECT val_loss FROM epochs WHERE epoch = 3");
    double val_c = test_db_double(c, "SELECT val_loss FROM epochs WHERE epoch = 3");
    CHECK(memcmp(&val_a, &val_c, sizeof val_a) == 0, "resumed val_loss %.17g vs %.17g", val_c, val_a);

    /* Changing what defines the run is refused. */
    char *bad_resume[] = {(char *)nanprobe, "train", "--resume", c, "--batch=8", NULL};
    int sbad = test_run(bad_resume, output, sizeof output);
    CHECK(sbad == 2 && strstr(output, "--batch cannot change"), "resume with --batch: exit %d: %s", sbad, output);
}

/* Ctrl-C: the step in flight completes, a checkpoint is written, exit 130,
 * and the run resumes from there. */
static void test_interrupt(const char *base)
{
    char dir[4200], output[8192], path[4300];
    snprintf(dir, sizeof dir, "%s/interrupted", base);
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execl(nanprobe, nanprobe, "train", "--depth=18", "--width=4", "--clip=4x16x16x2", "--classes=3", "--batch=4",
              "--train-clips=400", "--val-clips=8", "--epochs=2", "--no-report", "--out", dir, (char *)NULL);
        _exit(127);
    }
    /* Wait until a few steps are committed, then interrupt. */
    snprintf(path, sizeof path, "%s/run.db", dir);
    for (int i = 0; i < 600; i++) {
        struct timespec t = {0, 50 * 1000 * 1000};
        nanosleep(&t, NULL);
        double steps = test_db_double(dir, "SELECT COUNT(*) FROM steps");
        if (steps >= 5) break;
    }
    kill(pid, SIGINT);
    int status;
    waitpid(pid, &status, 0);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    CHECK(code == 130, "SIGINT: exit status %d, expected 130", code);
    snprintf(path, sizeof path, "%s/checkpoint.bin", dir);
    struct stat st;
    CHECK(stat(path, &st) == 0, "no checkpoint after SIGINT");
    double interrupted = test_db_double(dir, "SELECT COUNT(*) FROM events WHERE kind = 'interrupted'");
    CHECK(interrupted == 1, "interrupted event missing");
    double status_text = test_db_double(dir, "SELECT status = 'interrupted' FROM runs");
    CHECK(status_text == 1, "runs.status is not 'interrupted'");
    char *resume_argv[] = {(char *)nanprobe, "train", "--resume", dir, "--quiet", NULL};
    int sr = test_run(resume_argv, output, sizeof output);
    CHECK(sr == 0, "resume after SIGINT exited %d: %s", sr, output);
    double steps = test_db_double(dir, "SELECT COUNT(*) FROM steps");
    double last = test_db_double(dir, "SELECT MAX(step) FROM steps");
    CHECK(steps == 200 && last == 200, "after resume: %g steps, last %g (expected 200 contiguous)", steps, last);
}

/* ------------------------------------------- init, --report, --max-steps */

/* Bad input of every kind lives in test_hostile.  Here: --max-steps 0 and
 * `nanprobe init` write the untrained model's checkpoint and the run
 * database without a step, the run resumes from there, and --report turns
 * the report back on for a run started with --no-report. */
static void test_init_and_report(const char *base)
{
    char output[8192], a[4200], b[4200], path[4300];
    struct stat st;
    snprintf(a, sizeof a, "%s/init-a", base);
    int s = run_train(output, sizeof output, SMALL_RUN, "--threads=1", "--max-steps=0", "--no-report", "--out", a,
                      NULL);
    snprintf(path, sizeof path, "%s/checkpoint.bin", a);
    CHECK(s == 0 && stat(path, &st) == 0, "--max-steps 0: exit %d, checkpoint %s:\n%s", s,
          stat(path, &st) == 0 ? "written" : "missing", output);
    CHECK(test_db_double(a, "SELECT COUNT(*) FROM steps") == 0, "--max-steps 0 trained a step");
    CHECK(test_db_double(a, "SELECT COUNT(*) FROM runs") == 1, "--max-steps 0: no run row");

    snprintf(b, sizeof b, "%s/init-b", base);
    char *const init[] = {(char *)nanprobe, "init", SMALL_RUN, "--threads=1", "--out", b, NULL};
    s = test_run(init, output, sizeof output);
    CHECK(s == 0, "nanprobe init: exit %d:\n%s", s, output);
    /* The two checkpoints differ in their run identity; compare what they
     * hold through a resume of each from step 0: the same seed must give
     * bit-identical losses. */
    char *const resume_a[] = {(char *)nanprobe, "train", "--resume", a, "--max-steps=3", "--report", "--quiet", NULL};
    char *const resume_b[] = {(char *)nanprobe, "train", "--resume", b, "--max-steps=3", "--quiet", NULL};
    int ra = test_run(resume_a, output, sizeof output);
    CHECK(ra == 0, "resume after --max-steps 0: exit %d:\n%s", ra, output);
    int rb = test_run(resume_b, output, sizeof output);
    CHECK(rb == 0, "resume after init: exit %d:\n%s", rb, output);
    double la[8], lb[8];
    int na = test_db_losses(a, la, 8), nb = test_db_losses(b, lb, 8);
    CHECK(na == 3 && nb == 3 && memcmp(la, lb, sizeof(double) * 3) == 0,
          "init then resume: %d and %d steps, losses must be bit-identical", na, nb);
    snprintf(path, sizeof path, "%s/report/index.html", a);
    CHECK(stat(path, &st) == 0, "--report on resume did not bring the report back (%s missing)", path);
    snprintf(path, sizeof path, "%s/report/index.html", b);
    CHECK(stat(path, &st) != 0, "init implies --no-report, inherited on resume without --report");
}

int main(int argc, char **argv)
{
    nanprobe = test_binary(argc, argv);
    char base[256];
    if (test_temp_dir(base, sizeof base, "train")) return 1;
    test_reduce_lr_on_plateau();
    test_early_stopping();
    test_determinism_and_resume(base);
    test_interrupt(base);
    test_init_and_report(base);
    test_checkpoint_once(base);
    test_learning(base);
    test_remove_tree(base);
    return test_finish();
}
