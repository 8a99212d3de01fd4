/* video_source.c: a video directory as a dataset source (see
 * video_source.h): opening (index, probe of every file, bad-file policy,
 * hold-out), the sampling rule, clip decoding with its fallback, and the
 * prefetch thread. */
#include "video_source.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rng.h"
#include "video_index.h"

#define SOURCE_PATH_MAX 8192
#define EVENTS_MAX 64 /* pending decode events kept; older ones are counted, not kept */

/* Stream of the sampling rng: bit 63 set keeps it apart from rng.h's small
 * stream numbers; below it (epoch, split, id) are packed one-to-one for
 * epoch < 2^23 and id < 2^39. */
#define SAMPLE_STREAM_TAG (1ull << 63)

typedef struct bad_video {
    char *path;
    video_problem problem;
    char *reason;
} bad_video;

typedef struct prefetch_job {
    int split, epoch, count;
    long *ids;                 /* capacity ids_capacity */
    float *clips;              /* count * clip_values */
    video_clip_origin *origins;
    int state;                 /* JOB_* */
    int status;                /* 0 or -1 */
    error err;
} prefetch_job;

enum { JOB_IDLE, JOB_QUEUED, JOB_RUNNING, JOB_DONE };

struct video_source {
    video_index index;
    video_info *infos[2];
    long *usable[2];        /* frames usable per video (lowered by a mid-run failure) */
    bad_video *bad;
    long bad_count;
    int clip[4];
    size_t clip_values;
    int resize[2];
    int step;
    uint64_t seed;
    long size[2];
    void (*clip_finish)(const void *, float *);
    const void *finish_context;

    pthread_mutex_t lock;   /* guards usable[], the events and the job */
    pthread_cond_t wake;
    char events[EVENTS_MAX][512];
    int event_first, event_count;
    long events_dropped;

    pthread_t worker;
    int worker_started, quit;
    prefetch_job job;
    long job_capacity;
    double last_wait;
    int last_prefetched;
};

/* Copies src into dst, cut to fit (messages only). */
static void text_copy(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size) n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* ---- sampling -------------------------------------------------------------- */

static int split_index(int split)
{
    return split == 1 ? 1 : 0;
}

static void origin_compute(const video_source *vs, int split, int epoch, long id, video_clip_origin *o)
{
    int s = split_index(split);
    memset(o, 0, sizeof *o);
    o->path = vs->index.entries[s][id].path;
    long frames = vs->usable[s][id];
    o->video_frames = frames;
    o->step = vs->step;
    o->span = (vs->clip[0] - 1) * vs->step + 1;
    o->crop_h = vs->clip[1];
    o->crop_w = vs->clip[2];
    long room = frames - o->span;
    int room_y = vs->resize[0] - vs->clip[1], room_x = vs->resize[1] - vs->clip[2];
    o->looped = room < 0;
    if (s == 0) {
        rng r;
        uint64_t packed = ((uint64_t)(uint32_t)epoch << 40) | ((uint64_t)s << 39) | (uint64_t)id;
        rng_seed(&r, vs->seed, SAMPLE_STREAM_TAG ^ packed);
        /* Drawn in a fixed order whatever is used, so one choice never shifts another. */
        uint64_t t = rng_below(&r, room > 0 ? (uint64_t)room + 1 : 1);
        uint64_t y = rng_below(&r, (uint64_t)room_y + 1), x = rng_below(&r, (uint64_t)room_x + 1);
        o->start = room > 0 ? (int)t : 0;
        o->crop_y = (int)y;
        o->crop_x = (int)x;
    } else {
        o->start = room > 0 ? (int)(room / 2) : 0;
        o->crop_y = room_y / 2;
        o->crop_x = room_x / 2;
    }
}

void video_source_origin(const video_source *vs, int split, int epoch, long id, video_clip_origin *o)
{
    video_source *mutable = (video_source *)vs; /* the lock only: usable[] may be lowered by a decoder */
    pthread_mutex_lock(&mutable->lock);
    origin_compute(vs, split, epoch, id, o);
    pthread_mutex_unlock(&mutable->lock);
}

/* Frame indices of a clip: consecutive with the step, wrapping for short videos. */
static void origin_frames(const video_clip_origin *o, int depth, int *frames)
{
    for (int i = 0; i < depth; i++) {
        long f = (long)o->start + (long)i * o->step;
        frames[i] = (int)(o->looped ? f % o->video_frames : f);
    }
}

/* ---- events ------------------------------------------------------------------ */

static void event_push(video_source *vs, const char *text)
{
    pthread_mutex_lock(&vs->lock);
    if (vs->event_count == EVENTS_MAX) {
        vs->events_dropped++;
    } else {
        int slot = (vs->event_first + vs->event_count) % EVENTS_MAX;
        text_copy(vs->events[slot], sizeof vs->events[slot], text);
        vs->event_count++;
    }
    pthread_mutex_unlock(&vs->lock);
}

int video_source_event_take(video_source *vs, char *message, size_t size)
{
    pthread_mutex_lock(&vs->lock);
    int got = vs->event_count > 0;
    if (got) {
        snprintf(message, size, "%s", vs->events[vs->event_first]);
        vs->event_first = (vs->event_first + 1) % EVENTS_MAX;
        vs->event_count--;
    } else if (vs->events_dropped) {
        snprintf(message, size, "%ld more video decode events were not kept", vs->events_dropped);
        vs->events_dropped = 0;
        got = 1;
    }
    pthread_mutex_unlock(&vs->lock);
    return got;
}

/* ---- decoding one clip ----------------------------------------------------------- */

static int decode_attempt(const video_source *vs, const video_clip_origin *o, const video_info *info, float *out,
                          long *decoded, error *err)
{
    int frames[1024];
    int depth = vs->clip[0];
    origin_frames(o, depth, frames);
    char path[SOURCE_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", vs->index.root, o->path);
    video_request req = {.frames = frames, .count = depth, .resize_h = vs->resize[0], .resize_w = vs->resize[1],
                         .crop_y = o->crop_y, .crop_x = o->crop_x, .crop_h = o->crop_h, .crop_w = o->crop_w,
                         .channels = vs->clip[3], .seek = info};
    return video_read(path, &req, out, decoded, err);
}

/* One clip, with the documented fallback; never fails. */
static void clip_make(video_source *vs, int split, int epoch, long id, float *out, video_clip_origin *origin)
{
    int s = split_index(split);
    video_clip_origin o;
    video_source_origin(vs, split, epoch, id, &o);
    error err;
    long decoded = 0;
    const video_info *info = &vs->infos[s][id];
    if (decode_attempt(vs, &o, info, out, &decoded, &err) < 0) {
        char message[1400];
        long had = o.video_frames;
        int retried = 0;
        if (decoded > 0) {
            pthread_mutex_lock(&vs->lock);
            if (vs->usable[s][id] > decoded) vs->usable[s][id] = decoded;
            origin_compute(vs, split, epoch, id, &o);
            pthread_mutex_unlock(&vs->lock);
            error again;
            long second = 0;
            retried = decode_attempt(vs, &o, info, out, &second, &again) == 0;
        }
        o.fallback = retried ? 1 : 2;
        if (!retried)
            for (size_t i = 0; i < vs->clip_values; i++) out[i] = 128.0f;
        if (retried)
            snprintf(message, sizeof message, "%s; the video is used as %ld frames instead of %ld from now on "
                     "(clip from frame %d%s)", err.message, decoded, had, o.start, o.looped ? ", looped" : "");
        else
            snprintf(message, sizeof message, "%s; the clip is mid-grey (128) instead", err.message);
        event_push(vs, message);
    }
    if (vs->clip_finish) vs->clip_finish(vs->finish_context, out);
    if (origin) *origin = o;
}

static void batch_make(video_source *vs, int split, int epoch, const long *ids, int count, float *clips,
                       video_clip_origin *origins, int parallel)
{
    #pragma omp parallel for schedule(dynamic, 1) if (parallel && count > 1)
    for (int i = 0; i < count; i++)
        clip_make(vs, split, epoch, ids[i], clips + (size_t)i * vs->clip_values, origins ? origins + i : NULL);
}

/* ---- prefetch thread ------------------------------------------------------------- */

/* Decodes one queued job at a time, one clip after another: the training
 * step owns the cores, this thread only fills the gaps (GEMM waits,
 * single-threaded stretches) and must not start a second OpenMP team. */
static void *worker_main(void *arg)
{
    video_source *vs = arg;
    pthread_mutex_lock(&vs->lock);
    for (;;) {
        while (!vs->quit && vs->job.state != JOB_QUEUED) pthread_cond_wait(&vs->wake, &vs->lock);
        if (vs->quit) break;
        vs->job.state = JOB_RUNNING;
        prefetch_job *j = &vs->job;
        pthread_mutex_unlock(&vs->lock);
        batch_make(vs, j->split, j->epoch, j->ids, j->count, j->clips, j->origins, 0);
        pthread_mutex_lock(&vs->lock);
        j->status = 0;
        j->state = JOB_DONE;
        pthread_cond_broadcast(&vs->wake);
    }
    pthread_mutex_unlock(&vs->lock);
    return NULL;
}

/* Waits until no job is running (the caller holds the lock); a queued job
 * that is not wanted any more is cancelled instead. */
static void job_settle(video_source *vs, int wanted)
{
    while (vs->job.state == JOB_QUEUED || vs->job.state == JOB_RUNNING) {
        if (vs->job.state == JOB_QUEUED && !wanted) {
            vs->job.state = JOB_IDLE;
            break;
        }
        pthread_cond_wait(&vs->wake, &vs->lock);
    }
}

static int job_reserve(video_source *vs, int count, error *err)
{
    if (count <= vs->job_capacity) return 0;
    long *ids = realloc(vs->job.ids, (size_t)count * sizeof *ids);
    if (ids) vs->job.ids = ids;
    float *clips = realloc(vs->job.clips, (size_t)count * vs->clip_values * sizeof *clips);
    if (clips) vs->job.clips = clips;
    video_clip_origin *origins = realloc(vs->job.origins, (size_t)count * sizeof *origins);
    if (origins) vs->job.origins = origins;
    if (!ids || !clips || !origins) return error_set(err, "out of memory for a prefetch batch of %d clips", count);
    vs->job_capacity = count;
    return 0;
}

static int ids_check(const video_source *vs, int split, const long *ids, int count, error *err)
{
    if (split != 0 && split != 1) return error_set(err, "split %d is neither train nor validation", split);
    if (count < 0) return error_set(err, "batch of %d clips", count);
    for (int i = 0; i < count; i++)
        if (ids[i] < 0 || ids[i] >= vs->size[split])
            return error_set(err, "sample id %ld is out of range for the %s split (%ld videos)", ids[i],
                             split ? "validation" : "train", vs->size[split]);
    return 0;
}

int video_source_prefetch(video_source *vs, int split, int epoch, const long *ids, int count, error *err)
{
    if (ids_check(vs, split, ids, count, err) < 0) return -1;
    if (count == 0) return 0;
    pthread_mutex_lock(&vs->lock);
    job_settle(vs, 0);
    int status = job_reserve(vs, count, err);
    if (status == 0 && !vs->worker_started) {
        if (pthread_create(&vs->worker, NULL, worker_main, vs) != 0)
            status = error_set(err, "cannot start the video prefetch thread");
        else
            vs->worker_started = 1;
    }
    if (status == 0) {
        prefetch_job *j = &vs->job;
        j->split = split;
        j->epoch = epoch;
        j->count = count;
        memcpy(j->ids, ids, (size_t)count * sizeof *ids);
        j->state = JOB_QUEUED;
        pthread_cond_broadcast(&vs->wake);
    }
    pthread_mutex_unlock(&vs->lock);
    return status;
}

static int job_matches(const prefetch_job *j, int split, int epoch, const long *ids, int count)
{
    return j->state != JOB_IDLE && j->split == split && j->epoch == epoch && j->count == count &&
           memcmp(j->ids, ids, (size_t)count * sizeof *ids) == 0;
}

static double seconds_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int video_source_read(video_source *vs, int split, int epoch, const long *ids, int count, float *clips,
                      video_clip_origin *origins, error *err)
{
    if (ids_check(vs, split, ids, count, err) < 0) return -1;
    double t0 = seconds_now();
    pthread_mutex_lock(&vs->lock);
    /* Another batch (a validation batch while the next training batch is
     * being prefetched) is made here while the thread goes on with its own. */
    int hit = job_matches(&vs->job, split, epoch, ids, count);
    if (hit) {
        job_settle(vs, 1);
        if (clips) memcpy(clips, vs->job.clips, (size_t)count * vs->clip_values * sizeof *clips);
        if (origins) memcpy(origins, vs->job.origins, (size_t)count * sizeof *origins);
        vs->job.state = JOB_IDLE;
    }
    pthread_mutex_unlock(&vs->lock);
    if (!hit && clips) batch_make(vs, split, epoch, ids, count, clips, origins, 1);
    if (!hit && !clips && origins)
        for (int i = 0; i < count; i++) video_source_origin(vs, split, epoch, ids[i], &origins[i]);
    vs->last_wait = seconds_now() - t0;
    vs->last_prefetched = hit;
    return 0;
}

double video_source_last_wait(const video_source *vs, int *prefetched)
{
    if (prefetched) *prefetched = vs->last_prefetched;
    return vs->last_wait;
}

/* ---- opening ---------------------------------------------------------------------- */

static void videos_drop_bad(video_source *vs, const video_problem *problems);

/* Probes every video of both splits, in parallel (each file on its own
 * FFmpeg contexts). */
static int videos_probe(video_source *vs, error *err)
{
    for (int s = 0; s < 2; s++) {
        long n = vs->index.count[s];
        vs->infos[s] = calloc((size_t)(n ? n : 1), sizeof *vs->infos[s]);
        if (!vs->infos[s]) return error_set(err, "out of memory probing %ld videos", n);
    }
    long total = vs->index.count[0] + vs->index.count[1];
    video_problem *problems = calloc((size_t)(total ? total : 1), sizeof *problems);
    char (*reasons)[320] = calloc((size_t)(total ? total : 1), sizeof *reasons);
    if (!problems || !reasons) {
        free(problems);
        free(reasons);
        return error_set(err, "out of memory probing %ld videos", total);
    }
    const video_source *c = vs;
    #pragma omp parallel for schedule(dynamic, 1)
    for (long k = 0; k < total; k++) {
        int s = k >= c->index.count[0];
        long i = s ? k - c->index.count[0] : k;
        char path[SOURCE_PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", c->index.root, c->index.entries[s][i].path);
        error e;
        problems[k] = video_probe(path, &c->infos[s][i], &e);
        if (problems[k] != VIDEO_OK) text_copy(reasons[k], sizeof reasons[k], e.message);
    }
    int status = 0;
    for (long k = 0; k < total && status == 0; k++) {
        if (problems[k] == VIDEO_OK) continue;
        int s = k >= vs->index.count[0];
        long i = s ? k - vs->index.count[0] : k;
        bad_video *grown = realloc(vs->bad, (size_t)(vs->bad_count + 1) * sizeof *grown);
        if (!grown) { status = error_set(err, "out of memory listing bad videos"); break; }
        vs->bad = grown;
        bad_video *b = &vs->bad[vs->bad_count++];
        b->path = strdup(vs->index.entries[s][i].path);
        b->problem = problems[k];
        /* The probe's sentence starts with the full path; keep what follows. */
        const char *why = strstr(reasons[k], ": ");
        b->reason = strdup(why ? why + 2 : reasons[k]);
        if (!b->path || !b->reason) status = error_set(err, "out of memory listing bad videos");
    }
    if (status == 0) videos_drop_bad(vs, problems);
    free(problems);
    free(reasons);
    return status;
}

/* Drops the entries whose probe failed (after --skip-bad-videos or
 * before failing); problems[] runs over train then validation. */
static void videos_drop_bad(video_source *vs, const video_problem *problems)
{
    long k = 0;
    for (int s = 0; s < 2; s++) {
        long kept = 0;
        for (long i = 0; i < vs->index.count[s]; i++, k++) {
            if (problems[k] == VIDEO_OK) {
                vs->index.entries[s][kept] = vs->index.entries[s][i];
                vs->infos[s][kept++] = vs->infos[s][i];
            } else {
                free(vs->index.entries[s][i].path);
            }
        }
        vs->index.count[s] = kept;
    }
}

/* "DIR: 3 videos cannot be used: a.avi (zero bytes: ...), ...". */
static int bad_videos_error(const video_source *vs, error *err)
{
    char text[sizeof err->message];
    int n = snprintf(text, sizeof text, "%s: %ld video%s cannot be used:", vs->index.root, vs->bad_count,
                     vs->bad_count == 1 ? "" : "s");
    long shown = 0;
    for (; shown < vs->bad_count && n < (int)sizeof text - 300; shown++)
        n += snprintf(text + n, sizeof text - (size_t)n, "%s %s (%s)", shown ? ";" : "", vs->bad[shown].path,
                      vs->bad[shown].reason);
    if (shown < vs->bad_count && n < (int)sizeof text)
        n += snprintf(text + n, sizeof text - (size_t)n, "; and %ld more (`nanprobe data DIR` lists them)",
                      vs->bad_count - shown);
    return error_set(err, "%s. Fix or remove them, or pass --skip-bad-videos", text);
}

static int shape_check(video_source *vs, const video_source_config *c, error *err)
{
    const int *clip = c->clip;
    if (clip[0] < 1 || clip[0] > 1024 || clip[1] < 1 || clip[2] < 1 || (clip[3] != 3 && clip[3] != 1))
        return error_set(err, "%s: a video dataset needs a clip shape D x H x W x C with 1 <= D <= 1024 and C = 3 "
                         "(RGB) or 1 (luma); got %dx%dx%dx%d", c->dir, clip[0], clip[1], clip[2], clip[3]);
    int step = c->options.frame_step ? c->options.frame_step : 1;
    if (step < 1 || step > 1000)
        return error_set(err, "--frame-step %d: expected 1..1000", c->options.frame_step);
    int rh = c->options.resize[0], rw = c->options.resize[1];
    if (rh == 0 && rw == 0) rh = 128, rw = 171; /* C3D */
    if (rh < 1 || rw < 1 || rh > 8192 || rw > 8192)
        return error_set(err, "--resize %dx%d: expected HxW with both sides 1..8192", rh, rw);
    if (rh < clip[1] || rw < clip[2])
        return error_set(err, "--resize %dx%d is smaller than the clip's %dx%d crop (expected a resize at least the "
                         "clip's H x W; the C3D convention is 128x171 for 112x112)", rh, rw, clip[1], clip[2]);
    memcpy(vs->clip, clip, sizeof vs->clip);
    vs->clip_values = (size_t)clip[0] * clip[1] * clip[2] * clip[3];
    vs->resize[0] = rh;
    vs->resize[1] = rw;
    vs->step = step;
    return 0;
}

static int classes_check(const video_source *vs, int classes, error *err)
{
    int found = vs->index.classes;
    if (found < 2)
        return error_set(err, "%s: %d class found (%s); a classifier needs at least 2", vs->index.root, found,
                         found ? vs->index.class_names[0] : "none");
    if (classes == 0 || classes == found || (classes == 1 && found == 2)) return 0;
    return error_set(err, "%s: --classes %d but the %s hold %d classes (expected --classes %d, or 1 for binary "
                     "with 2 classes)", vs->index.root, classes, vs->index.layout, found, found);
}

static int source_build(video_source *vs, const video_source_config *c, error *err)
{
    if (shape_check(vs, c, err) < 0) return -1;
    video_index_config ic = {.root = c->dir, .split = c->options.split, .train_list = c->options.train_list,
                             .val_list = c->options.val_list};
    if (video_index_build(&vs->index, &ic, err) < 0) return -1;
    if (classes_check(vs, c->classes, err) < 0) return -1;
    for (int s = 0; s < 2; s++)
        for (long i = 0; i < vs->index.count[s]; i++)
            if (vs->index.entries[s][i].label >= vs->index.classes)
                return error_set(err, "%s: label %d is out of range for %d classes", vs->index.entries[s][i].path,
                                 vs->index.entries[s][i].label, vs->index.classes);
    if (!vs->index.has_val_list && video_index_hold_out(&vs->index, c->val_clips, err) < 0) return -1;
    if (videos_probe(vs, err) < 0) return -1;
    if (vs->bad_count && !c->options.skip_bad) return bad_videos_error(vs, err);
    if (vs->index.count[0] == 0)
        return error_set(err, "%s: no usable training video (%ld bad)", vs->index.root, vs->bad_count);
    for (int s = 0; s < 2; s++) {
        long n = vs->index.count[s], cap = s == 0 ? c->train_clips : (vs->index.has_val_list ? c->val_clips : 0);
        vs->size[s] = cap > 0 && cap < n ? cap : n;
        vs->usable[s] = malloc((size_t)(n ? n : 1) * sizeof *vs->usable[s]);
        if (!vs->usable[s]) return error_set(err, "out of memory for %ld videos", n);
        for (long i = 0; i < n; i++) vs->usable[s][i] = vs->infos[s][i].frames;
    }
    return 0;
}

int video_source_open(video_source **out, const video_source_config *config, error *err)
{
    *out = NULL;
    video_source *vs = calloc(1, sizeof *vs);
    if (!vs) return error_set(err, "out of memory opening %s", config->dir);
    pthread_mutex_init(&vs->lock, NULL);
    pthread_cond_init(&vs->wake, NULL);
    vs->seed = config->seed;
    vs->clip_finish = config->clip_finish;
    vs->finish_context = config->finish_context;
    if (source_build(vs, config, err) < 0) {
        video_source_close(vs);
        return -1;
    }
    *out = vs;
    return 0;
}

void video_source_close(video_source *vs)
{
    if (!vs) return;
    if (vs->worker_started) {
        pthread_mutex_lock(&vs->lock);
        vs->quit = 1;
        pthread_cond_broadcast(&vs->wake);
        pthread_mutex_unlock(&vs->lock);
        pthread_join(vs->worker, NULL);
    }
    for (long i = 0; i < vs->bad_count; i++) {
        free(vs->bad[i].path);
        free(vs->bad[i].reason);
    }
    free(vs->bad);
    for (int s = 0; s < 2; s++) {
        free(vs->infos[s]);
        free(vs->usable[s]);
    }
    free(vs->job.ids);
    free(vs->job.clips);
    free(vs->job.origins);
    video_index_free(&vs->index);
    pthread_cond_destroy(&vs->wake);
    pthread_mutex_destroy(&vs->lock);
    free(vs);
}

long video_source_size(const video_source *vs, int split)
{
    return split == 0 || split == 1 ? vs->size[split] : 0;
}

int video_source_classes(const video_source *vs)
{
    return vs->index.classes;
}

const char *video_source_class_name(const video_source *vs, int c)
{
    return c >= 0 && c < vs->index.classes ? vs->index.class_names[c] : "?";
}

const char *video_source_layout(const video_source *vs)
{
    return vs->index.layout;
}

void video_source_resize(const video_source *vs, int resize[2])
{
    resize[0] = vs->resize[0];
    resize[1] = vs->resize[1];
}

void video_source_video(const video_source *vs, int split, long id, const char **path, const video_info **info,
                        int *label)
{
    int s = split_index(split);
    if (path) *path = vs->index.entries[s][id].path;
    if (info) *info = &vs->infos[s][id];
    if (label) *label = vs->index.entries[s][id].label;
}

long video_source_bad_count(const video_source *vs)
{
    return vs->bad_count;
}

void video_source_bad(const video_source *vs, long i, const char **path, video_problem *problem, const char **reason)
{
    *path = vs->bad[i].path;
    *problem = vs->bad[i].problem;
    *reason = vs->bad[i].reason;
}
