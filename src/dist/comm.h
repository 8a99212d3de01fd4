/* comm.h: the MPI communicator of a data-parallel or ablation run, and the
 * few collectives nanprobe needs, each returning an error instead of
 * aborting (MPI_ERRORS_RETURN) and, where a peer could stop answering,
 * bounded by a timeout so that a lost rank is an answer, not a hang.
 *
 * MPI is used only when the process was started by mpirun (OpenMPI's
 * OMPI_COMM_WORLD_SIZE or PMIx's PMIX_RANK are in the environment); without
 * them dist_comm_init leaves a single-process communicator (rank 0 of 1)
 * and every collective is a no-op, so `make run` does exactly what it did.
 * Headers of src/dist never include mpi.h: the layers above stay MPI-free. */
#ifndef NANPROBE_DIST_COMM_H
#define NANPROBE_DIST_COMM_H

#include <stddef.h>

#include "error.h"

typedef struct dist_comm {
    int rank, size;
    int local_size;  /* ranks on this host (to share out its cores) */
    int active;      /* MPI_Init was called */
    double timeout;  /* seconds a collective may wait for the others */
} dist_comm;

/* Whether mpirun started this process (checked before MPI_Init). */
int dist_launched_by_mpirun(void);

/* MPI_Init_thread (funneled: only the main thread calls MPI) when started
 * by mpirun, else a communicator of one. */
int dist_comm_init(dist_comm *c, int *argc, char ***argv, error *err);
void dist_comm_finalize(dist_comm *c);
/* Stops every rank (MPI_Abort); for a rank that cannot go on. */
void dist_comm_abort(dist_comm *c, int code);

/* Collectives over all ranks; each waits at most c->timeout seconds. */
int dist_broadcast(dist_comm *c, void *data, size_t bytes, int root, error *err);
int dist_sum_doubles(dist_comm *c, double *values, int n, error *err);
/* In place (non-blocking + polling). */
int dist_sum_floats_timed(dist_comm *c, float *values, size_t n, const char *what, error *err);
/* each[rank] = value of that rank, on every rank. */
int dist_gather_ints(dist_comm *c, int value, int *each, error *err);
/* Rank 0 receives every rank's bytes (count[r] bytes from rank r) into
 * out, in rank order; counts are gathered first.  Other ranks pass NULL. */
int dist_gather_bytes(dist_comm *c, const void *data, int bytes, void *out, int *counts, int capacity,
                      error *err);

/* A pending non-blocking operation (an Iallreduce), opaque to callers. */
typedef struct dist_request {
    _Alignas(8) unsigned char handle[16]; /* an MPI_Request (checked to fit in comm.c) */
    int pending;
} dist_request;

int dist_sum_floats_start(dist_comm *c, float *values, size_t n, dist_request *request, error *err);
/* Lets MPI progress pending requests (non-blocking; OpenMPI moves a
 * collective only inside MPI calls). */
void dist_progress(dist_request *requests, int n);
/* Waits for every pending request, at most c->timeout seconds. */
int dist_wait_all(dist_comm *c, dist_request *requests, int n, const char *what, error *err);

/* Timed blocking forms: in place sum; all = every rank's n values, in rank order. */
int dist_sum_doubles_timed(dist_comm *c, double *values, int n, const char *what, error *err);
int dist_allgather_doubles_timed(dist_comm *c, const double *mine, int n, double *all, const char *what,
                                 error *err);

/* values[0..n-1) summed, values[n-1] the minimum over the ranks (one
 * small allreduce that carries sums and an order key together). */
int dist_sum_then_min_timed(dist_comm *c, double *values, int n, const char *what, error *err);

/* Without a timeout, sleeping between polls (ablation arms take hours;
 * a rank waiting for the others must not spin on a core they need). */
int dist_sum_doubles_patient(dist_comm *c, double *values, int n, error *err);
int dist_barrier_patient(dist_comm *c, error *err);

/* The environment without the variables by which mpirun announces itself
 * (OMPI_*, PMIX_*, ...), for a child that must run as a process of its own
 * (an ablation arm).  One allocation of pointers into environ; free() it. */
char **dist_environment_without_mpi(void);

/* Seconds since an arbitrary origin (MPI_Wtime, or CLOCK_MONOTONIC). */
double dist_seconds(void);

#endif
