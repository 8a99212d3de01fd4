/* progress.c: Keras-style progress bar and epoch lines (see progress.h). */
#include "progress.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "version.h"

#define BAR_WIDTH 30

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void format_duration(double seconds, char *out, size_t size)
{
    long s = (long)(seconds + 0.5);
    if (s >= 3600) snprintf(out, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else if (s >= 60) snprintf(out, size, "%ld:%02ld", s / 60, s % 60);
    else snprintf(out, size, "%lds", s);
}

static void draw_bar(progress *p, long done)
{
    char bar[BAR_WIDTH + 1];
    long filled = p->steps > 0 ? done * BAR_WIDTH / p->steps : BAR_WIDTH;
    for (int i = 0; i < BAR_WIDTH; i++) bar[i] = i < filled ? '=' : '.';
    if (filled > 0 && filled < BAR_WIDTH) bar[filled - 1] = '>';
    if (filled > 0 && filled < BAR_WIDTH) bar[filled] = '.';
    bar[BAR_WIDTH] = '\0';
    int digits = snprintf(NULL, 0, "%ld", p->steps);
    fprintf(p->out, "\r%*ld/%ld [%s]", digits, done, p->steps, bar);
}

void progress_init(progress *p, FILE *out, int quiet)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->quiet = quiet;
    p->terminal = isatty(fileno(out));
}

void progress_epoch_begin(progress *p, int epoch, int epochs, long steps)
{
    p->epoch = epoch;
    p->epochs = epochs;
    p->steps = steps;
    p->epoch_start = now();
    p->last_draw = 0.0;
    if (p->quiet || !p->terminal) return;
    fprintf(p->out, "Epoch %d/%d\n", epoch, epochs);
    fflush(p->out);
}

void progress_step(progress *p, long done, double loss, double accuracy)
{
    if (p->quiet || !p->terminal) return;
    double t = now();
    if (t - p->last_draw < 0.1 && done < p->steps) return;
    p->last_draw = t;
    draw_bar(p, done);
    double per_step = (t - p->epoch_start) / (double)(done > 0 ? done : 1);
    char eta[32];
    format_duration(per_step * (double)(p->steps - done), eta, sizeof eta);
    fprintf(p->out, " - ETA: %s - loss: %.4f - acc: %.4f\033[K", eta, loss, accuracy);
    fflush(p->out);
}

void progress_epoch_end(progress *p, long done, double loss, double accuracy, int has_validation, double val_loss,
                        double val_accuracy, double lr)
{
    if (p->quiet) return;
    double elapsed = now() - p->epoch_start;
    char total[32], per_step[32];
    format_duration(elapsed, total, sizeof total);
    double step_seconds = elapsed / (double)(done > 0 ? done : 1);
    if (step_seconds >= 1.0) snprintf(per_step, sizeof per_step, "%.1fs/step", step_seconds);
    else snprintf(per_step, sizeof per_step, "%.0fms/step", step_seconds * 1e3);
    if (p->terminal) {
        draw_bar(p, done);
        fprintf(p->out, " - %s %s", total, per_step);
    } else {
        fprintf(p->out, "epoch %d/%d - %ld steps - %s %s", p->epoch, p->epochs, done, total, per_step);
    }
    fprintf(p->out, " - loss: %.4f - acc: %.4f", loss, accuracy);
    if (has_validation) fprintf(p->out, " - val_loss: %.4f - val_acc: %.4f", val_loss, val_accuracy);
    fprintf(p->out, " - lr: %.4g%s\n", lr, p->terminal ? "\033[K" : "");
    fflush(p->out);
}

void progress_note(progress *p, const char *format, ...)
{
    if (p->quiet) return;
    if (p->terminal) fputs("\r\033[K", p->out);
    va_list args;
    va_start(args, format);
    vfprintf(p->out, format, args);
    va_end(args);
    fputc('\n', p->out);
    fflush(p->out);
}

/* ------------------------------------------------ train_run's callbacks */

static void on_setup(void *context, const train_setup *s)
{
    progress *p = context;
    if (p->quiet) return;
    fprintf(p->out, "nanprobe %s: ResNet3D-%d (width %d, %zu trainable parameters), %s, %s, batch %d, %d threads\n",
            NANPROBE_VERSION, s->depth, s->width, s->trainable_count, s->data, s->init, s->batch, s->threads);
    if (s->blas) fprintf(p->out, "BLAS: %s\n", s->blas);
    fprintf(p->out, "writing %s%s\n", s->database, s->resumed ? " (resumed)" : "");
    fflush(p->out);
}

static void on_epoch_begin(void *context, int epoch, int epochs, long steps)
{
    progress_epoch_begin(context, epoch, epochs, steps);
}

static void on_step(void *context, long done, double loss, double accuracy)
{
    progress_step(context, done, loss, accuracy);
}

static void on_epoch_end(void *context, const train_epoch_summary *e)
{
    progress_epoch_end(context, e->steps, e->loss, e->accuracy, e->has_validation, e->val_loss, e->val_accuracy,
                       e->lr);
}

static void on_note(void *context, const char *message)
{
    progress_note(context, "%s", message);
}

static void on_warning(void *context, const char *message)
{
    (void)context;
    fprintf(stderr, "nanprobe train: warning: %s\n", message);
}

train_callbacks progress_train_callbacks(progress *p)
{
    return (train_callbacks){.context = p, .setup = on_setup, .epoch_begin = on_epoch_begin, .step = on_step,
                             .epoch_end = on_epoch_end, .note = on_note, .warning = on_warning};
}

void progress_print_timing(FILE *out, const train_timing *t)
{
    fprintf(out,
            "{\"steps\": %ld, \"conv_forward\": %.4f, \"conv_backward\": %.4f, \"batchnorm\": %.4f, "
            "\"pooling\": %.4f, \"relu_add_dense\": %.4f, \"optimizer\": %.4f, \"probes\": %.4f, "
            "\"logging\": %.4f, \"data\": %.4f, \"allreduce_wait\": %.4f, \"agreement\": %.4f, "
            "\"snapshot\": %.5f, \"shadow\": %.4f, \"validation_seconds\": %.4f, \"validation_probe_seconds\": %.4f}\n",
            t->steps, t->conv_forward, t->conv_backward, t->batchnorm, t->pooling, t->relu_add_dense, t->optimizer,
            t->probes, t->logging, t->data, t->allreduce_wait, t->agreement, t->snapshot, t->shadow, t->validation,
            t->validation_probes);
}
