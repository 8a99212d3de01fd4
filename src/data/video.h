/* video.h: one video file through FFmpeg: probe it, decode chosen frames,
 * resize them with swscale and crop them.
 *
 * Frame indices count decoded frames in presentation order from 0 (what the
 * decoder hands out, which is what Keras/PyTorch video loaders built on
 * FFmpeg iterate).  Decoding is single-threaded per file (thread_count 1):
 * the caller parallelizes across files, and the frames then never depend on
 * a thread count.  Output values are 0..255 stored as float, channels-last,
 * RGB (3 channels) or luma (1 channel). */
#ifndef NANPROBE_VIDEO_H
#define NANPROBE_VIDEO_H

#include "error.h"

/* Why a file cannot be used.  The names are what `nanprobe data`, the error
 * message and the bad_videos table print. */
typedef enum video_problem {
    VIDEO_OK = 0,
    VIDEO_ZERO_BYTES,    /* empty file */
    VIDEO_NOT_VIDEO,     /* no container FFmpeg recognizes (e.g. a text file named .avi) */
    VIDEO_NO_STREAM,     /* a container without a video stream (audio only) */
    VIDEO_UNKNOWN_CODEC, /* a video stream whose codec has no decoder here */
    VIDEO_TRUNCATED,     /* fewer frames than the header promises, or no frame at all */
    VIDEO_UNDECODABLE,   /* the first frame does not decode */
    VIDEO_TOO_SMALL,     /* a side below VIDEO_MIN_SIDE pixels */
    VIDEO_UNREADABLE,    /* cannot be opened or read (permissions, I/O error) */
    VIDEO_PROBLEM_COUNT
} video_problem;

/* Smallest accepted frame side.  Upsampling a 1x1 or 4x4 "video" to 128x171
 * carries no information, and is almost always a broken export. */
#define VIDEO_MIN_SIDE 8

typedef struct video_info {
    int width, height;
    long frames;      /* video packets counted by demuxing the whole file */
    double fps;       /* average frame rate; 0 when the container gives none */
    double seconds;   /* frames / fps when fps is known, else the container duration */
    char codec[32];
    /* Seeking: when the presentation timestamps of all packets are exactly
     * first_pts + k * frame_pts for k = 0..frames-1 (constant frame rate,
     * no gaps), frame k can be found by seeking to its timestamp and the
     * frame index of a decoded frame is (pts - first_pts) / frame_pts. */
    int seekable;
    long long first_pts, frame_pts; /* in the stream's time base */
} video_info;

/* The names by problem ("zero bytes", ...), as bad_videos.problem stores them. */
extern const char *const video_problem_names[VIDEO_PROBLEM_COUNT];
const char *video_problem_name(video_problem p);

/* Opens path, finds the video stream, opens its decoder, decodes the first
 * frame and counts the frames.  Returns VIDEO_OK with *info filled, or the
 * problem with a one-sentence reason in err (naming the file). */
video_problem video_probe(const char *path, video_info *info, error *err);

typedef struct video_request {
    const int *frames; /* count frame indices, any order, repeats allowed */
    int count;
    int resize_h, resize_w;           /* every frame is first resized to this */
    int crop_y, crop_x, crop_h, crop_w; /* then this window is kept */
    int channels;                     /* 3 = RGB, 1 = luma */
    /* The file's probe result, or NULL: with a seekable one, decoding
     * starts at the keyframe before the first requested frame instead of
     * at frame 0 (same frames, fewer decoded). */
    const video_info *seek;
} video_request;

/* Decodes the requested frames into out (count frames of crop_h x crop_w x
 * channels floats, in request order).  Returns 0 on success.  When decoding
 * stops early (I/O error, a corrupt packet, a file shortened after it was
 * probed) it returns -1 with err set and *decoded the number of frames that
 * did decode before the failure, so the caller can fall back to those. */
int video_read(const char *path, const video_request *req, float *out, long *decoded, error *err);

#endif
