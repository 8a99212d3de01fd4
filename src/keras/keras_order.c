/* keras_order.c: Keras' topological layer order (see keras_order.h). */
#include "keras_order.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct walk_state {
    const model *m;
    int *walk;      /* walk number per layer, -1 before the walk reaches it */
    int walked;
    char *finished;
    int *post;      /* layers in the order the walk finishes them */
    int posted;
} walk_state;

/* Recursion depth is bounded by the network's depth (~600 layers at most). */
static void visit(walk_state *s, int i)
{
    if (s->finished[i]) return;
    if (s->walk[i] < 0) s->walk[i] = s->walked++;
    const layer *l = &s->m->layers[i];
    for (int k = 0; k < l->input_count; k++) visit(s, l->inputs[k]);
    s->finished[i] = 1;
    s->post[s->posted++] = i;
}

int keras_layer_order(const model *m, int *order)
{
    const int n = m->layer_count;
    walk_state s = {.m = m};
    s.walk = malloc(sizeof(int) * (size_t)n);
    s.post = malloc(sizeof(int) * (size_t)n);
    int *depth = calloc((size_t)n, sizeof(int));
    s.finished = calloc((size_t)n, 1);
    if (!s.walk || !s.post || !depth || !s.finished) {
        free(s.walk), free(s.post), free(depth), free(s.finished);
        return -1;
    }
    for (int i = 0; i < n; i++) s.walk[i] = -1;
    visit(&s, m->logits_layer);
    /* Consumers finish after their inputs: walking the finish order backwards
     * settles every consumer's depth before its inputs are raised from it. */
    for (int j = s.posted - 1; j >= 0; j--) {
        const layer *l = &m->layers[s.post[j]];
        for (int k = 0; k < l->input_count; k++) {
            int in = l->inputs[k];
            if (depth[in] < depth[s.post[j]] + 1) depth[in] = depth[s.post[j]] + 1;
        }
    }
    /* Insertion sort by (depth descending, walk ascending): n is small. */
    int count = 0;
    for (int i = 0; i < n; i++) {
        if (s.walk[i] < 0) continue; /* not reachable from the output: not in model.layers */
        int k = count++;
        while (k > 0) {
            int p = order[k - 1];
            if (depth[p] > depth[i] || (depth[p] == depth[i] && s.walk[p] < s.walk[i])) break;
            order[k] = p;
            k--;
        }
        order[k] = i;
    }
    free(s.walk), free(s.post), free(depth), free(s.finished);
    return count == n ? 0 : -1;
}

void keras3_layer_names(const model *m, const int *order, char (*names)[64])
{
    int rank[LAYER_KIND_COUNT] = {0};
    for (int k = 0; k < m->layer_count; k++) {
        const layer *l = &m->layers[order[k]];
        /* The Keras auto-name without its number is the snake-case class
         * name, except for the input ("input_1" vs class InputLayer). */
        char prefix[40];
        if (l->kind == LAYER_INPUT) {
            snprintf(prefix, sizeof prefix, "input_layer");
        } else {
            snprintf(prefix, sizeof prefix, "%.39s", l->name);
            char *underscore = strrchr(prefix, '_');
            if (underscore && strspn(underscore + 1, "0123456789") == strlen(underscore + 1) && underscore[1])
                *underscore = '\0';
        }
        int r = rank[l->kind]++;
        if (r == 0) snprintf(names[order[k]], 64, "%s", prefix);
        else snprintf(names[order[k]], 64, "%s_%d", prefix, r);
    }
}
