/* video_index.h: which video files make up the train and validation splits,
 * and their labels.  Three layouts of a directory DIR:
 *
 *  - class folders: DIR/<class>/.../<file>.{avi,mp4,mkv,webm,mov} (the
 *    extension in any case).  Class indices follow the class names sorted by
 *    code point, as Keras' *_dataset_from_directory; files are taken in
 *    sorted path order.  Hidden entries (".x") are skipped.
 *  - UCF101 split files (split > 0): classInd.txt ("1 ApplyEyeMakeup"),
 *    trainlist0N.txt ("ApplyEyeMakeup/v_..._c01.avi 1") and testlist0N.txt
 *    ("ApplyEyeMakeup/v_..._c01.avi"), found in DIR or DIR/ucfTrainTestlist;
 *    video paths are relative to DIR, or to DIR/UCF-101 when they are there.
 *    The test list is the validation split; classInd's 1-based ids become
 *    0-based labels.
 *  - explicit lists (train_list, optionally val_list): lines of
 *    "relative/path label", paths relative to DIR.  Labels are all integers
 *    (0-based class ids) or all class names (then indexed in sorted order).
 *
 * Without a validation list (class folders, or a train list alone) the
 * validation split is empty here and the caller holds out videos (see
 * video_index_hold_out). */
#ifndef NANPROBE_VIDEO_INDEX_H
#define NANPROBE_VIDEO_INDEX_H

#include "error.h"

typedef struct video_entry {
    char *path; /* relative to the index root */
    int label;
} video_entry;

typedef struct video_index {
    char *root;
    char **class_names; /* classes of them, owned */
    int classes;
    video_entry *entries[2]; /* [0] train, [1] validation; owned */
    long count[2];
    int has_val_list;        /* the layout itself defines the validation split */
    char layout[64];         /* "class folders", "UCF101 split 1", "lists" */
} video_index;

typedef struct video_index_config {
    const char *root;
    int split;              /* > 0: UCF101 split files */
    const char *train_list; /* explicit lists; NULL = not given */
    const char *val_list;
} video_index_config;

int video_index_build(video_index *ix, const video_index_config *config, error *err);
void video_index_free(video_index *ix);

/* Moves `hold` train videos to the validation split, at evenly spaced
 * positions of the sorted train list (so every class keeps a share): the
 * choice depends on the file list alone, as the .npy hold-out does. */
int video_index_hold_out(video_index *ix, long hold, error *err);

/* 1 if the name ends in a video extension (.avi .mp4 .mkv .webm .mov, any case). */
int video_index_is_video_name(const char *name);
/* 1 if dir looks like a video dataset: a UCF101 classInd.txt, or a class
 * folder holding at least one video file. */
int video_index_looks_like_videos(const char *dir);

#endif
