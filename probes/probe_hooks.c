/* probe_hooks.c: the model hook of a probe session.  After each layer's
 * forward pass: the output's statistics (and BatchNorm's), each also the
 * sentinel's check; before each layer's backward pass: the gradient
 * reaching its output.  A tensor's inputs are finite when every tensor it
 * was computed from was (forward_ok, gradient_ok, value_ok), which is what
 * tells an origin from propagation. */
#include "probe_session.h"

#include <math.h>
#include <omp.h>
#include <string.h>

static int layer_params_ok(const probe_session *ps, int layer_index)
{
    const layer *l = &ps->m->layers[layer_index];
    for (int k = 0; k < l->param_count; k++)
        if (!ps->value_ok[l->first_param + k]) return 0;
    return 1;
}

static int layer_inputs_ok(const probe_session *ps, int layer_index)
{
    const layer *l = &ps->m->layers[layer_index];
    for (int k = 0; k < l->input_count; k++)
        if (!ps->forward_ok[l->inputs[k]]) return 0;
    return 1;
}

static void after_forward(probe_session *ps, int layer_index)
{
    layer *l = &ps->m->layers[layer_index];
    if (layer_index == 0) return; /* probed in probe_step_begin / probe_validation_begin */
    if (!ps->validating)
        probe_inject_value(ps, INJECT_INF_FORWARD, layer_index, l->output.data, &l->output, INFINITY);
    int inputs_ok = layer_inputs_ok(ps, layer_index) && layer_params_ok(ps, layer_index);
    ps->forward_ok[layer_index] = 1;
    if (l->kind == LAYER_BATCHNORM && !ps->validating) {
        probe_batchnorm(ps, layer_index, inputs_ok);
        probe_validation_note_training(ps, layer_index);
    }
    tensor_stats s;
    stats_compute(l->output.data, l->output.count, &s);
    sentinel_check(probe_active_sentinel(ps), &s, l->output.data, layer_index, ps->validating ? PASS_VALIDATION : PASS_FORWARD,
                   probe_tensor_names[PROBE_TENSOR_OUTPUT], l->output.rank, l->output.shape, 1,
                   inputs_ok && ps->forward_ok[layer_index]);
    if (stats_nonfinite(&s)) {
        ps->forward_ok[layer_index] = 0;
        ps->forward_all_ok = 0;
    }
    if (ps->validating) probe_validation_layer(ps, layer_index, &s);
    else step_record_add_stats(ps->current, layer_index, probe_tensor_names[PROBE_TENSOR_OUTPUT], &s);
}

/* Conv and Dense compute their parameter gradients in the same backward
 * call as the input gradient.  Their statistics come later, fused into the
 * optimizer pass; but when an input gradient turns out non-finite, the
 * parameter gradients of the layers that produced it came first in
 * execution order, so they are looked at now. */
static void check_consumer_gradients(probe_session *ps, int layer_index)
{
    for (int k = 0; k < 4; k++) {
        int consumer = ps->consumers[layer_index * 4 + k];
        if (consumer < 0) break;
        const layer *c = &ps->m->layers[consumer];
        for (int q = 0; q < c->param_count; q++) {
            const parameter *p = &ps->m->params[c->first_param + q];
            if (!p->trainable) continue;
            tensor_stats s;
            stats_compute(p->gradient, p->value.count, &s);
            sentinel_check(&ps->sentinel, &s, p->gradient, consumer, PASS_BACKWARD,
                           probe_param_names[PROBE_PARAM_GRAD][p->role], p->value.rank, p->value.shape, 0,
                           ps->gradient_ok[consumer] && ps->forward_all_ok);
        }
    }
}

static void before_backward(probe_session *ps, int layer_index)
{
    layer *l = &ps->m->layers[layer_index];
    probe_inject_value(ps, INJECT_INF_BACKWARD, layer_index, l->output_gradient, &l->output, INFINITY);
    int inputs_ok = ps->forward_all_ok;
    if (layer_index == ps->m->logits_layer) {
        inputs_ok = inputs_ok && ps->loss_ok;
    } else {
        for (int k = 0; k < 4; k++) {
            int consumer = ps->consumers[layer_index * 4 + k];
            if (consumer >= 0 && !ps->gradient_ok[consumer]) inputs_ok = 0;
        }
    }
    tensor_stats s;
    stats_compute(l->output_gradient, l->output.count, &s);
    if (stats_nonfinite(&s) && !ps->sentinel.has_first) check_consumer_gradients(ps, layer_index);
    sentinel_check(&ps->sentinel, &s, l->output_gradient, layer_index, PASS_BACKWARD,
                   probe_tensor_names[PROBE_TENSOR_OUTPUT_GRAD], l->output.rank, l->output.shape, 1, inputs_ok);
    ps->gradient_ok[layer_index] = stats_nonfinite(&s) == 0;
    step_record_add_stats(ps->current, layer_index, probe_tensor_names[PROBE_TENSOR_OUTPUT_GRAD], &s);
}

void probe_hook(void *context, int layer_index, model_event event)
{
    probe_session *ps = context;
    double start = omp_get_wtime();
    if (event == MODEL_AFTER_FORWARD) after_forward(ps, layer_index);
    else if (event == MODEL_BEFORE_BACKWARD) before_backward(ps, layer_index);
    double spent = omp_get_wtime() - start;
    ps->seconds += spent;
    if (ps->validating) ps->validation_seconds += spent;
}

/* Without statistics the hooks still apply injections, so the drill works
 * with probes off too (only the loss check will see it). */
void probe_injection_only_hook(void *context, int layer_index, model_event event)
{
    probe_session *ps = context;
    layer *l = &ps->m->layers[layer_index];
    if (event == MODEL_AFTER_FORWARD && !ps->validating)
        probe_inject_value(ps, INJECT_INF_FORWARD, layer_index, l->output.data, &l->output, INFINITY);
    else if (event == MODEL_BEFORE_BACKWARD)
        probe_inject_value(ps, INJECT_INF_BACKWARD, layer_index, l->output_gradient, &l->output, INFINITY);
}

void probe_input(probe_session *ps)
{
    layer *input = &ps->m->layers[0];
    const size_t clip = input->output.count / (size_t)input->output.shape[0];
    tensor_stats whole;
    stats_clear(&whole);
    for (int n = 0; n < ps->batch; n++) {
        tensor_stats s;
        stats_clear(&s);
        stats_accumulate(&s, input->output.data + (size_t)n * clip, clip, (size_t)n * clip);
        stats_merge(&whole, &s);
        if (!ps->validating)
            step_record_add_input(ps->current, ps->sample_ids ? ps->sample_ids[n] : n,
                                  ps->labels ? ps->labels[n] : -1, &s);
    }
    sentinel_check(probe_active_sentinel(ps), &whole, input->output.data, 0, ps->validating ? PASS_VALIDATION : PASS_INPUT,
                   probe_tensor_names[PROBE_TENSOR_OUTPUT], input->output.rank, input->output.shape, 1, 1);
    ps->forward_ok[0] = stats_nonfinite(&whole) == 0;
    if (!ps->forward_ok[0]) ps->forward_all_ok = 0;
    if (ps->validating) probe_validation_layer(ps, 0, &whole);
    else step_record_add_stats(ps->current, 0, probe_tensor_names[PROBE_TENSOR_OUTPUT], &whole);
}
