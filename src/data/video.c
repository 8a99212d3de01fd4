/* video.c: probing and decoding one video file (see video.h).
 *
 * FFmpeg logs to stderr by default; library code must not print, so the
 * first use installs a log callback that keeps the last error-level message
 * of the calling thread (thread-local: files decode on several threads) and
 * appends it to our own reason ("moov atom not found", ...). */
#include "video.h"

#include <errno.h>
#include <stdlib.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

const char *const video_problem_names[] = {
    [VIDEO_OK] = "ok",
    [VIDEO_ZERO_BYTES] = "zero bytes",
    [VIDEO_NOT_VIDEO] = "not a video",
    [VIDEO_NO_STREAM] = "no video stream",
    [VIDEO_UNKNOWN_CODEC] = "unknown codec",
    [VIDEO_TRUNCATED] = "truncated",
    [VIDEO_UNDECODABLE] = "undecodable",
    [VIDEO_TOO_SMALL] = "too small",
    [VIDEO_UNREADABLE] = "unreadable",
};
_Static_assert(sizeof video_problem_names / sizeof video_problem_names[0] == VIDEO_PROBLEM_COUNT,
               "one name per video_problem");

const char *video_problem_name(video_problem p)
{
    return (unsigned)p < VIDEO_PROBLEM_COUNT ? video_problem_names[p] : "unknown problem";
}

static _Thread_local char last_log[256];
static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static void log_capture(void *avcl, int level, const char *format, va_list args)
{
    (void)avcl;
    if (level > AV_LOG_ERROR) return;
    vsnprintf(last_log, sizeof last_log, format, args);
    size_t n = strlen(last_log);
    while (n > 0 && (last_log[n - 1] == '\n' || last_log[n - 1] == ' ')) last_log[--n] = '\0';
}

static void log_install(void)
{
    av_log_set_callback(log_capture);
}

static void log_reset(void)
{
    pthread_once(&log_once, log_install);
    last_log[0] = '\0';
}

/* " (FFmpeg: ...)" or "" */
static const char *log_suffix(char *out, size_t size, int code)
{
    char text[128] = "";
    if (last_log[0]) snprintf(out, size, " (FFmpeg: %s)", last_log);
    else if (code < 0 && av_strerror(code, text, sizeof text) == 0) snprintf(out, size, " (FFmpeg: %s)", text);
    else out[0] = '\0';
    return out;
}

/* An open file with its video decoder. */
typedef struct decoder {
    AVFormatContext *format;
    AVCodecContext *codec;
    AVPacket *packet;
    AVFrame *frame;
    int stream;
    int flushing, finished;
} decoder;

static void decoder_close(decoder *dec)
{
    av_frame_free(&dec->frame);
    av_packet_free(&dec->packet);
    avcodec_free_context(&dec->codec);
    avformat_close_input(&dec->format);
}

static video_problem decoder_open(decoder *dec, const char *path, error *err)
{
    memset(dec, 0, sizeof *dec);
    char why[300];
    log_reset();
    int rc = avformat_open_input(&dec->format, path, NULL, NULL);
    if (rc < 0) {
        video_problem p = rc == AVERROR(EACCES) || rc == AVERROR(EIO) ? VIDEO_UNREADABLE : VIDEO_NOT_VIDEO;
        error_set(err, "%s: %s: no container FFmpeg recognizes%s", path, video_problem_name(p),
                  log_suffix(why, sizeof why, rc));
        return p;
    }
    rc = avformat_find_stream_info(dec->format, NULL);
    if (rc < 0) {
        error_set(err, "%s: not a video: cannot read stream information%s", path, log_suffix(why, sizeof why, rc));
        return VIDEO_NOT_VIDEO;
    }
    dec->stream = av_find_best_stream(dec->format, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (dec->stream < 0) {
        error_set(err, "%s: no video stream (%u stream(s), none of them video)", path, dec->format->nb_streams);
        return VIDEO_NO_STREAM;
    }
    AVCodecParameters *par = dec->format->streams[dec->stream]->codecpar;
    const AVCodec *codec = avcodec_find_decoder(par->codec_id);
    if (!codec) {
        error_set(err, "%s: unknown codec: no decoder for '%s' in this FFmpeg build", path,
                  avcodec_get_name(par->codec_id));
        return VIDEO_UNKNOWN_CODEC;
    }
    for (unsigned i = 0; i < dec->format->nb_streams; i++)
        if ((int)i != dec->stream) dec->format->streams[i]->discard = AVDISCARD_ALL;
    dec->codec = avcodec_alloc_context3(codec);
    dec->packet = av_packet_alloc();
    dec->frame = av_frame_alloc();
    if (!dec->codec || !dec->packet || !dec->frame) {
        error_set(err, "%s: out of memory opening the decoder", path);
        return VIDEO_UNREADABLE;
    }
    dec->codec->thread_count = 1; /* see video.h: parallel across files, not within one */
    if ((rc = avcodec_parameters_to_context(dec->codec, par)) < 0 || (rc = avcodec_open2(dec->codec, codec, NULL)) < 0) {
        error_set(err, "%s: unknown codec: the '%s' decoder does not open%s", path, codec->name,
                  log_suffix(why, sizeof why, rc));
        return VIDEO_UNKNOWN_CODEC;
    }
    return VIDEO_OK;
}

/* The next decoded frame into dec->frame: 1, 0 at the end of the stream,
 * or a negative FFmpeg error. */
static int decoder_next(decoder *dec)
{
    for (;;) {
        int rc = avcodec_receive_frame(dec->codec, dec->frame);
        if (rc == 0) return 1;
        if (rc == AVERROR_EOF) return 0;
        if (rc != AVERROR(EAGAIN)) return rc;
        if (dec->flushing) return 0;
        rc = av_read_frame(dec->format, dec->packet);
        if (rc < 0) {
            /* End of file, or a read error on a damaged tail: drain what the
             * decoder holds, then stop. */
            dec->flushing = 1;
            dec->finished = rc != AVERROR_EOF ? rc : 0;
            if (avcodec_send_packet(dec->codec, NULL) < 0) return 0;
            continue;
        }
        if (dec->packet->stream_index != dec->stream) {
            av_packet_unref(dec->packet);
            continue;
        }
        rc = avcodec_send_packet(dec->codec, dec->packet);
        av_packet_unref(dec->packet);
        if (rc < 0 && rc != AVERROR(EAGAIN)) return rc;
    }
}

/* Growable list of packet timestamps, for the seekability check. */
typedef struct pts_list {
    int64_t *items;
    long count, capacity;
    int broken; /* a packet without pts, or out of memory */
} pts_list;

static void pts_push(pts_list *l, int64_t pts)
{
    if (pts == AV_NOPTS_VALUE) l->broken = 1;
    if (l->broken) return;
    if (l->count == l->capacity) {
        long cap = l->capacity ? 2 * l->capacity : 256;
        int64_t *grown = realloc(l->items, (size_t)cap * sizeof *grown);
        if (!grown) {
            l->broken = 1;
            return;
        }
        l->items = grown;
        l->capacity = cap;
    }
    l->items[l->count++] = pts;
}

static int compare_pts(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Seekable when the sorted timestamps step by one frame duration exactly. */
static void seekability_check(pts_list *l, const AVStream *s, video_info *info)
{
    info->seekable = 0;
    AVRational rate = s->avg_frame_rate.num > 0 ? s->avg_frame_rate : s->r_frame_rate;
    if (l->broken || l->count < 2 || rate.num <= 0 || rate.den <= 0) return;
    int64_t step = av_rescale_q(1, av_inv_q(rate), s->time_base);
    if (step <= 0 || av_cmp_q(av_mul_q(av_make_q((int)step, 1), av_mul_q(s->time_base, rate)), av_make_q(1, 1)) != 0)
        return; /* the frame duration is not a whole number of ticks */
    qsort(l->items, (size_t)l->count, sizeof *l->items, compare_pts);
    for (long k = 1; k < l->count; k++)
        if (l->items[k] - l->items[k - 1] != step) return;
    info->seekable = 1;
    info->first_pts = l->items[0];
    info->frame_pts = step;
}

/* Demuxes the whole file counting video packets, and decodes only until
 * the first frame comes out: reading every packet is fast, decoding all of
 * them would make opening a dataset as slow as an epoch.  Returns the
 * packet count; *first is 1 once a frame decoded, or a negative error. */
static long packets_count(decoder *dec, int *first, pts_list *pts)
{
    long n = 0;
    *first = 0;
    while (av_read_frame(dec->format, dec->packet) >= 0) {
        if (dec->packet->stream_index == dec->stream) {
            n++;
            pts_push(pts, dec->packet->pts);
            if (*first == 0 && avcodec_send_packet(dec->codec, dec->packet) >= 0 &&
                avcodec_receive_frame(dec->codec, dec->frame) == 0)
                *first = 1;
        }
        av_packet_unref(dec->packet);
    }
    if (*first == 0 && avcodec_send_packet(dec->codec, NULL) >= 0) {
        int rc = avcodec_receive_frame(dec->codec, dec->frame);
        *first = rc == 0 ? 1 : rc == AVERROR_EOF ? 0 : rc;
    }
    return n;
}

static video_problem file_check(const char *path, error *err)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        error_set(err, "%s: unreadable: %s", path, strerror(errno));
        return VIDEO_UNREADABLE;
    }
    if (!S_ISREG(st.st_mode)) {
        error_set(err, "%s: not a video: not a regular file", path);
        return VIDEO_NOT_VIDEO;
    }
    if (st.st_size == 0) {
        error_set(err, "%s: zero bytes: the file is empty", path);
        return VIDEO_ZERO_BYTES;
    }
    return VIDEO_OK;
}

static void info_fill(const decoder *dec, long frames, video_info *info)
{
    const AVStream *s = dec->format->streams[dec->stream];
    memset(info, 0, sizeof *info);
    info->width = s->codecpar->width;
    info->height = s->codecpar->height;
    info->frames = frames;
    AVRational r = s->avg_frame_rate.num > 0 ? s->avg_frame_rate : s->r_frame_rate;
    info->fps = r.num > 0 && r.den > 0 ? av_q2d(r) : 0.0;
    if (info->fps > 0) info->seconds = (double)frames / info->fps;
    else if (dec->format->duration > 0) info->seconds = dec->format->duration / (double)AV_TIME_BASE;
    snprintf(info->codec, sizeof info->codec, "%s", avcodec_get_name(s->codecpar->codec_id));
}

video_problem video_probe(const char *path, video_info *info, error *err)
{
    memset(info, 0, sizeof *info);
    video_problem p = file_check(path, err);
    if (p != VIDEO_OK) return p;
    decoder dec;
    p = decoder_open(&dec, path, err);
    if (p == VIDEO_OK) {
        char why[300];
        int64_t promised = dec.format->streams[dec.stream]->nb_frames;
        int first = 0;
        pts_list pts = {0};
        long frames = packets_count(&dec, &first, &pts);
        info_fill(&dec, frames, info);
        seekability_check(&pts, dec.format->streams[dec.stream], info);
        free(pts.items);
        if (first <= 0) {
            p = first == 0 ? VIDEO_TRUNCATED : VIDEO_UNDECODABLE;
            error_set(err, "%s: %s: %s (%ld video packets)%s", path, video_problem_name(p),
                      first == 0 ? "not a single frame decodes" : "the first frame does not decode", frames,
                      log_suffix(why, sizeof why, first));
        } else if (promised > 0 && frames < promised) {
            p = VIDEO_TRUNCATED;
            error_set(err, "%s: truncated: the header promises %lld frames but the file holds %ld",
                      path, (long long)promised, frames);
        } else if (info->width < VIDEO_MIN_SIDE || info->height < VIDEO_MIN_SIDE) {
            p = VIDEO_TOO_SMALL;
            error_set(err, "%s: too small: %dx%d pixels (expected at least %dx%d)", path, info->width,
                      info->height, VIDEO_MIN_SIDE, VIDEO_MIN_SIDE);
        }
    }
    decoder_close(&dec);
    return p;
}

/* Resizes one decoded frame and copies the crop window out as floats. */
static int frame_convert(struct SwsContext **sws, const AVFrame *f, const video_request *req, uint8_t *scratch,
                         float *out)
{
    enum AVPixelFormat dst = req->channels == 1 ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_RGB24;
    /* Bilinear, as C3D's resize; accurate rounding and full chroma
     * interpolation so the result does not depend on swscale's fast paths
     * (an identity resize of an RGB source is then exact). */
    *sws = sws_getCachedContext(*sws, f->width, f->height, f->format, req->resize_w, req->resize_h, dst,
                                SWS_BILINEAR | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_FULL_CHR_H_INP,
                                NULL, NULL, NULL);
    if (!*sws) return -1;
    uint8_t *planes[4] = {scratch, NULL, NULL, NULL};
    int strides[4] = {req->resize_w * req->channels, 0, 0, 0};
    if (sws_scale(*sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, planes, strides) != req->resize_h)
        return -1;
    int c = req->channels;
    for (int y = 0; y < req->crop_h; y++) {
        const uint8_t *row = scratch + ((size_t)(req->crop_y + y) * req->resize_w + req->crop_x) * c;
        float *o = out + (size_t)y * req->crop_w * c;
        for (int i = 0; i < req->crop_w * c; i++) o[i] = (float)row[i];
    }
    return 0;
}

static int request_check(const char *path, const video_request *req, error *err)
{
    if (req->count < 1 || (req->channels != 1 && req->channels != 3) || req->resize_h < 1 || req->resize_w < 1 ||
        req->crop_y < 0 || req->crop_x < 0 || req->crop_h < 1 || req->crop_w < 1 ||
        req->crop_y + req->crop_h > req->resize_h || req->crop_x + req->crop_w > req->resize_w)
        return error_set(err, "%s: bad frame request (%d frames, resize %dx%d, crop %dx%d at %d,%d, %d channels)",
                         path, req->count, req->resize_h, req->resize_w, req->crop_h, req->crop_w, req->crop_y,
                         req->crop_x, req->channels);
    for (int i = 0; i < req->count; i++)
        if (req->frames[i] < 0) return error_set(err, "%s: negative frame index %d", path, req->frames[i]);
    return 0;
}

/* Copies the decoded frame into every request slot that asks for `index`
 * (converted once, then copied). */
static int frame_deliver(const char *path, decoder *dec, struct SwsContext **sws, const video_request *req,
                         uint8_t *scratch, long index, float *out, error *err)
{
    size_t frame_values = (size_t)req->crop_h * req->crop_w * req->channels;
    int converted = 0;
    for (int i = 0; i < req->count; i++) {
        if (req->frames[i] != index) continue;
        float *slot = out + (size_t)i * frame_values;
        if (converted) {
            memcpy(slot, out + (size_t)(converted - 1) * frame_values, frame_values * sizeof *slot);
            continue;
        }
        if (frame_convert(sws, dec->frame, req, scratch, slot) < 0)
            return error_set(err, "%s: frame %ld: cannot convert %dx%d %s to %dx%d", path, index, dec->frame->width,
                             dec->frame->height, av_get_pix_fmt_name(dec->frame->format), req->resize_h,
                             req->resize_w);
        converted = i + 1;
    }
    return 0;
}

/* Seeks to the keyframe at or before frame `first`; 1 when decoded frames
 * are then to be indexed by their timestamps.  Below VIDEO_SEEK_MIN frames
 * decoding from the start costs less than a seek. */
#define VIDEO_SEEK_MIN 12
static int seek_start(decoder *dec, const video_request *req, int first)
{
    const video_info *v = req->seek;
    if (!v || !v->seekable || first < VIDEO_SEEK_MIN) return 0;
    if (av_seek_frame(dec->format, dec->stream, v->first_pts + (int64_t)first * v->frame_pts, AVSEEK_FLAG_BACKWARD) < 0)
        return 0;
    avcodec_flush_buffers(dec->codec);
    return 1;
}

/* The index of the decoded frame from its timestamp; -1 when it has none
 * or it is not on the frame grid the probe saw. */
static long frame_index(const decoder *dec, const video_info *v)
{
    int64_t pts = dec->frame->pts != AV_NOPTS_VALUE ? dec->frame->pts : dec->frame->best_effort_timestamp;
    if (pts == AV_NOPTS_VALUE || pts < v->first_pts || (pts - v->first_pts) % v->frame_pts) return -1;
    return (long)((pts - v->first_pts) / v->frame_pts);
}

int video_read(const char *path, const video_request *req, float *out, long *decoded, error *err)
{
    *decoded = 0;
    if (request_check(path, req, err) < 0) return -1;
    int first = req->frames[0], last = 0;
    for (int i = 0; i < req->count; i++) {
        last = req->frames[i] > last ? req->frames[i] : last;
        first = req->frames[i] < first ? req->frames[i] : first;
    }
    decoder dec;
    if (decoder_open(&dec, path, err) != VIDEO_OK) {
        decoder_close(&dec);
        return -1;
    }
    uint8_t *scratch = av_malloc((size_t)req->resize_h * req->resize_w * req->channels);
    struct SwsContext *sws = NULL;
    int status = scratch ? 0 : error_set(err, "%s: out of memory for a %dx%d frame", path, req->resize_h, req->resize_w);
    int by_pts = status == 0 && seek_start(&dec, req, first);
    char why[300];
    for (long next = 0; status == 0 && next <= last;) {
        int rc = decoder_next(&dec);
        if (rc <= 0) {
            status = error_set(err, "%s: decoding stopped at frame %ld (needed up to frame %d)%s", path, next, last,
                               log_suffix(why, sizeof why, rc < 0 ? rc : dec.finished));
            break;
        }
        long index = by_pts ? frame_index(&dec, req->seek) : next;
        if (by_pts && (index < 0 || (next == 0 && index > first))) {
            /* Off the grid, or the seek landed past the first frame wanted:
             * start again from the beginning, counting frames. */
            av_frame_unref(dec.frame);
            decoder_close(&dec);
            by_pts = 0;
            next = 0;
            if (decoder_open(&dec, path, err) != VIDEO_OK) status = -1;
            continue;
        }
        if (index >= next) {
            status = frame_deliver(path, &dec, &sws, req, scratch, index, out, err);
            next = index + 1;
            if (status == 0) *decoded = next;
        }
        av_frame_unref(dec.frame);
    }
    sws_freeContext(sws);
    av_free(scratch);
    decoder_close(&dec);
    return status;
}
