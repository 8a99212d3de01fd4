/* cause_rows.c: a cause trace as cause_chain rows (see cause_rows.h). */
#include "cause_rows.h"

#include <stdio.h>
#include <string.h>

/* The trace's roles are the stored ones, in the same order. */
static const chain_role stored_role[CAUSE_ROLE_COUNT] = {
    [CAUSE_ROLE_ORIGIN] = CHAIN_ORIGIN,
    [CAUSE_ROLE_LINK] = CHAIN_LINK,
    [CAUSE_ROLE_ROOT] = CHAIN_ROOT,
};
_Static_assert(sizeof stored_role / sizeof stored_role[0] == CAUSE_ROLE_COUNT, "one stored role per cause_role");
_Static_assert(2 * CAUSE_MAX_LINKS <= DB_CAUSE_LINKS_MAX, "room for the chain and the runner-up");

static void add_chain(const rundata *d, const cause_chain *c, int chain, db_cause_chain *out)
{
    for (int i = 0; i < c->count && out->count < DB_CAUSE_LINKS_MAX; i++) {
        const cause_link *k = &c->links[i];
        db_cause_link *r = &out->links[out->count++];
        r->chain = chain;
        r->position = i;
        r->step = k->step;
        r->step_before = k->step_before;
        r->onset_step = k->onset_step;
        r->layer_id = d->layers[k->layer].layer_id;
        snprintf(r->layer_name, sizeof r->layer_name, "%s", d->layers[k->layer].name);
        snprintf(r->tensor, sizeof r->tensor, "%s", k->tensor);
        snprintf(r->statistic, sizeof r->statistic, "%s", k->statistic);
        r->before = k->before;
        r->after = k->after;
        r->decades = k->decades;
        r->sample_id = k->sample_id;
        r->role = stored_role[k->role < CAUSE_ROLE_COUNT ? k->role : CAUSE_ROLE_LINK];
    }
}

void cause_rows(const rundata *d, const cause_trace *t, db_cause_chain *out)
{
    memset(out, 0, sizeof *out);
    out->run_id = d->run.run_id;
    out->mechanism = t->klass;
    out->weak = t->weak;
    if (t->klass == MECHANISM_NONE) return;
    add_chain(d, &t->chain, 0, out);
    if (t->runner_up.count > 1) add_chain(d, &t->runner_up, 1, out);
}
