/* comm.c: the communicator and its collectives (see comm.h). */
#include "comm.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

_Static_assert(sizeof(MPI_Request) <= sizeof(((dist_request *)0)->handle), "MPI_Request fits dist_request");

/* Without an answer for this long a collective gives up: long enough for a
 * full-size step on a slow host, short enough that a lost peer ends the
 * run instead of freezing it.  NANPROBE_MPI_TIMEOUT overrides it. */
#define DIST_DEFAULT_TIMEOUT 600.0

int dist_launched_by_mpirun(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") != NULL || getenv("PMIX_RANK") != NULL;
}

static int mpi_failed(int code, const char *what, error *err)
{
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) snprintf(text, sizeof text, "MPI error %d", code);
    return error_set(err, "MPI: %s failed: %s", what, text);
}

static MPI_Request *request_of(dist_request *r)
{
    return (MPI_Request *)(void *)r->handle;
}

static int wait_requests(dist_request *requests, int n, double timeout, long pause_ns,
                         const char *what, error *err);

/* Waits for one just-started non-blocking collective (rc its start's
 * status), at most c->timeout seconds. */
static int finish(dist_comm *c, int rc, dist_request *request, const char *what, error *err)
{
    if (rc != MPI_SUCCESS) return mpi_failed(rc, what, err);
    request->pending = 1;
    return wait_requests(request, 1, c->timeout, 20000, what, err);
}

double dist_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int dist_comm_init(dist_comm *c, int *argc, char ***argv, error *err)
{
    memset(c, 0, sizeof *c);
    c->size = 1;
    c->local_size = 1;
    c->timeout = DIST_DEFAULT_TIMEOUT;
    const char *timeout = getenv("NANPROBE_MPI_TIMEOUT");
    if (timeout && atof(timeout) > 0) c->timeout = atof(timeout);
    if (!dist_launched_by_mpirun()) return 0;
    int provided = 0;
    int rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) return error_set(err, "MPI_Init_thread failed (code %d)", rc);
    c->active = 1;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &c->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &c->size);
    const char *local = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    c->local_size = local && atoi(local) > 0 ? atoi(local) : 1;
    if (provided < MPI_THREAD_FUNNELED)
        return error_set(err, "MPI: the library gives thread level %d, nanprobe needs MPI_THREAD_FUNNELED", provided);
    return 0;
}

void dist_comm_finalize(dist_comm *c)
{
    if (c->active) MPI_Finalize();
    c->active = 0;
}

void dist_comm_abort(dist_comm *c, int code)
{
    if (c->active) MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}

int dist_broadcast(dist_comm *c, void *data, size_t bytes, int root, error *err)
{
    if (!c->active) return 0;
    if (bytes > (size_t)2147483647) return error_set(err, "MPI: broadcast of %zu bytes is too large", bytes);
    dist_request request = {.pending = 0};
    return finish(c, MPI_Ibcast(data, (int)bytes, MPI_BYTE, root, MPI_COMM_WORLD, request_of(&request)), &request,
                  "MPI_Ibcast", err);
}

int dist_sum_doubles(dist_comm *c, double *values, int n, error *err)
{
    return dist_sum_doubles_timed(c, values, n, "MPI_Iallreduce", err);
}

int dist_gather_ints(dist_comm *c, int value, int *each, error *err)
{
    if (!c->active) {
        each[0] = value;
        return 0;
    }
    dist_request request = {.pending = 0};
    return finish(c, MPI_Iallgather(&value, 1, MPI_INT, each, 1, MPI_INT, MPI_COMM_WORLD, request_of(&request)),
                  &request, "MPI_Iallgather", err);
}

int dist_gather_bytes(dist_comm *c, const void *data, int bytes, void *out, int *counts, int capacity,
                      error *err)
{
    if (!c->active) {
        if (bytes > capacity) return error_set(err, "MPI: %d bytes gathered into %d", bytes, capacity);
        memcpy(out, data, (size_t)bytes);
        counts[0] = bytes;
        return 0;
    }
    dist_request request = {.pending = 0};
    if (finish(c, MPI_Igather(&bytes, 1, MPI_INT, counts, 1, MPI_INT, 0, MPI_COMM_WORLD, request_of(&request)),
               &request, "MPI_Igather", err))
        return -1;
    int displacements[c->size];
    memset(displacements, 0, sizeof displacements);
    long total = 0;
    for (int r = 0; c->rank == 0 && r < c->size; r++) {
        displacements[r] = (int)total;
        total += counts[r];
    }
    /* Every rank enters the Igatherv even when rank 0 will report the overflow. */
    int overflow = c->rank == 0 && total > capacity;
    int rc = MPI_Igatherv(data, bytes, MPI_BYTE, overflow ? NULL : out, counts, displacements, MPI_BYTE, 0,
                          MPI_COMM_WORLD, request_of(&request));
    if (finish(c, rc, &request, "MPI_Igatherv", err)) return -1;
    if (overflow) return error_set(err, "MPI: %ld bytes gathered into a buffer of %d", total, capacity);
    return 0;
}

/* ------------------------------------------------------ non-blocking */

int dist_sum_floats_start(dist_comm *c, float *values, size_t n, dist_request *request, error *err)
{
    request->pending = 0;
    if (!c->active || n == 0) return 0;
    if (n > (size_t)2147483647) return error_set(err, "MPI: allreduce of %zu floats is too large", n);
    int rc = MPI_Iallreduce(MPI_IN_PLACE, values, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, request_of(request));
    if (rc != MPI_SUCCESS) return mpi_failed(rc, "MPI_Iallreduce", err);
    request->pending = 1;
    return 0;
}

void dist_progress(dist_request *requests, int n)
{
    for (int i = 0; i < n; i++) {
        if (!requests[i].pending) continue;
        int done = 0;
        if (MPI_Test(request_of(&requests[i]), &done, MPI_STATUS_IGNORE) != MPI_SUCCESS) return;
        if (done) requests[i].pending = 0;
    }
}

/* Polls the requests until done; timeout <= 0 waits as long as it takes
 * (a peer that dies is then mpirun's to report).  Polling with a pause
 * instead of MPI_Wait leaves the core to a rank that shares it. */
static int wait_requests(dist_request *requests, int n, double timeout, long pause_ns,
                         const char *what, error *err)
{
    double start = dist_seconds();
    struct timespec pause = {0, pause_ns};
    for (;;) {
        int pending = 0;
        for (int i = 0; i < n; i++) {
            if (!requests[i].pending) continue;
            int done = 0;
            int rc = MPI_Test(request_of(&requests[i]), &done, MPI_STATUS_IGNORE);
            if (rc != MPI_SUCCESS) {
                requests[i].pending = 0;
                return mpi_failed(rc, what, err);
            }
            if (done) requests[i].pending = 0;
            else pending++;
        }
        if (pending == 0) return 0;
        if (timeout > 0 && dist_seconds() - start > timeout)
            return error_set(err, "%s: no answer from the other ranks for %.0f s (a rank is stuck or its host is "
                                  "lost)",
                             what, timeout);
        nanosleep(&pause, NULL);
    }
}

int dist_wait_all(dist_comm *c, dist_request *requests, int n, const char *what, error *err)
{
    return wait_requests(requests, n, c->timeout, 20000, what, err);
}

int dist_sum_doubles_patient(dist_comm *c, double *values, int n, error *err)
{
    dist_request request = {.pending = 0};
    if (!c->active) return 0;
    int rc = MPI_Iallreduce(MPI_IN_PLACE, values, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD, request_of(&request));
    if (rc != MPI_SUCCESS) return mpi_failed(rc, "MPI_Iallreduce", err);
    request.pending = 1;
    return wait_requests(&request, 1, 0.0, 10000000, "MPI_Iallreduce", err);
}

int dist_barrier_patient(dist_comm *c, error *err)
{
    dist_request request = {.pending = 0};
    if (!c->active) return 0;
    int rc = MPI_Ibarrier(MPI_COMM_WORLD, request_of(&request));
    if (rc != MPI_SUCCESS) return mpi_failed(rc, "MPI_Ibarrier", err);
    request.pending = 1;
    return wait_requests(&request, 1, 0.0, 2000000, "MPI_Ibarrier", err);
}

int dist_sum_floats_timed(dist_comm *c, float *values, size_t n, const char *what, error *err)
{
    dist_request request;
    if (dist_sum_floats_start(c, values, n, &request, err)) return -1;
    return dist_wait_all(c, &request, 1, what, err);
}

int dist_sum_doubles_timed(dist_comm *c, double *values, int n, const char *what, error *err)
{
    dist_request request = {.pending = 0};
    if (!c->active) return 0;
    int rc = MPI_Iallreduce(MPI_IN_PLACE, values, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD, request_of(&request));
    if (rc != MPI_SUCCESS) return mpi_failed(rc, "MPI_Iallreduce", err);
    request.pending = 1;
    return dist_wait_all(c, &request, 1, what, err);
}

int dist_allgather_doubles_timed(dist_comm *c, const double *mine, int n, double *all, const char *what,
                                 error *err)
{
    dist_request request = {.pending = 0};
    if (!c->active) {
        memcpy(all, mine, sizeof(double) * (size_t)n);
        return 0;
    }
    int rc = MPI_Iallgather(mine, n, MPI_DOUBLE, all, n, MPI_DOUBLE, MPI_COMM_WORLD, request_of(&request));
    if (rc != MPI_SUCCESS) return mpi_failed(rc, "MPI_Iallgather", err);
    request.pending = 1;
    return dist_wait_all(c, &request, 1, what, err);
}

/* The step agreement's reduction: every element but the last is summed,
 * the last is the minimum (the earliest event's order key). */
static void sum_then_min(void *in, void *inout, int *length, MPI_Datatype *type)
{
    (void)type;
    const double *a = in;
    double *b = inout;
    for (int i = 0; i < *length - 1; i++) b[i] += a[i];
    if (a[*length - 1] < b[*length - 1]) b[*length - 1] = a[*length - 1];
}

int dist_sum_then_min_timed(dist_comm *c, double *values, int n, const char *what, error *err)
{
    if (!c->active) return 0;
    MPI_Op op;
    int rc = MPI_Op_create(sum_then_min, 1, &op);
    if (rc != MPI_SUCCESS) return mpi_failed(rc, "MPI_Op_create", err);
    dist_request request = {.pending = 0};
    rc = MPI_Iallreduce(MPI_IN_PLACE, values, n, MPI_DOUBLE, op, MPI_COMM_WORLD, request_of(&request));
    if (rc != MPI_SUCCESS) {
        MPI_Op_free(&op);
        return mpi_failed(rc, "MPI_Iallreduce", err);
    }
    request.pending = 1;
    rc = dist_wait_all(c, &request, 1, what, err);
    MPI_Op_free(&op);
    return rc;
}

char **dist_environment_without_mpi(void)
{
    extern char **environ;
    static const char *const prefixes[] = {"OMPI_", "PMIX_", "OPAL_", "PRTE_", "ORTE_", "PMI_", "HYDRA_"};
    size_t n = 0;
    while (environ[n]) n++;
    char **out = malloc(sizeof(char *) * (n + 1));
    if (!out) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int mpi = 0;
        for (size_t p = 0; p < sizeof prefixes / sizeof prefixes[0]; p++)
            mpi |= strncmp(environ[i], prefixes[p], strlen(prefixes[p])) == 0;
        if (!mpi) out[k++] = environ[i];
    }
    out[k] = NULL;
    return out;
}
