/* clip_provenance.c: recording video clip origins, classes, bad videos and
 * decode events in run.db (see clip_provenance.h). */
#include "clip_provenance.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int classes_write(clip_provenance *p, const video_source *vs, error *err)
{
    int classes = video_source_classes(vs);
    for (int c = 0; c < classes; c++) {
        long count[2] = {0, 0};
        for (int s = 0; s < 2; s++)
            for (long i = 0; i < dataset_size(p->data, (dataset_split)s); i++) {
                int label;
                video_source_video(vs, s, i, NULL, NULL, &label);
                count[s] += label == c;
            }
        if (db_write_class(&p->writer, c, video_source_class_name(vs, c), count[0], count[1], err)) return -1;
    }
    for (long i = 0; i < video_source_bad_count(vs); i++) {
        const char *path, *reason;
        video_problem problem;
        video_source_bad(vs, i, &path, &problem, &reason);
        if (db_write_bad_video(&p->writer, path, problem, reason, err)) return -1;
    }
    return 0;
}

int clip_provenance_open(clip_provenance *p, dataset *data, db_writer *db, int batch, int resume, error *err)
{
    memset(p, 0, sizeof *p);
    p->data = data;
    p->db = db;
    video_source *vs = dataset_video(data);
    if (!vs) return 0;
    p->active = 1;
    p->origins = calloc((size_t)batch, sizeof *p->origins);
    if (!p->origins) return error_set(err, "out of memory for %d clip origins", batch);
    if (db_video_writer_open(&p->writer, db, err)) return -1;
    if (resume) return 0;
    if (db_writer_begin(db, err)) return -1;
    if (classes_write(p, vs, err)) {
        db_writer_rollback(db);
        return -1;
    }
    return db_writer_commit(db, err);
}

void clip_provenance_close(clip_provenance *p)
{
    if (p->active) db_video_writer_close(&p->writer);
    free(p->origins);
    memset(p, 0, sizeof *p);
}

video_clip_origin *clip_provenance_buffer(clip_provenance *p)
{
    return p->active ? p->origins : NULL;
}

static int events_write(clip_provenance *p, long step, int epoch, error *err)
{
    char message[600];
    while (video_source_event_take(dataset_video(p->data), message, sizeof message)) {
        event_row e;
        memset(&e, 0, sizeof e);
        e.step = step;
        e.epoch = epoch;
        e.kind = EVENT_VIDEO_DECODE;
        e.layer = -1;
        e.element_index = e.sample = e.d = e.h = e.w = e.channel = -1;
        e.sample_id = -1;
        e.is_origin = -1;
        e.old_value = e.new_value = NAN;
        e.message = message;
        if (db_write_event(p->db, &e, err)) return -1;
    }
    return 0;
}

int clip_provenance_record(clip_provenance *p, dataset_split split, int epoch, long step, const long *ids, int n,
                           error *err)
{
    if (!p->active) return 0;
    if (db_writer_begin(p->db, err)) return -1;
    int status = 0;
    for (int i = 0; i < n && status == 0; i++) {
        const video_clip_origin *o = &p->origins[i];
        clip_origin_row row = {.split = split == SPLIT_TRAIN ? CLIP_SPLIT_TRAIN : CLIP_SPLIT_VALIDATION, .epoch = epoch,
                               .sample_id = ids[i], .video = o->path, .start_frame = o->start,
                               .last_frame = o->start + o->span - 1, .frame_step = o->step,
                               .video_frames = o->video_frames, .crop_y = o->crop_y, .crop_x = o->crop_x,
                               .crop_h = o->crop_h, .crop_w = o->crop_w, .looped = o->looped,
                               .fallback = o->fallback};
        status = db_write_clip_origin(&p->writer, &row, err);
    }
    if (status == 0) status = events_write(p, step, epoch, err);
    if (status) {
        db_writer_rollback(p->db);
        return -1;
    }
    return db_writer_commit(p->db, err);
}
