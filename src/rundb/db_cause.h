/* db_cause.h: run.db's cause_chain rows: the causal chain from a run's
 * first NaN to its root (reports/analyse/cause.h builds it), which the train
 * command stores after its run so users can query it with SQL.
 *
 * The run's rows are replaced in one transaction: storing twice leaves one
 * chain, and a failure leaves the previous rows.  Reports never call this:
 * a report only reads the run it describes. */
#ifndef NANPROBE_DB_CAUSE_H
#define NANPROBE_DB_CAUSE_H

#include "error.h"
#include "run_enums.h"

#define DB_CAUSE_LINKS_MAX 32 /* both chains of a trace, the verdict's and the runner-up */

/* One cause_chain row.  Non-finite reals are stored as NULL, and so are an
 * onset_step of 0 and a negative sample_id. */
typedef struct db_cause_link {
    int chain;    /* 0: the verdict's chain, 1: the runner-up */
    int position; /* 0 = the origin ... the root */
    int step, step_before, onset_step;
    int layer_id;
    char layer_name[256]; /* a longer (hostile) name is cut */
    char tensor[32], statistic[32];
    double before, after, decades;
    long long sample_id;
    chain_role role;
} db_cause_link;

typedef struct db_cause_chain {
    int run_id;
    mechanism mechanism; /* MECHANISM_NONE: no rows (a healthy run) */
    int weak;            /* 1: the evidence is weak */
    int count;
    db_cause_link links[DB_CAUSE_LINKS_MAX];
} db_cause_chain;

/* Opens db_path for writing (creating the table in databases written
 * before it existed) and replaces the rows of c->run_id with c's. */
int db_cause_store(const char *db_path, const db_cause_chain *c, error *err);

#endif
