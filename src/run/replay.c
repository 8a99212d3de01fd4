/* replay.c: one step run again, in float32 and float64 (see replay.h). */
#include "replay.h"

#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "directory.h"
#include "finite.h"
#include "run_names.h"
#include "provenance.h"
#include "shadow_view.h"

/* ------------------------------------------------------------ digests */

/* An order-free 64-bit digest of a buffer's bits: a sum of mixed words, so
 * threads can add their parts in any order.  Equal digests mean equal bits
 * but for a 2^-64 chance. */
static uint64_t digest(const void *data, size_t bytes)
{
    const uint32_t *w = data;
    size_t n = bytes / 4;
    uint64_t sum = 0;
    #pragma omp parallel for schedule(static) reduction(+ : sum)
    for (size_t i = 0; i < n; i++) {
        uint64_t x = ((uint64_t)w[i] << 32 | (uint32_t)i) * 0x9e3779b97f4a7c15ull;
        sum += x ^ (x >> 29);
    }
    return sum;
}

/* In execution order: every layer's output, every output gradient from
 * the last layer back, then the parameters after the update.  digest_layer
 * maps an entry back to its layer (the layer count for the parameters). */
static void digest_model(const model *m, uint64_t *d)
{
    const int n = m->layer_count;
    for (int i = 0; i < n; i++) {
        const layer *l = &m->layers[i];
        d[i] = digest(l->output.data, l->output.count * sizeof(float));
        d[2 * n - 1 - i] = l->output_gradient ? digest(l->output_gradient, l->output.count * sizeof(float)) : 0;
    }
    d[2 * n] = digest(m->weights.base, m->weights.capacity * sizeof(float)) ^
               digest(m->moving.base, m->moving.capacity * sizeof(float));
}

static int digest_layer(const model *m, int entry)
{
    const int n = m->layer_count;
    return entry < n ? entry : entry < 2 * n ? 2 * n - 1 - entry : n;
}

/* ------------------------------------------------ the float32 rerun's sentinel */

/* The provenance is taken in the hook, right after the origin layer's
 * forward: its inputs and weights are those of the start of the step
 * there, before backward and the update overwrite them. */
typedef struct rerun {
    model *m;
    sentinel st;
    const nonfinite_event *original; /* explain this one; NULL: the rerun's own first value */
    provenance p;
    int source, provenance_state;    /* 1 taken, -1 failed (failure says why), 0 not applicable */
    error failure;
} rerun;

static int origin_provenance(const model *m, const nonfinite_event *e, provenance *p, int *source, error *err);

static void check_tensor(rerun *r, const float *data, size_t n, int layer_index, probe_pass pass, const char *name,
                         int rank, const int *shape, int is_activation)
{
    tensor_stats s;
    stats_compute(data, n, &s);
    sentinel_check(&r->st, &s, data, layer_index, pass, name, rank, shape, is_activation, 1);
}

static void rerun_hook(void *context, int index, model_event event)
{
    rerun *r = context;
    const layer *l = &r->m->layers[index];
    if (l->kind == LAYER_FLATTEN) return;
    if (event == MODEL_AFTER_FORWARD) {
        if (l->kind == LAYER_BATCHNORM) {
            const int c = l->output.shape[4];
            check_tensor(r, l->batch_stats.mean, (size_t)c, index, PASS_FORWARD, PROBE_NAME_BATCH_MEAN, 1, &c, 0);
            check_tensor(r, l->batch_stats.variance, (size_t)c, index, PASS_FORWARD, PROBE_NAME_BATCH_VARIANCE, 1,
                         &c, 0);
        }
        check_tensor(r, l->output.data, l->output.count, index, index == 0 ? PASS_INPUT : PASS_FORWARD,
                     PROBE_NAME_OUTPUT, l->output.rank, l->output.shape, 1);
        const nonfinite_event *e = r->original ? r->original : r->st.has_first ? &r->st.first : NULL;
        if (e && e->layer == index && r->provenance_state == 0)
            r->provenance_state = origin_provenance(r->m, e, &r->p, &r->source, &r->failure);
    } else if (event == MODEL_BEFORE_BACKWARD && l->output_gradient) {
        check_tensor(r, l->output_gradient, l->output.count, index, PASS_BACKWARD, PROBE_NAME_OUTPUT_GRAD,
                     l->output.rank, l->output.shape, 1);
    }
}

/* The parameters after the update (the hook has no event for it). */
static void check_parameters(rerun *r)
{
    for (int i = 0; i < r->m->param_count && !r->st.has_first; i++) {
        const parameter *p = &r->m->params[i];
        check_tensor(r, p->value.data, p->value.count, p->layer, PASS_UPDATE, parameter_role_name(p->role),
                     p->value.rank, p->value.shape, 0);
    }
}

static int same_event(const nonfinite_event *a, const nonfinite_event *b)
{
    return a->layer == b->layer && strcmp(a->tensor, b->tensor) == 0 && a->element == b->element &&
           a->value_class == b->value_class;
}

/* ------------------------------------------------------------ finding */

replay_finding replay_classify(int float_rerun_finite, double double_value, double double_first_bad_value)
{
    if (float_rerun_finite) return REPLAY_FINDING_NOT_REPRODUCIBLE;
    if (isnan(double_value))
        /* A NaN that follows an overflow in float64 is the overflow's doing. */
        return isinf(double_first_bad_value) ? REPLAY_FINDING_REAL_DIVERGENCE : REPLAY_FINDING_MATHS_ITSELF;
    if (fabs(double_value) > FLT_MAX) return REPLAY_FINDING_REAL_DIVERGENCE;
    return REPLAY_FINDING_FLOAT32_ARTEFACT;
}

/* Which float64 tensor an event names: a layer tensor, or a parameter by
 * its stats name ("kernel", "gamma.grad", "kernel.update"). */
static int event_tensor(const model *m, const nonfinite_event *e, shadow_kind *kind, int *param)
{
    static const shadow_kind layer_kinds[] = {SHADOW_OUTPUT, SHADOW_OUTPUT_GRAD, SHADOW_BATCH_MEAN,
                                              SHADOW_BATCH_VARIANCE};
    *param = -1;
    for (int k = 0; k < 4; k++)
        if (strcmp(e->tensor, probe_tensor_names[k]) == 0) {
            *kind = layer_kinds[k];
            return 0;
        }
    if (e->layer < 0 || e->layer >= m->layer_count) return -1;
    const layer *l = &m->layers[e->layer];
    for (int q = 0; q < l->param_count; q++) {
        const parameter *p = &m->params[l->first_param + q];
        const char *role = parameter_role_name(p->role);
        size_t n = strlen(role);
        if (strncmp(e->tensor, role, n) != 0 || (e->tensor[n] && e->tensor[n] != '.')) continue;
        *kind = strcmp(e->tensor + n, PROBE_SUFFIX_GRAD) == 0 ? SHADOW_PARAM_GRAD : SHADOW_PARAM_VALUE;
        *param = l->first_param + q;
        return 0;
    }
    return -1;
}

static const shadow_tensor *first_double_bad(const shadow *sh)
{
    for (int i = 0; i < shadow_tensor_count(sh); i++) {
        const shadow_tensor *t = shadow_tensor_at(sh, i);
        if (t->double_nonfinite > 0) return t;
    }
    return NULL;
}

/* The operation that made the first NaN of the float64 step. */
static void name_operation(replay_session *s, const replay_batch *b, const shadow_tensor *t, char *out, size_t size)
{
    const model *m = s->m;
    const layer *l = &m->layers[t->layer];
    const char *name = l->name;
    if (t->layer == 0) {
        const size_t per_sample = l->output.count / (size_t)b->batch;
        int sample = (int)((size_t)t->double_first_bad / per_sample);
        if (!s->stepper->explain_input || !s->stepper->explain_input(s->stepper->context, b, sample, out, size))
            snprintf(out, size, "the input batch holds NaN (sample %d)", sample);
        return;
    }
    switch (l->kind) {
    case LAYER_CONV3D:
    case LAYER_DENSE:
        snprintf(out, size, "Inf - Inf (or 0 x Inf) in the sum of %s's products: its input is already infinite", name);
        break;
    case LAYER_BATCHNORM:
        snprintf(out, size, "Inf - Inf in %s's centring (x - mean with an infinite batch mean)", name);
        break;
    case LAYER_ADD:
        snprintf(out, size, "Inf + (-Inf) in %s", name);
        break;
    default:
        snprintf(out, size, "NaN first appears in float64 in %s of %s", shadow_kind_name(t->kind, 0), name);
    }
}

/* ------------------------------------------------------------ the steps */

int replay_fast_forward(replay_session *s, long step, error *err)
{
    snapshot_restore(s->snap, s->m, s->state);
    s->m->hook = NULL;
    for (long t = s->snap->step + 1; t < step; t++) {
        replay_batch b;
        if (s->stepper->run_step(s->stepper->context, t, NULL, NULL, &b, err)) return -1;
    }
    return 0;
}

static int ensure_shadow(replay_session *s, error *err)
{
    return s->shadow ? 0 : shadow_create(&s->shadow, &s->m->config, err);
}

/* Everything one replay_step works on, freed in one place. */
typedef struct replay_work {
    replay_session *s;
    const replay_request *q;
    rerun rr;
    replay_batch batch;
    const nonfinite_event *explained; /* the value the replay explains: the run's, else the rerun's */
    uint64_t *original, *replayed;    /* digests */
    shadow_view view;
    int have_view, double_ok;
    replay_row row;
    char operation[320], rerun_message[640], message[1024], note[1200];
} replay_work;

/* The batch is read and the step's weight scaling (an injection) done:
 * this is the state the step starts from, for the float64 model too. */
static void batch_ready(void *context, const replay_batch *b)
{
    replay_work *w = context;
    sentinel_locate(&w->rr.st, w->q->step, b->epoch, b->sample_ids, b->batch);
    if (w->double_ok) shadow_load(w->s->shadow, &w->view);
}

/* Float32: the step again, watched by a sentinel and digested. */
static int rerun_float(replay_work *w, error *err)
{
    replay_session *s = w->s;
    w->rr.m = s->m;
    w->rr.original = w->q->original;
    sentinel_init(&w->rr.st, s->m);
    s->m->hook = rerun_hook;
    s->m->hook_context = &w->rr;
    int rc = s->stepper->run_step(s->stepper->context, w->q->step, batch_ready, w, &w->batch, err);
    s->m->hook = NULL;
    if (rc) return -1;
    check_parameters(&w->rr);
    w->row.float_rerun = 1;
    const nonfinite_event *e = w->rr.st.has_first ? &w->rr.st.first : NULL;
    if (e) {
        snprintf(w->rerun_message, sizeof w->rerun_message, "%s", e->message);
        w->row.rerun_event = w->rerun_message;
    }
    w->row.reproduced = w->q->original ? (e && same_event(w->q->original, e)) : -1;
    /* NaN == NaN is false: two NaN losses count as the same. */
    if (w->q->has_original_loss)
        w->row.loss_identical = w->q->original_loss == w->batch.loss ||
                                (isnan(w->q->original_loss) && isnan(w->batch.loss));
    if (w->original) {
        digest_model(s->m, w->replayed);
        const int n = 2 * s->m->layer_count + 1;
        w->row.layers_compared = n;
        w->row.first_difference_layer = -1;
        for (int i = 0; i < n; i++) {
            if (w->original[i] == w->replayed[i]) w->row.layers_identical++;
            else if (w->row.first_difference_layer < 0) w->row.first_difference_layer = digest_layer(s->m, i);
        }
    }
    return 0;
}

/* compare: against the float32 tensors the model holds for this step. */
static void rerun_double(replay_work *w, int compare)
{
    replay_session *s = w->s;
    shadow_step step = {.input = model_input(s->m), .labels = w->batch.labels, .batch = w->batch.batch,
                        .adam = s->adam, .learning_rate = w->batch.learning_rate, .l2 = s->l2,
                        .adam_t = w->batch.adam_t};
    double start = omp_get_wtime();
    shadow_run_step(s->shadow, compare ? &w->view : NULL, &step);
    w->row.double_seconds = omp_get_wtime() - start;
    w->row.double_rerun = 1;
}

/* The finding and its sentence for the value explained. */
static void explain(replay_work *w)
{
    replay_session *s = w->s;
    const nonfinite_event *e = w->explained;
    replay_row *row = &w->row;
    if (!e) {
        row->finding = REPLAY_FINDING_NONE;
        return;
    }
    row->origin_layer = e->layer;
    row->origin_tensor = e->tensor;
    row->origin_element = e->element;
    row->float_value = e->value_class;
    const int not_reproduced = w->q->original && row->float_rerun && !w->rr.st.has_first;
    if (!row->double_rerun) {
        row->finding = not_reproduced ? REPLAY_FINDING_NOT_REPRODUCIBLE : REPLAY_FINDING_NONE;
        return;
    }
    shadow_kind kind = SHADOW_OUTPUT;
    int param = -1;
    double value = NAN, max_abs = NAN;
    if (strcmp(e->tensor, PROBE_NAME_LOSS) == 0) {
        value = max_abs = shadow_loss(s->shadow);
    } else if (event_tensor(s->m, e, &kind, &param) == 0) {
        value = shadow_value(s->shadow, kind, e->layer, param, e->element);
        for (int i = 0; i < shadow_tensor_count(s->shadow); i++) {
            const shadow_tensor *t = shadow_tensor_at(s->shadow, i);
            if (t->kind == kind && t->layer == e->layer && t->param == param) max_abs = t->double_max_abs;
        }
    }
    const shadow_tensor *bad = first_double_bad(s->shadow);
    double first_bad = bad ? shadow_value(s->shadow, bad->kind, bad->layer, bad->param, bad->double_first_bad) : 0.0;
    row->double_value = value;
    row->double_max_abs = max_abs;
    row->finding = replay_classify(not_reproduced, value, first_bad);
    if (row->finding == REPLAY_FINDING_MATHS_ITSELF && bad) {
        name_operation(s, &w->batch, bad, w->operation, sizeof w->operation);
        row->operation = w->operation;
    }
}

static const char *layer_name(const model *m, int index)
{
    return index >= 0 && index < m->layer_count ? m->layers[index].name : "?";
}

/* The verdict's sentence. */
static void compose_message(replay_work *w, char *out, size_t size)
{
    const replay_row *row = &w->row;
    const model *m = w->s->m;
    const nonfinite_event *e = w->explained;
    char where[160] = "";
    if (e)
        snprintf(where, sizeof where, "%s of %s (%s)", e->tensor, layer_name(m, e->layer),
                 e->layer >= 0 && e->layer < m->layer_count ? m->layers[e->layer].path : "?");
    switch (row->finding) {
    case REPLAY_FINDING_NOT_REPRODUCIBLE:
        snprintf(out, size,
                 "Not reproducible: step %ld, replayed from the state at its start in float32 with the same batch "
                 "and %d threads, stays finite; the run's %s in %s did not recur. Suspect a transient fault "
                 "(hardware, a race, a planted fault) rather than the model.",
                 w->q->step, w->s->threads, value_class_names[e->value_class], where);
        break;
    case REPLAY_FINDING_REAL_DIVERGENCE:
        snprintf(out, size,
                 "Real divergence: in float64, %s is %.3g at the first bad element (largest |x| %.3g), beyond "
                 "FLT_MAX (%.3g); float32 cannot hold it, and more precision would not save the step.",
                 where, row->double_value, row->double_max_abs, (double)FLT_MAX);
        break;
    case REPLAY_FINDING_FLOAT32_ARTEFACT:
        snprintf(out, size,
                 "Float32 artefact: in float64, %s is %.6g at the first bad element (largest |x| %.3g), well inside "
                 "the float range; float32 lost it (an intermediate overflow, cancellation or the order of summation).",
                 where, row->double_value, row->double_max_abs);
        break;
    case REPLAY_FINDING_MATHS_ITSELF:
        snprintf(out, size, "The maths itself: %s is NaN in float64 as well: %s.", where,
                 row->operation ? row->operation : "NaN arises from finite values");
        break;
    default:
        snprintf(out, size, "Step %ld replays %s.", w->q->step,
                 row->float_rerun && !w->rr.st.has_first ? "finite" : "without a value to explain");
    }
}

/* ------------------------------------------------------------ provenance */

static int origin_provenance(const model *m, const nonfinite_event *e, provenance *p, int *source, error *err)
{
    if (!e || e->layer <= 0 || e->layer >= m->layer_count || e->pass != PASS_FORWARD) return 0;
    const layer *l = &m->layers[e->layer];
    /* An event read back from run.db is untrusted: it must name an element
     * of this batch's tensor. */
    const int activation = strcmp(e->tensor, PROBE_NAME_OUTPUT) == 0;
    if (e->element < 0 || (size_t)e->element >= l->output.count ||
        (activation && (e->sample < 0 || e->sample >= m->batch)))
        return 0;
    const layer *in = &m->layers[l->inputs[0]];
    const parameter *params = m->params + l->first_param;
    *source = l->inputs[0];
    switch (l->kind) {
    case LAYER_CONV3D:
        if (strcmp(e->tensor, PROBE_NAME_OUTPUT) != 0) return 0;
        return provenance_conv(&l->conv, in->output.data, params[0].value.data, params[1].value.data, e->sample,
                               e->d, e->h, e->w, e->channel, p, err) ? -1 : 1;
    case LAYER_DENSE:
        return provenance_dense(in->output.shape[1], l->output.shape[1], in->output.data, params[0].value.data,
                                params[1].value.data, e->sample, e->channel, p, err) ? -1 : 1;
    case LAYER_BATCHNORM: {
        const int channels = l->output.shape[4];
        const size_t cells = in->output.count / (size_t)channels;
        const int dims[3] = {in->output.shape[1], in->output.shape[2], in->output.shape[3]};
        int variance = strcmp(e->tensor, PROBE_NAME_BATCH_MEAN) != 0;
        int channel = e->channel >= 0 ? e->channel : (int)(e->element % channels);
        return provenance_batchnorm(cells, channels, in->output.data, channel, variance,
                                    (int)(cells / (size_t)m->batch), dims, p, err) ? -1 : 1;
    }
    case LAYER_ADD:
        return provenance_add(in->output.data, m->layers[l->inputs[1]].output.data, (size_t)e->element,
                              l->output.shape[4], p, err) ? -1 : 1;
    default:
        return 0;
    }
}

static int write_provenance(replay_work *w, db_replay_writer *dw, long long id, error *err)
{
    if (w->rr.provenance_state < 0) {
        *err = w->rr.failure;
        return -1;
    }
    if (w->rr.provenance_state == 0) return 0;
    const provenance *pp = &w->rr.p;
    const int source = w->rr.source;
    char dir[4200], input_path[4400], kernel_path[4400], input_rel[96], kernel_rel[96];
    snprintf(dir, sizeof dir, "%s/replay", w->q->directory);
    snprintf(input_rel, sizeof input_rel, "replay/step-%ld-%s-input.npy", w->q->step, layer_name(w->s->m, w->explained->layer));
    snprintf(kernel_rel, sizeof kernel_rel, "replay/step-%ld-%s-kernel.npy", w->q->step, layer_name(w->s->m, w->explained->layer));
    snprintf(input_path, sizeof input_path, "%s/%s", w->q->directory, input_rel);
    snprintf(kernel_path, sizeof kernel_path, "%s/%s", w->q->directory, kernel_rel);
    char failed[4200];
    int code = 0, rc = 0;
    struct stat st;
    if (directory_create(dir, failed, sizeof failed, &code) != DIRECTORY_OK)
        rc = error_set(err, "cannot create %s: %s", dir, code ? strerror(code) : "not a directory");
    else if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        rc = error_set(err, "%s: not a plain directory of the run (a symbolic link is never followed to "
                            "write the replay's slices)", dir);
    if (rc == 0) rc = provenance_write_npy(pp, input_path, kernel_path, err);
    for (int i = 0; rc == 0 && i < pp->top_count; i++) {
        const provenance_term *t = &pp->top[i];
        char tap[48];
        snprintf(tap, sizeof tap, "(%d,%d,%d)", t->tap[0], t->tap[1], t->tap[2]);
        replay_term_row tr = {.rank = i, .source_layer = source, .channel = t->channel, .sample = t->sample,
                              .d = t->d, .h = t->h, .w = t->w, .tap = t->tap[0] >= 0 ? tap : NULL,
                              .input = t->input, .weight = t->weight, .term = t->term};
        rc = db_write_replay_term(dw, id, &tr, err);
    }
    replay_provenance_row pr = {.terms_sum = pp->sum, .term_count = (int)pp->term_count,
                                .dominant_channel = pp->dominant_channel, .dominant_share = pp->dominant_share,
                                .dominant_input_max = pp->dominant_input_max,
                                .dominant_weight_typical = pp->dominant_weight_typical, .input_npy = input_rel,
                                .kernel_npy = pp->kernel_slice ? kernel_rel : NULL};
    if (rc == 0) rc = db_write_replay_provenance(dw, id, &pr, err);
    return rc ? -1 : 1;
}

/* ------------------------------------------------------------ rows */

static int write_tensors(replay_work *w, db_replay_writer *dw, long long id, error *err)
{
    const shadow *sh = w->s->shadow;
    for (int i = 0; w->row.double_rerun && i < shadow_tensor_count(sh); i++) {
        const shadow_tensor *t = shadow_tensor_at(sh, i);
        int role = t->param >= 0 ? (int)w->s->m->params[t->param].role : 0;
        replay_tensor_row tr = {.layer = t->layer, .tensor = shadow_kind_name(t->kind, role),
                                .float_max_abs = t->float_max_abs, .double_max_abs = t->double_max_abs,
                                .relative_error = t->relative_error, .double_nonfinite = t->double_nonfinite,
                                .chain_position = -1, .double_value = NAN};
        if (db_write_replay_tensor(dw, id, &tr, err)) return -1;
    }
    return 0;
}

static int write_rows(replay_work *w, error *err)
{
    db_writer *db = w->s->db;
    if (!db) return 0;
    db_replay_writer dw;
    if (db_replay_writer_open(&dw, db, err)) return -1;
    long long id = 0;
    error failure;
    int rc = db_writer_begin(db, err) || db_write_replay(&dw, &w->row, &id, err) || write_tensors(w, &dw, id, err);
    /* The finding stands without its terms: a failed provenance is a note. */
    if (rc == 0 && write_provenance(w, &dw, id, &failure) < 0)
        snprintf(w->note, sizeof w->note, "replay of step %ld: provenance not written: %s", w->q->step,
                 failure.message);
    if (rc == 0) rc = db_writer_commit(db, err);
    db_replay_writer_close(&dw);
    return rc ? -1 : 0;
}

/* ------------------------------------------------------------ replay_step */

static void work_free(replay_work *w)
{
    free(w->original);
    free(w->replayed);
    provenance_free(&w->rr.p);
    if (w->have_view) shadow_view_free(&w->view);
}

/* Step's own tensors (still in the model) and the state after it, kept so
 * the replay can compare with them and then put them back. */
static int keep_original(replay_work *w, snapshot *after, error *err)
{
    replay_session *s = w->s;
    const size_t n = 2 * (size_t)s->m->layer_count + 1;
    if (w->q->have_original_tensors) {
        w->original = calloc(n, sizeof *w->original);
        w->replayed = calloc(n, sizeof *w->replayed);
        if (!w->original || !w->replayed) return error_set(err, "out of memory for the replay's digests");
        digest_model(s->m, w->original);
    }
    if (snapshot_init(after, s->m, err)) return -1;
    snapshot_take(after, s->m, s->state);
    return 0;
}

static int run_reruns(replay_work *w, error *err)
{
    replay_session *s = w->s;
    const replay_request *q = w->q;
    if (replay_fast_forward(s, q->step, err)) return -1;
    error failure;
    if (q->precision & REPLAY_DOUBLE) {
        if (ensure_shadow(s, &failure) == 0 && shadow_view_init(&w->view, s->m, &failure) == 0) {
            w->have_view = 1;
            w->double_ok = 1; /* loaded in batch_ready */
        } else {
            snprintf(w->note, sizeof w->note, "replay of step %ld: no float64 rerun: %s", q->step, failure.message);
        }
    }
    double start = omp_get_wtime();
    /* The float64 step needs the float32 one's batch (and its tensors to
     * compare with), so the float32 step always runs. */
    if (rerun_float(w, err)) return -1;
    w->row.float_seconds = omp_get_wtime() - start;
    if (w->double_ok) rerun_double(w, 1);
    return 0;
}

int replay_step(replay_session *s, const replay_request *q, replay_outcome *out, error *err)
{
    memset(out, 0, sizeof *out);
    if (!s->snap || s->snap->step < 0 || s->snap->step >= q->step)
        return error_set(err, "step %ld cannot be replayed: no state before it is kept", q->step);
    double start = omp_get_wtime();
    replay_work w = {.s = s, .q = q};
    w.row = (replay_row){.step = q->step, .trigger = q->trigger, .snapshot_step = s->snap->step,
                         .threads = s->threads, .reproduced = -1, .first_difference_layer = -1,
                         .origin_layer = -1, .double_value = NAN, .double_max_abs = NAN,
                         .loss_identical = -1};
    snapshot after;
    memset(&after, 0, sizeof after);
    model_hook hook = s->m->hook;
    void *hook_context = s->m->hook_context;
    const step_timing timing = s->m->timing; /* the run's --timing is of its own steps */
    int rc = keep_original(&w, &after, err) || run_reruns(&w, err);
    if (rc == 0) {
        w.explained = q->original ? q->original : (w.rr.st.has_first ? &w.rr.st.first : NULL);
        explain(&w);
        compose_message(&w, w.message, sizeof w.message);
        w.row.message = w.message;
        rc = write_rows(&w, err);
        out->finding = w.row.finding;
        snprintf(out->message, sizeof out->message, "%s", w.message);
        snprintf(out->note, sizeof out->note, "%s", w.note);
    }
    if (after.weights) snapshot_restore(&after, s->m, s->state);
    snapshot_free(&after);
    s->m->hook = hook;
    s->m->hook_context = hook_context;
    s->m->timing = timing;
    work_free(&w);
    out->seconds = omp_get_wtime() - start;
    return rc ? -1 : 0;
}

/* ------------------------------------------------------------ shadow steps */

int replay_shadow_begin(replay_session *s, error *err)
{
    if (ensure_shadow(s, err)) return -1;
    shadow_view v;
    if (shadow_view_init(&v, s->m, err)) return -1;
    shadow_load(s->shadow, &v);
    shadow_view_free(&v);
    return 0;
}

int replay_shadow_end(replay_session *s, long step, const replay_batch *b, error *err)
{
    replay_request q = {.step = step, .trigger = REPLAY_TRIGGER_SHADOW, .precision = REPLAY_DOUBLE};
    replay_work w = {.s = s, .q = &q, .batch = *b};
    w.row = (replay_row){.step = step, .trigger = REPLAY_TRIGGER_SHADOW, .snapshot_step = step - 1,
                         .threads = s->threads, .reproduced = -1, .first_difference_layer = -1, .origin_layer = -1,
                         .double_value = NAN, .double_max_abs = NAN};
    if (shadow_view_init(&w.view, s->m, err)) return -1;
    w.have_view = 1;
    rerun_double(&w, 1); /* against the training step itself */
    int worst = -1;
    for (int i = 0; i < shadow_tensor_count(s->shadow); i++) {
        const shadow_tensor *t = shadow_tensor_at(s->shadow, i);
        if (isfinite(t->relative_error) &&
            (worst < 0 || t->relative_error > shadow_tensor_at(s->shadow, worst)->relative_error))
            worst = i;
    }
    if (worst >= 0) {
        const shadow_tensor *t = shadow_tensor_at(s->shadow, worst);
        int role = t->param >= 0 ? (int)s->m->params[t->param].role : 0;
        snprintf(w.message, sizeof w.message, "Step %ld in float64: the float32 error is at most %.3g (%s of %s).",
                 step, t->relative_error, shadow_kind_name(t->kind, role), layer_name(s->m, t->layer));
    } else {
        snprintf(w.message, sizeof w.message, "Step %ld in float64.", step);
    }
    w.row.message = w.message;
    int rc = write_rows(&w, err);
    work_free(&w);
    return rc;
}

void replay_session_free(replay_session *s)
{
    shadow_free(s->shadow);
    s->shadow = NULL;
}
