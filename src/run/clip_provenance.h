/* clip_provenance.h: what the training loop records about video clips:
 * the classes and skipped bad videos once per run, every served clip's
 * origin (clip_origins), and the decode events of the video source.  A
 * no-op for synthetic and .npy data, so train.c calls it unconditionally. */
#ifndef NANPROBE_CLIP_PROVENANCE_H
#define NANPROBE_CLIP_PROVENANCE_H

#include "dataset.h"
#include "db_video.h"

typedef struct clip_provenance {
    dataset *data;            /* not owned */
    db_writer *db;            /* not owned */
    db_video_writer writer;
    video_clip_origin *origins; /* one per batch slot, owned */
    int active;               /* the data is a video directory */
} clip_provenance;

/* Prepares the writer; on a new run (resume == 0) also writes the classes
 * and bad_videos rows. */
int clip_provenance_open(clip_provenance *p, dataset *data, db_writer *db, int batch, int resume, error *err);
void clip_provenance_close(clip_provenance *p);

/* The origins buffer to pass to dataset_read_epoch (NULL when inactive). */
video_clip_origin *clip_provenance_buffer(clip_provenance *p);

/* Writes the origins of a batch just read (epoch counts from 1), in its own
 * transaction, then the pending decode events as `video_decode` events of
 * `step`. */
int clip_provenance_record(clip_provenance *p, dataset_split split, int epoch, long step, const long *ids, int n,
                           error *err);

#endif
