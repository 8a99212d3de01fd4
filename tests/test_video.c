/* test_video.c: video datasets through FFmpeg.  The program makes its own
 * videos: lossless ones through libavcodec (FFV1 in .mkv, rawvideo in .avi)
 * whose every pixel is a known function of (frame, row, column, channel),
 * so decode, resize, crop and frame selection are checked exactly; lossy
 * MPEG-4 .avi and H.264 .mp4 through the ffmpeg command; a UCF101-style
 * tree with split files; and the bad files (truncated, zero bytes, text
 * named .avi, audio only, unknown codec, 1x1, short, odd and mixed sizes).
 * Everything lives in a fresh temporary directory removed at the end. */
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>
#include <stdint.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "clip_origin.h"
#include "dataset.h"
#include "test_db.h"
#include "test_util.h"
#include "video.h"
#include "video_index.h"
#include "video_source.h"

static char root[256];
/* Added to the frame index by video_make, so each test video of a tree
 * holds different frames and a clip can be traced to its file. */
static int pattern_shift;

/* The lossless test pattern: distinct along every axis, and the frame
 * index readable from any pixel (t * 7 mod 256 at y = x = c = 0). */
static uint8_t pattern(int t, int y, int x, int c)
{
    return (uint8_t)((t * 7 + y * 3 + x * 5 + c * 85) & 255);
}

static void path_make(char *out, size_t size, const char *format, ...) __attribute__((format(printf, 3, 4)));
static void path_make(char *out, size_t size, const char *format, ...)
{
    char rel[512];
    va_list ap;
    va_start(ap, format);
    vsnprintf(rel, sizeof rel, format, ap);
    va_end(ap);
    snprintf(out, size, "%s/%s", root, rel);
}

static void mkdirs(const char *rel)
{
    char path[1024];
    path_make(path, sizeof path, "%s", rel);
    if (test_make_dirs(path)) fprintf(stderr, "mkdir -p %s failed\n", path);
}

static void file_write(const char *rel, const void *bytes, size_t n)
{
    char path[1024];
    path_make(path, sizeof path, "%s", rel);
    if (test_write_file(path, bytes, n)) fprintf(stderr, "writing %s failed\n", path);
}

static int encode_send(AVFormatContext *oc, AVCodecContext *cc, AVStream *st, AVFrame *frame, AVPacket *pkt)
{
    if (avcodec_send_frame(cc, frame) < 0) return -1;
    while (avcodec_receive_packet(cc, pkt) == 0) {
        av_packet_rescale_ts(pkt, cc->time_base, st->time_base);
        pkt->stream_index = st->index;
        if (av_interleaved_write_frame(oc, pkt) < 0) return -1;
    }
    return 0;
}

/* Writes `frames` frames of the pattern (offset by `shift` frames) as a
 * lossless video; the container follows the extension.  FFV1 stores bgr0,
 * rawvideo bgr24: both decode back to exactly the bytes written. */
static int video_make(const char *rel, enum AVCodecID id, int w, int h, int frames, int fps)
{
    char path[1024];
    path_make(path, sizeof path, "%s", rel);
    AVFormatContext *oc = NULL;
    if (avformat_alloc_output_context2(&oc, NULL, NULL, path) < 0) return -1;
    const AVCodec *codec = avcodec_find_encoder(id);
    AVStream *st = avformat_new_stream(oc, NULL);
    AVCodecContext *cc = avcodec_alloc_context3(codec);
    enum AVPixelFormat fmt = id == AV_CODEC_ID_FFV1 ? AV_PIX_FMT_BGR0 : AV_PIX_FMT_BGR24;
    cc->width = w;
    cc->height = h;
    cc->pix_fmt = fmt;
    cc->time_base = (AVRational){1, fps};
    st->time_base = cc->time_base;
    st->avg_frame_rate = (AVRational){fps, 1};
    if (oc->oformat->flags & AVFMT_GLOBALHEADER) cc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    int status = avcodec_open2(cc, codec, NULL) < 0 || avcodec_parameters_from_context(st->codecpar, cc) < 0 ||
                 avio_open(&oc->pb, path, AVIO_FLAG_WRITE) < 0 || avformat_write_header(oc, NULL) < 0 ? -1 : 0;
    AVFrame *frame = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    frame->width = w;
    frame->height = h;
    frame->format = fmt;
    if (status == 0) status = av_frame_get_buffer(frame, 0);
    int bpp = fmt == AV_PIX_FMT_BGR0 ? 4 : 3;
    for (int t = 0; status == 0 && t < frames; t++) {
        if (av_frame_make_writable(frame) < 0) { status = -1; break; }
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                uint8_t *p = frame->data[0] + y * frame->linesize[0] + x * bpp;
                p[0] = pattern(t + pattern_shift, y, x, 2), p[1] = pattern(t + pattern_shift, y, x, 1),
                p[2] = pattern(t + pattern_shift, y, x, 0);
                if (bpp == 4) p[3] = 0;
            }
        frame->pts = t;
        status = encode_send(oc, cc, st, frame, pkt);
    }
    if (status == 0) status = encode_send(oc, cc, st, NULL, pkt);
    if (status == 0) status = av_write_trailer(oc) < 0 ? -1 : 0;
    av_packet_free(&pkt);
    av_frame_free(&frame);
    avcodec_free_context(&cc);
    if (oc->pb) avio_closep(&oc->pb);
    avformat_free_context(oc);
    return status;
}

/* The ffmpeg command, quiet, stdin closed; 0 on success. */
static int ffmpeg_run(const char *args)
{
    char command[2048];
    snprintf(command, sizeof command, "cd '%s' && ffmpeg -nostdin -hide_banner -loglevel error -y %s </dev/null",
             root, args);
    return system(command) == 0 ? 0 : -1;
}

static long file_size(const char *rel)
{
    char path[1024];
    path_make(path, sizeof path, "%s", rel);
    return test_file_size(path);
}

static void file_truncate(const char *rel, long size)
{
    char path[1024];
    path_make(path, sizeof path, "%s", rel);
    if (truncate(path, size) != 0) fprintf(stderr, "truncate %s failed\n", path);
}

/* ---- one file: probe and exact decode --------------------------------------- */

/* Reads frames through video_read at identity size and compares every
 * value with the pattern. */
static int exact_mismatches(const char *rel, int w, int h, const int *frames, int count, int cy, int cx, int ch,
                            int cw)
{
    char path[1024];
    path_make(path, sizeof path, "%s", rel);
    float *out = malloc((size_t)count * ch * cw * 3 * sizeof *out);
    video_request req = {.frames = frames, .count = count, .resize_h = h, .resize_w = w, .crop_y = cy,
                         .crop_x = cx, .crop_h = ch, .crop_w = cw, .channels = 3};
    long decoded = 0;
    error err;
    int bad = 0;
    if (video_read(path, &req, out, &decoded, &err) < 0) {
        fprintf(stderr, "video_read %s: %s\n", rel, err.message);
        bad = -1;
    }
    for (int i = 0; bad >= 0 && i < count; i++)
        for (int y = 0; y < ch; y++)
            for (int x = 0; x < cw; x++)
                for (int c = 0; c < 3; c++)
                    bad += out[(((size_t)i * ch + y) * cw + x) * 3 + c] != pattern(frames[i], cy + y, cx + x, c);
    free(out);
    return bad;
}

static void test_lossless(void)
{
    CHECK(video_make("ffv1.mkv", AV_CODEC_ID_FFV1, 48, 36, 20, 25) == 0, "encode ffv1.mkv");
    CHECK(video_make("raw.avi", AV_CODEC_ID_RAWVIDEO, 33, 27, 12, 30) == 0, "encode raw.avi (odd size)");
    char path[1024];
    video_info info;
    error err;
    path_make(path, sizeof path, "ffv1.mkv");
    video_problem p = video_probe(path, &info, &err);
    CHECK(p == VIDEO_OK, "probe ffv1.mkv: %s", p ? err.message : "");
    CHECK(info.width == 48 && info.height == 36 && info.frames == 20 && fabs(info.fps - 25.0) < 1e-9,
          "ffv1.mkv probed as %dx%d, %ld frames, %.3f fps (expected 48x36, 20, 25)", info.width, info.height,
          info.frames, info.fps);
    CHECK(fabs(info.seconds - 0.8) < 1e-9 && strcmp(info.codec, "ffv1") == 0, "duration %.3f s codec %s",
          info.seconds, info.codec);
    path_make(path, sizeof path, "raw.avi");
    p = video_probe(path, &info, &err);
    CHECK(p == VIDEO_OK && info.width == 33 && info.height == 27 && info.frames == 12,
          "raw.avi: %s %dx%d %ld", video_problem_name(p), info.width, info.height, info.frames);

    /* Whole frames, out of order and repeated: decode order and selection. */
    int frames[] = {19, 0, 7, 7, 3};
    CHECK(exact_mismatches("ffv1.mkv", 48, 36, frames, 5, 0, 0, 36, 48) == 0, "ffv1 full frames differ");
    /* A crop window: rows and columns land where they belong. */
    CHECK(exact_mismatches("ffv1.mkv", 48, 36, frames, 5, 5, 11, 20, 30) == 0, "ffv1 crop differs");
    int raw_frames[] = {1, 11, 4};
    CHECK(exact_mismatches("raw.avi", 33, 27, raw_frames, 3, 3, 2, 17, 29) == 0, "rawvideo crop differs");

    /* A frame past the end: -1, and how many frames did decode. */
    int beyond[] = {2, 25};
    float out[2 * 4 * 4 * 3];
    video_request req = {.frames = beyond, .count = 2, .resize_h = 36, .resize_w = 48, .crop_h = 4, .crop_w = 4,
                         .channels = 3};
    long decoded = 0;
    path_make(path, sizeof path, "ffv1.mkv");
    CHECK(video_read(path, &req, out, &decoded, &err) == -1 && decoded == 20 && strstr(err.message, "frame 20"),
          "read past the end: decoded %ld, '%s'", decoded, err.message);
}

/* Resizing: a constant frame stays exactly constant at any size (the
 * filter taps sum to one in fixed point), and a left/right split keeps its
 * sides where they were (no transpose, no flip); values near the edge are
 * a blend, so only columns two source pixels away are compared. */
static void test_resize(void)
{
    CHECK(ffmpeg_run("-f lavfi -i color=c=0x503214:size=40x30:rate=10 -frames:v 3 -c:v ffv1 -pix_fmt bgr0 "
                     "flat.mkv") == 0, "ffmpeg flat.mkv");
    char path[1024];
    path_make(path, sizeof path, "flat.mkv");
    int frames[] = {0, 2};
    enum { RH = 50, RW = 71 };
    float *out = malloc(2 * RH * RW * 3 * sizeof *out);
    video_request req = {.frames = frames, .count = 2, .resize_h = RH, .resize_w = RW, .crop_h = RH, .crop_w = RW,
                         .channels = 3};
    long decoded;
    error err;
    /* The stored colour, read at identity size (what lavfi's colour
     * conversion made of 0x503214 is not our business). */
    float want[3] = {-1, -1, -1};
    video_request identity = {.frames = frames, .count = 1, .resize_h = 30, .resize_w = 40, .crop_h = 1,
                              .crop_w = 1, .channels = 3};
    CHECK(video_read(path, &identity, want, &decoded, &err) == 0, "flat identity: %s", err.message);
    int ok = video_read(path, &req, out, &decoded, &err) == 0;
    CHECK(ok, "resize flat: %s", err.message);
    int bad = 0;
    for (int i = 0; ok && i < 2 * RH * RW; i++)
        for (int c = 0; c < 3; c++) bad += out[i * 3 + c] != want[c];
    CHECK(bad == 0, "a constant 40x30 frame resized to 71x50 changed in %d values", bad);
    /* Luma of a constant frame is constant too. */
    req.channels = 1;
    ok = video_read(path, &req, out, &decoded, &err) == 0;
    int spread = 0;
    for (int i = 1; ok && i < 2 * RH * RW; i++) spread += out[i] != out[0];
    CHECK(ok && spread == 0 && out[0] > want[2] && out[0] < want[0], "luma of a constant frame: %d differ, %.0f", spread,
          ok ? out[0] : -1.0f);

    CHECK(ffmpeg_run("-f lavfi -i color=c=black:size=20x30:rate=10 -f lavfi -i color=c=white:size=20x30:rate=10 "
                     "-filter_complex hstack -frames:v 3 -c:v ffv1 -pix_fmt bgr0 split.mkv") == 0, "ffmpeg split.mkv");
    path_make(path, sizeof path, "split.mkv");
    req.channels = 3;
    req.resize_h = 45;
    req.resize_w = 60; /* 40 -> 60 columns: the edge at 30 */
    req.crop_h = 45;
    req.crop_w = 60;
    ok = video_read(path, &req, out, &decoded, &err) == 0;
    int wrong = 0;
    for (int y = 0; ok && y < 45; y++)
        for (int x = 0; x < 60; x++) {
            if (x >= 27 && x < 33) continue;
            float v = out[((size_t)y * 60 + x) * 3], expect = x < 30 ? 0.0f : 255.0f;
            wrong += fabsf(v - expect) > 0.5f;
        }
    CHECK(ok && wrong == 0, "black|white resized: %d pixels away from the edge are not black/white", wrong);
    free(out);
}

/* ---- lossy files and bad files ------------------------------------------------- */

/* Lossy MPEG-4 .avi and H.264 .mp4 of ffmpeg's test source, 320x240 at
 * 25 fps like UCF101: they probe right, and decode close to a lossless
 * encoding of the same source (mean |difference| below 12 of 255: a
 * generous bound for q=4 MPEG-4 / crf 23 H.264, far below the ~60 of
 * unrelated frames). */
static void test_lossy(void)
{
    CHECK(ffmpeg_run("-f lavfi -i testsrc=size=320x240:rate=25 -frames:v 30 -c:v mpeg4 -q:v 4 lossy.avi") == 0,
          "ffmpeg mpeg4");
    int h264 = ffmpeg_run("-f lavfi -i testsrc=size=320x240:rate=25 -frames:v 30 -c:v libx264 -pix_fmt yuv420p "
                          "-crf 23 lossy.mp4") == 0;
    CHECK(h264, "ffmpeg libx264");
    CHECK(ffmpeg_run("-f lavfi -i testsrc=size=320x240:rate=25 -frames:v 30 -c:v ffv1 -pix_fmt bgr0 truth.mkv") == 0,
          "ffmpeg ffv1 truth");
    const char *names[] = {"lossy.avi", "lossy.mp4"};
    const char *codecs[] = {"mpeg4", "h264"};
    enum { H = 60, W = 80 };
    int frames[] = {0, 13, 29};
    float *truth = malloc(3 * H * W * 3 * sizeof *truth), *got = malloc(3 * H * W * 3 * sizeof *got);
    video_request req = {.frames = frames, .count = 3, .resize_h = 120, .resize_w = 160, .crop_y = 30,
                         .crop_x = 40, .crop_h = H, .crop_w = W, .channels = 3};
    char path[1024];
    long decoded;
    error err;
    path_make(path, sizeof path, "truth.mkv");
    CHECK(video_read(path, &req, truth, &decoded, &err) == 0, "truth: %s", err.message);
    for (int k = 0; k < 2; k++) {
        video_info info;
        path_make(path, sizeof path, "%s", names[k]);
        video_problem p = video_probe(path, &info, &err);
        CHECK(p == VIDEO_OK && info.width == 320 && info.height == 240 && info.frames == 30 &&
                  fabs(info.fps - 25.0) < 1e-6 && strcmp(info.codec, codecs[k]) == 0,
              "%s: %s %dx%d %ld frames %.2f fps %s", names[k], p ? err.message : "ok", info.width, info.height,
              info.frames, info.fps, info.codec);
        int ok = video_read(path, &req, got, &decoded, &err) == 0;
        CHECK(ok, "%s: %s", names[k], err.message);
        double diff = 0;
        for (int i = 0; ok && i < 3 * H * W * 3; i++) diff += fabs(got[i] - truth[i]);
        diff /= 3 * H * W * 3;
        CHECK(ok && diff < 12.0, "%s decodes %.2f away from the lossless frames on average", names[k], diff);
    }
    free(truth);
    free(got);
}

/* Seeking to the keyframe before the first wanted frame gives exactly the
 * frames of decoding from the start, for GOPs of 10 frames with B-frames
 * (H.264), without (MPEG-4) and all-intra (FFV1). */
static void test_seek(void)
{
    CHECK(ffmpeg_run("-f lavfi -i testsrc=size=96x72:rate=25 -frames:v 100 -c:v mpeg4 -g 10 gop.avi") == 0, "gop.avi");
    CHECK(ffmpeg_run("-f lavfi -i testsrc2=size=96x72:rate=25 -frames:v 100 -c:v libx264 -g 10 -bf 2 -pix_fmt yuv420p "
                     "gop.mp4") == 0, "gop.mp4");
    CHECK(video_make("gop.mkv", AV_CODEC_ID_FFV1, 48, 36, 100, 25) == 0, "gop.mkv");
    const char *names[] = {"gop.avi", "gop.mp4", "gop.mkv"};
    int frames[] = {47, 13, 40, 41, 99, 40, 63};
    enum { N = 7, VALUES = 7 * 72 * 96 * 3 };
    float *a = malloc(VALUES * sizeof *a), *b = malloc(VALUES * sizeof *b);
    for (int k = 0; k < 3; k++) {
        char path[1024];
        video_info info;
        error err;
        path_make(path, sizeof path, "%s", names[k]);
        video_problem p = video_probe(path, &info, &err);
        CHECK(p == VIDEO_OK && info.frames == 100 && info.seekable, "%s: %s, %ld frames, seekable %d", names[k],
              video_problem_name(p), info.frames, info.seekable);
        int h = k == 2 ? 36 : 72, w = k == 2 ? 48 : 96;
        video_request req = {.frames = frames, .count = N, .resize_h = h, .resize_w = w, .crop_h = h, .crop_w = w,
                             .channels = 3};
        long da = 0, db = 0;
        int ra = video_read(path, &req, a, &da, &err);
        req.seek = &info;
        int rb = video_read(path, &req, b, &db, &err);
        CHECK(ra == 0 && rb == 0 && da == 100 && db == 100, "%s: reads %d %d decoded %ld %ld: %s", names[k], ra, rb,
              da, db, err.message);
        CHECK(memcmp(a, b, (size_t)N * h * w * 3 * sizeof *a) == 0, "%s: seeking changed the frames", names[k]);
        if (k == 2) CHECK(exact_mismatches("gop.mkv", 48, 36, frames, N, 0, 0, 36, 48) == 0, "gop.mkv pattern");
    }
    free(a);
    free(b);
}

static void expect_problem(const char *rel, video_problem want, const char *fragment)
{
    char path[1024];
    video_info info;
    error err = {{0}};
    path_make(path, sizeof path, "%s", rel);
    video_problem p = video_probe(path, &info, &err);
    CHECK(p == want, "%s: probed as '%s' (expected '%s'): %s", rel, video_problem_name(p), video_problem_name(want),
          err.message);
    CHECK(p == VIDEO_OK || (strstr(err.message, rel) && strstr(err.message, fragment)),
          "%s: message '%s' lacks the file or '%s'", rel, err.message, fragment);
}

/* Replaces the 4 bytes of every occurrence of `from` in a file by `to`. */
static int bytes_patch(const char *rel, const char *from, const char *to)
{
    char path[1024];
    path_make(path, sizeof path, "%s", rel);
    FILE *f = fopen(path, "r+b");
    if (!f) return -1;
    static unsigned char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    int hits = 0;
    for (size_t i = 0; i + 4 <= n && i < 4096; i++)
        if (memcmp(buf + i, from, 4) == 0) memcpy(buf + i, to, 4), hits++;
    fseek(f, 0, SEEK_SET);
    fwrite(buf, 1, n, f);
    fclose(f);
    return hits;
}

static void test_bad_files(void)
{
    file_write("empty.avi", "", 0);
    expect_problem("empty.avi", VIDEO_ZERO_BYTES, "zero bytes");
    const char *text = "this is not a video, only text that happens to be named .avi\n";
    file_write("text.avi", text, strlen(text));
    expect_problem("text.avi", VIDEO_NOT_VIDEO, "not a video");
    CHECK(ffmpeg_run("-f lavfi -i sine=frequency=440:duration=1 -c:a pcm_s16le audio.avi") == 0, "ffmpeg audio");
    expect_problem("audio.avi", VIDEO_NO_STREAM, "no video stream");
    /* Truncated: the AVI header still promises 30 frames. */
    CHECK(ffmpeg_run("-i lossy.avi -c copy cut.avi") == 0, "copy lossy.avi");
    file_truncate("cut.avi", file_size("cut.avi") / 2);
    expect_problem("cut.avi", VIDEO_TRUNCATED, "promises 30 frames");
    /* Truncated MP4: the index (moov) is at the end and gone: unusable. */
    CHECK(ffmpeg_run("-i lossy.mp4 -c copy cut.mp4") == 0, "copy lossy.mp4");
    file_truncate("cut.mp4", file_size("cut.mp4") / 2);
    expect_problem("cut.mp4", VIDEO_NOT_VIDEO, "moov atom not found");
    /* An AVI whose codec tag names nothing FFmpeg can decode. */
    CHECK(video_make("alien.avi", AV_CODEC_ID_RAWVIDEO, 16, 16, 3, 10) == 0, "encode alien.avi");
    CHECK(ffmpeg_run("-i lossy.avi -c copy -frames:v 3 alien.avi") == 0, "copy for alien.avi");
    CHECK(bytes_patch("alien.avi", "FMP4", "ZQ9X") > 0, "patch the codec tag");
    expect_problem("alien.avi", VIDEO_UNKNOWN_CODEC, "unknown codec");
    CHECK(video_make("dot.avi", AV_CODEC_ID_RAWVIDEO, 1, 1, 20, 25) == 0, "encode 1x1");
    expect_problem("dot.avi", VIDEO_TOO_SMALL, "1x1 pixels");
    CHECK(video_make("short.mkv", AV_CODEC_ID_FFV1, 40, 30, 5, 25) == 0, "encode short");
    expect_problem("short.mkv", VIDEO_OK, "");
    char path[1024];
    path_make(path, sizeof path, "missing.avi");
    video_info info;
    error err;
    CHECK(video_probe(path, &info, &err) == VIDEO_UNREADABLE && strstr(err.message, "missing.avi"),
          "missing file: %s", err.message);
}

/* ---- datasets ---------------------------------------------------------------------- */

static dataset_config video_config(const char *rel, const video_options *vo, int depth, int size)
{
    static char dir[1024];
    path_make(dir, sizeof dir, "%s", rel);
    dataset_config c = {.source = dir, .clip = {depth, size, size, 3}, .classes = 0, .val_clips = 0,
                        .seed = 1234, .normalize = NORMALIZE_NONE, .video = vo};
    return c;
}

/* tree/: classes "Banana", "apple", "cherry" (code-point order puts the
 * capital first, as Python's sorted()), 48x36 FFV1 videos whose frames are
 * shifted by 40 x their position; cherry/c1.mkv holds only 5 frames. */
static const char *const tree_files[] = {"Banana/b0.mkv", "Banana/sub/b1.mkv", "apple/a0.mkv", "apple/a1.mkv",
                                         "apple/a2.mkv", "cherry/c0.mkv", "cherry/c1.mkv"};
enum { TREE_FILES = sizeof tree_files / sizeof tree_files[0] };

static void tree_make(void)
{
    mkdirs("tree/Banana/sub");
    mkdirs("tree/apple");
    mkdirs("tree/cherry");
    mkdirs("tree/.hidden");
    for (int i = 0; i < TREE_FILES; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "tree/%s", tree_files[i]);
        pattern_shift = 40 * i;
        CHECK(video_make(rel, AV_CODEC_ID_FFV1, 48, 36, i == 6 ? 5 : 30, 25) == 0, "encode %s", rel);
    }
    pattern_shift = 0;
    file_write("tree/apple/notes.txt", "not a video\n", 12);
    CHECK(video_make("tree/.hidden/h.mkv", AV_CODEC_ID_FFV1, 48, 36, 3, 25) == 0, "encode hidden");
}

static int tree_position(const char *path)
{
    for (int i = 0; i < TREE_FILES; i++)
        if (strcmp(path, tree_files[i]) == 0) return i;
    return -1;
}

/* Every value of every clip against the pattern of the file, frames and
 * crop the origin names. */
static int clip_mismatches(const float *clips, const video_clip_origin *o, int count, const int clip[4])
{
    int bad = 0;
    for (int i = 0; i < count; i++) {
        int shift = 40 * tree_position(o[i].path);
        const float *v = clips + (size_t)i * clip[0] * clip[1] * clip[2] * 3;
        for (int t = 0; t < clip[0]; t++) {
            long f = (long)o[i].start + (long)t * o[i].step;
            if (o[i].looped) f %= o[i].video_frames;
            for (int y = 0; y < clip[1]; y++)
                for (int x = 0; x < clip[2]; x++)
                    for (int c = 0; c < 3; c++)
                        bad += *v++ != pattern((int)f + shift, o[i].crop_y + y, o[i].crop_x + x, c);
        }
    }
    return bad;
}

static void test_class_folders(void)
{
    tree_make();
    video_options vo = {.resize = {36, 48}, .frame_step = 2};
    dataset_config c = video_config("tree", &vo, 6, 16);
    dataset *d = NULL;
    error err;
    int ok = dataset_open(&d, &c, &err) == 0;
    CHECK(ok, "open tree: %s", err.message);
    if (!ok) return;
    video_source *vs = dataset_video(d);
    CHECK(vs && video_source_classes(vs) == 3 && dataset_classes(d) == 3, "3 classes");
    CHECK(strcmp(video_source_class_name(vs, 0), "Banana") == 0 && strcmp(video_source_class_name(vs, 1), "apple") == 0 &&
              strcmp(video_source_class_name(vs, 2), "cherry") == 0,
          "class order %s %s %s", video_source_class_name(vs, 0), video_source_class_name(vs, 1),
          video_source_class_name(vs, 2));
    CHECK(dataset_size(d, SPLIT_TRAIN) == TREE_FILES && dataset_size(d, SPLIT_VALIDATION) == 0,
          "sizes %ld/%ld (expected 7/0: no .txt, no hidden)", dataset_size(d, SPLIT_TRAIN),
          dataset_size(d, SPLIT_VALIDATION));
    static const int labels_want[TREE_FILES] = {0, 0, 1, 1, 1, 2, 2};
    int label_bad = 0;
    for (long i = 0; i < TREE_FILES; i++) {
        const char *path;
        int label;
        video_source_video(vs, SPLIT_TRAIN, i, &path, NULL, &label);
        label_bad += strcmp(path, tree_files[i]) != 0 || label != labels_want[i];
    }
    CHECK(label_bad == 0, "%d files out of order or mislabeled", label_bad);
    CHECK(strstr(dataset_describe(d), "3 classes") && strstr(dataset_describe(d), "7 videos"), "describe: %s",
          dataset_describe(d));

    /* Training clips: exact pixels, origins inside the video and the frame,
     * choices that change with the epoch but not with a re-read. */
    long ids[TREE_FILES] = {0, 1, 2, 3, 4, 5, 6};
    int clip[4];
    dataset_clip_shape(d, clip);
    size_t values = (size_t)clip[0] * clip[1] * clip[2] * clip[3];
    float *a = malloc(TREE_FILES * values * sizeof *a), *b = malloc(TREE_FILES * values * sizeof *b);
    video_clip_origin oa[TREE_FILES], ob[TREE_FILES];
    int labels[TREE_FILES];
    CHECK(dataset_read_epoch(d, SPLIT_TRAIN, 1, ids, TREE_FILES, a, labels, oa, &err) == 0, "read: %s", err.message);
    CHECK(clip_mismatches(a, oa, TREE_FILES, clip) == 0, "training clips differ from their files' frames");
    int out_of_range = 0, looped = 0;
    for (int i = 0; i < TREE_FILES; i++) {
        out_of_range += oa[i].start < 0 || (!oa[i].looped && oa[i].start + oa[i].span > oa[i].video_frames) ||
                        oa[i].crop_y < 0 || oa[i].crop_y + 16 > 36 || oa[i].crop_x < 0 || oa[i].crop_x + 16 > 48 ||
                        oa[i].step != 2 || oa[i].span != 11;
        looped += oa[i].looped;
    }
    CHECK(out_of_range == 0, "%d origins out of range", out_of_range);
    CHECK(looped == 1 && oa[6].looped && oa[6].start == 0 && oa[6].video_frames == 5,
          "the 5-frame video loops from frame 0 (looped %d)", looped);
    int differ = 0;
    for (int epoch = 2; epoch <= 4; epoch++) {
        CHECK(dataset_read_epoch(d, SPLIT_TRAIN, epoch, ids, TREE_FILES, b, NULL, ob, &err) == 0, "%s", err.message);
        for (int i = 0; i < 6; i++)
            differ += ob[i].start != oa[i].start || ob[i].crop_y != oa[i].crop_y || ob[i].crop_x != oa[i].crop_x;
    }
    CHECK(differ >= 9, "only %d of 18 clips moved across three more epochs", differ);
    CHECK(dataset_read_epoch(d, SPLIT_TRAIN, 1, ids, TREE_FILES, b, NULL, ob, &err) == 0 &&
              memcmp(a, b, TREE_FILES * values * sizeof *a) == 0,
          "epoch 1 read again differs");

    /* Prefetched, reversed order, one thread: the same clips. */
    long reversed[TREE_FILES];
    for (int i = 0; i < TREE_FILES; i++) reversed[i] = TREE_FILES - 1 - i;
    CHECK(dataset_prefetch(d, SPLIT_TRAIN, 1, reversed, TREE_FILES, &err) == 0, "prefetch: %s", err.message);
    omp_set_num_threads(1);
    CHECK(dataset_read_epoch(d, SPLIT_TRAIN, 1, reversed, TREE_FILES, b, NULL, ob, &err) == 0, "%s", err.message);
    omp_set_num_threads(omp_get_num_procs());
    int prefetched = 0;
    video_source_last_wait(vs, &prefetched);
    CHECK(prefetched, "the prefetched batch was decoded again");
    int same = 1;
    for (int i = 0; i < TREE_FILES; i++)
        same &= memcmp(a + (size_t)(TREE_FILES - 1 - i) * values, b + (size_t)i * values, values * sizeof *a) == 0;
    CHECK(same, "prefetched clips differ from directly read ones");
    /* A prefetch for another batch is discarded, not served. */
    CHECK(dataset_prefetch(d, SPLIT_TRAIN, 2, ids, 3, &err) == 0, "%s", err.message);
    CHECK(dataset_read_epoch(d, SPLIT_TRAIN, 1, ids, 3, b, NULL, NULL, &err) == 0 &&
              memcmp(a, b, 3 * values * sizeof *a) == 0,
          "a mismatched prefetch leaked into the read");
    video_source_last_wait(vs, &prefetched);
    CHECK(!prefetched, "a prefetch of epoch 2 served epoch 1");
    long beyond[] = {TREE_FILES};
    CHECK(dataset_read_epoch(d, SPLIT_TRAIN, 1, beyond, 1, b, NULL, NULL, &err) == -1 && strstr(err.message, "out of range"),
          "id out of range: %s", err.message);
    free(a);
    free(b);
    dataset_close(d);
}

/* Hold-out and the validation rule: centred start and crop, the same in
 * every epoch. */
static void test_validation(void)
{
    video_options vo = {.resize = {36, 48}};
    dataset_config c = video_config("tree", &vo, 4, 16);
    c.val_clips = 2;
    c.normalize = NORMALIZE_SCALE;
    dataset *d = NULL;
    error err;
    int ok = dataset_open(&d, &c, &err) == 0;
    CHECK(ok, "open tree with a hold-out: %s", err.message);
    if (!ok) return;
    CHECK(dataset_size(d, SPLIT_TRAIN) == 5 && dataset_size(d, SPLIT_VALIDATION) == 2, "hold-out sizes %ld/%ld",
          dataset_size(d, SPLIT_TRAIN), dataset_size(d, SPLIT_VALIDATION));
    /* Positions floor((i + 0.5) * 7 / 2) = 1 and 5: Banana/sub/b1 and cherry/c0. */
    const char *p0, *p1;
    video_source_video(dataset_video(d), SPLIT_VALIDATION, 0, &p0, NULL, NULL);
    video_source_video(dataset_video(d), SPLIT_VALIDATION, 1, &p1, NULL, NULL);
    CHECK(strcmp(p0, "Banana/sub/b1.mkv") == 0 && strcmp(p1, "cherry/c0.mkv") == 0, "held out %s, %s", p0, p1);
    long ids[2] = {0, 1};
    int clip[4] = {4, 16, 16, 3};
    float *a = malloc(2 * 4 * 16 * 16 * 3 * sizeof *a), *b = malloc(2 * 4 * 16 * 16 * 3 * sizeof *b);
    video_clip_origin o[2], o2[2];
    CHECK(dataset_read_epoch(d, SPLIT_VALIDATION, 1, ids, 2, a, NULL, o, &err) == 0, "%s", err.message);
    CHECK(dataset_read_epoch(d, SPLIT_VALIDATION, 7, ids, 2, b, NULL, o2, &err) == 0, "%s", err.message);
    CHECK(o[0].start == (30 - 4) / 2 && o[0].crop_y == 10 && o[0].crop_x == 16 && o[0].step == 1,
          "validation origin start %d crop %d,%d (expected 13, 10,16)", o[0].start, o[0].crop_y, o[0].crop_x);
    CHECK(memcmp(a, b, 2 * 4 * 16 * 16 * 3 * sizeof *a) == 0, "validation clips change with the epoch");
    /* --normalize scale applies: undo it and compare with the frames. */
    for (size_t i = 0; i < 2 * 4 * 16 * 16 * 3; i++) a[i] = roundf(a[i] * 255.0f);
    CHECK(clip_mismatches(a, o, 2, clip) == 0, "validation clips differ from their files (after scale)");
    free(a);
    free(b);
    dataset_close(d);
}

/* ucf/: UCF101's archive layout: UCF-101/<Class>/v_<Class>_gGG_cCC.avi and
 * ucfTrainTestlist/{classInd,trainlist01,testlist01}.txt; lossy MPEG-4. */
static void test_ucf_split(void)
{
    static const char *const classes[] = {"ApplyEyeMakeup", "Basketball", "YoYo"};
    mkdirs("ucf/ucfTrainTestlist");
    char index_text[512] = "", train_text[2048] = "", test_text[2048] = "";
    for (int c = 0; c < 3; c++) {
        char dir[256], line[400];
        snprintf(dir, sizeof dir, "ucf/UCF-101/%s", classes[c]);
        mkdirs(dir);
        snprintf(line, sizeof line, "%d %s\r\n", c + 1, classes[c]); /* the real files have CRLF */
        strcat(index_text, line);
        for (int g = 1; g <= 3; g++) {
            char rel[256], args[600];
            snprintf(rel, sizeof rel, "%s/v_%s_g%02d_c01.avi", classes[c], classes[c], g);
            snprintf(args, sizeof args, "-f lavfi -i testsrc=size=64x48:rate=25 -frames:v %d -c:v mpeg4 "
                     "'ucf/UCF-101/%s'", 20 + 3 * g + c, rel);
            CHECK(ffmpeg_run(args) == 0, "ffmpeg %s", rel);
            snprintf(line, sizeof line, g == 1 ? "%s\r\n" : "%s %d\r\n", rel, c + 1);
            strcat(g == 1 ? test_text : train_text, line);
        }
    }
    file_write("ucf/ucfTrainTestlist/classInd.txt", index_text, strlen(index_text));
    file_write("ucf/ucfTrainTestlist/trainlist01.txt", train_text, strlen(train_text));
    file_write("ucf/ucfTrainTestlist/testlist01.txt", test_text, strlen(test_text));
    video_options vo = {.split = 1, .resize = {40, 53}};
    dataset_config c = video_config("ucf", &vo, 8, 32);
    dataset *d = NULL;
    error err;
    int ok = dataset_open(&d, &c, &err) == 0;
    CHECK(ok, "open ucf split 1: %s", err.message);
    if (!ok) return;
    video_source *vs = dataset_video(d);
    CHECK(dataset_size(d, SPLIT_TRAIN) == 6 && dataset_size(d, SPLIT_VALIDATION) == 3, "ucf sizes %ld/%ld",
          dataset_size(d, SPLIT_TRAIN), dataset_size(d, SPLIT_VALIDATION));
    CHECK(strcmp(video_source_layout(vs), "UCF101 split 1") == 0 && strcmp(video_source_class_name(vs, 2), "YoYo") == 0,
          "layout %s", video_source_layout(vs));
    const char *path;
    int label;
    const video_info *info;
    video_source_video(vs, SPLIT_VALIDATION, 2, &path, &info, &label);
    CHECK(strcmp(path, "UCF-101/YoYo/v_YoYo_g01_c01.avi") == 0 && label == 2 && info->frames == 25,
          "test list entry 2: %s label %d, %ld frames", path, label, info->frames);
    video_source_video(vs, SPLIT_TRAIN, 1, &path, &info, &label);
    CHECK(strcmp(path, "UCF-101/ApplyEyeMakeup/v_ApplyEyeMakeup_g03_c01.avi") == 0 && label == 0, "%s %d", path,
          label);
    long ids[] = {0, 5, 3};
    float *clips = malloc(3 * 8 * 32 * 32 * 3 * sizeof *clips);
    int labels[3];
    CHECK(dataset_read_epoch(d, SPLIT_TRAIN, 1, ids, 3, clips, labels, NULL, &err) == 0 && labels[1] == 2,
          "ucf read: %s", err.message);
    dataset_close(d);
    /* Split 2 does not exist here: the message names the missing list. */
    vo.split = 2;
    CHECK(dataset_open(&d, &c, &err) == -1 && strstr(err.message, "trainlist02.txt"), "split 2: %s", err.message);
    free(clips);
}

/* Explicit lists with class names, and their errors. */
static void test_lists(void)
{
    const char *train = "Banana/b0.mkv ripe\napple/a0.mkv green\n\n# comment\napple/a1.mkv green\n";
    const char *val = "cherry/c0.mkv ripe\n";
    file_write("tree/train.txt", train, strlen(train));
    file_write("tree/val.txt", val, strlen(val));
    char train_path[1024], val_path[1024];
    path_make(train_path, sizeof train_path, "tree/train.txt");
    path_make(val_path, sizeof val_path, "tree/val.txt");
    video_options vo = {.train_list = train_path, .val_list = val_path, .resize = {36, 48}};
    dataset_config c = video_config("tree", &vo, 4, 16);
    dataset *d = NULL;
    error err;
    int ok = dataset_open(&d, &c, &err) == 0;
    CHECK(ok, "open lists: %s", err.message);
    if (ok) {
        video_source *vs = dataset_video(d);
        int label;
        video_source_video(vs, SPLIT_VALIDATION, 0, NULL, NULL, &label);
        CHECK(video_source_classes(vs) == 2 && strcmp(video_source_class_name(vs, 0), "green") == 0 && label == 1 &&
                  dataset_size(d, SPLIT_TRAIN) == 3,
              "lists: %d classes, val label %d", video_source_classes(vs), label);
        dataset_close(d);
    }
    const char *escape = "../outside.mkv 0\n";
    file_write("tree/bad.txt", escape, strlen(escape));
    path_make(train_path, sizeof train_path, "tree/bad.txt");
    vo.val_list = NULL;
    CHECK(dataset_open(&d, &c, &err) == -1 && strstr(err.message, "bad.txt:1") && strstr(err.message, "relative"),
          "escaping path: %s", err.message);
    c.classes = 5;
    vo.train_list = NULL;
    CHECK(dataset_open(&d, &c, &err) == -1 && strstr(err.message, "--classes 5") && strstr(err.message, "3 classes"),
          "class count mismatch: %s", err.message);
}

static void file_copy(const char *from, const char *to)
{
    char source[1024], target[1024];
    path_make(source, sizeof source, "%s", from);
    path_make(target, sizeof target, "%s", to);
    if (test_copy_file(source, target, -1)) fprintf(stderr, "copy %s failed\n", from);
}

/* mixed/: different resolutions (48x36, odd 33x27, 320x240 H.264, 64x48)
 * resized to one size, and bad files that stop the open unless skipped. */
static void test_mixed_and_bad(void)
{
    mkdirs("mixed/x");
    mkdirs("mixed/y");
    CHECK(video_make("mixed/x/m0.mkv", AV_CODEC_ID_FFV1, 48, 36, 18, 25) == 0, "m0");
    file_copy("raw.avi", "mixed/x/m1.avi");
    file_copy("lossy.mp4", "mixed/x/m2.mp4");
    CHECK(video_make("mixed/y/y0.mkv", AV_CODEC_ID_FFV1, 64, 48, 16, 25) == 0, "y0");
    static const char *const bad[] = {"empty.avi", "text.avi", "audio.avi", "cut.avi", "dot.avi"};
    for (int i = 0; i < 5; i++) {
        char to[64];
        snprintf(to, sizeof to, "mixed/y/%s", bad[i]);
        file_copy(bad[i], to);
    }
    video_options vo = {.resize = {32, 40}};
    dataset_config c = video_config("mixed", &vo, 8, 24);
    dataset *d = NULL;
    error err;
    CHECK(dataset_open(&d, &c, &err) == -1, "a tree with bad videos opened without --skip-bad-videos");
    int named = 0;
    for (int i = 0; i < 5; i++) named += strstr(err.message, bad[i]) != NULL;
    CHECK(named == 5 && strstr(err.message, "5 videos cannot be used") && strstr(err.message, "--skip-bad-videos"),
          "bad-video message names %d of 5: %s", named, err.message);
    vo.skip_bad = 1;
    int ok = dataset_open(&d, &c, &err) == 0;
    CHECK(ok, "open with --skip-bad-videos: %s", err.message);
    if (!ok) return;
    video_source *vs = dataset_video(d);
    CHECK(dataset_size(d, SPLIT_TRAIN) == 4 && video_source_bad_count(vs) == 5, "skip: %ld usable, %ld bad",
          dataset_size(d, SPLIT_TRAIN), video_source_bad_count(vs));
    int reasons = 0;
    for (long i = 0; i < video_source_bad_count(vs); i++) {
        const char *path, *reason;
        video_problem p;
        video_source_bad(vs, i, &path, &p, &reason);
        reasons += p != VIDEO_OK && strncmp(path, "y/", 2) == 0 && strlen(reason) > 5;
    }
    CHECK(reasons == 5, "bad list entries with reasons: %d", reasons);
    long ids[] = {0, 1, 2, 3};
    float *clips = malloc(4 * 8 * 24 * 24 * 3 * sizeof *clips);
    CHECK(dataset_read_epoch(d, SPLIT_TRAIN, 3, ids, 4, clips, NULL, NULL, &err) == 0, "mixed read: %s", err.message);
    int nonfinite = 0;
    for (size_t i = 0; i < 4 * 8 * 24 * 24 * 3; i++) nonfinite += !(clips[i] >= 0.0f && clips[i] <= 255.0f);
    CHECK(nonfinite == 0, "%d values outside 0..255", nonfinite);
    free(clips);
    dataset_close(d);
}

/* A file that probed fine and is cut short afterwards: the documented
 * fallback (the frames that decode, looped) and an event; the grey clip
 * when nothing decodes; never an error, a hang or a crash. */
static void test_mid_run_failure(void)
{
    mkdirs("shrink/a");
    mkdirs("shrink/b");
    pattern_shift = 0;
    CHECK(video_make("shrink/a/long.mkv", AV_CODEC_ID_FFV1, 48, 36, 30, 25) == 0, "long");
    CHECK(video_make("shrink/b/other.mkv", AV_CODEC_ID_FFV1, 48, 36, 30, 25) == 0, "other");
    video_options vo = {.resize = {36, 48}, .frame_step = 3};
    dataset_config c = video_config("shrink", &vo, 8, 16);
    dataset *d = NULL;
    error err;
    if (dataset_open(&d, &c, &err) < 0) {
        CHECK(0, "open shrink: %s", err.message);
        return;
    }
    /* Replace the file by its first 6 frames (rename keeps the open safe). */
    CHECK(video_make("shrink/a/tmp.mkv", AV_CODEC_ID_FFV1, 48, 36, 6, 25) == 0, "short copy");
    char from[1024], to[1024];
    path_make(from, sizeof from, "shrink/a/tmp.mkv");
    path_make(to, sizeof to, "shrink/a/long.mkv");
    CHECK(rename(from, to) == 0, "rename");
    long ids[] = {0};
    float *clip = malloc(8 * 16 * 16 * 3 * sizeof *clip);
    video_clip_origin o;
    CHECK(dataset_read_epoch(d, SPLIT_TRAIN, 1, ids, 1, clip, NULL, &o, &err) == 0, "read after shrink: %s",
          err.message);
    char event[600] = "";
    video_source *vs = dataset_video(d);
    int got = video_source_event_take(vs, event, sizeof event);
    CHECK(got && strstr(event, "long.mkv") && strstr(event, "6 frames instead of 30"), "event: %s", event);
    CHECK(o.fallback == 1 && o.video_frames == 6 && o.looped, "fallback %d frames %ld looped %d", o.fallback,
          o.video_frames, o.looped);
    int bad = 0;
    for (int t = 0; t < 8; t++)
        for (int y = 0; y < 16; y++)
            for (int x = 0; x < 16; x++)
                for (int ch = 0; ch < 3; ch++)
                    bad += clip[(((size_t)t * 16 + y) * 16 + x) * 3 + ch] !=
                           pattern((t * 3) % 6, o.crop_y + y, o.crop_x + x, ch);
    CHECK(bad == 0, "fallback clip is not frames 0,3,0,3,... of the shortened file (%d values)", bad);
    /* Now nothing decodes at all. */
    file_write("shrink/a/long.mkv", "gone", 4);
    CHECK(dataset_read_epoch(d, SPLIT_TRAIN, 2, ids, 1, clip, NULL, &o, &err) == 0, "read after destroy: %s",
          err.message);
    CHECK(o.fallback == 2 && clip[0] == 128.0f && clip[8 * 16 * 16 * 3 - 1] == 128.0f, "grey fallback %d %.0f",
          o.fallback, clip[0]);
    got = video_source_event_take(vs, event, sizeof event);
    CHECK(got && strstr(event, "mid-grey"), "grey event: %s", event);
    CHECK(!video_source_event_take(vs, event, sizeof event), "a third event: %s", event);
    free(clip);
    dataset_close(d);
}


/* ---- the command line: nanprobe data, train on videos, --resume, threads ---------- */

static const char *binary;

#define nanprobe_run(output, size, ...) test_run_args(binary, output, size, __VA_ARGS__)


static void test_cli_data(void)
{
    static char output[65536];
    char tree[1024], sheet[1200], mixed[1024];
    path_make(tree, sizeof tree, "tree");
    path_make(mixed, sizeof mixed, "mixed");
    path_make(sheet, sizeof sheet, "sheet.png");
    int rc = nanprobe_run(output, sizeof output, "data", tree, "--resize", "36x48", "--clip", "6x16x16x3",
                          "--val-clips", "2", "--frame-step", "2", "-o", sheet, "--sheet-clips", "3", "--files",
                          NULL);
    CHECK(rc == 0, "nanprobe data tree: exit %d\n%s", rc, output);
    CHECK(strstr(output, "3 classes") && strstr(output, "Banana") && strstr(output, "48x36 (7)") &&
              strstr(output, "25 fps (7)") && strstr(output, "ffv1 (7)") && strstr(output, "cherry/c1.mkv"),
          "data listing lacks classes, sizes, rates or files:\n%s", output);
    FILE *f = fopen(sheet, "rb");
    unsigned char magic[8] = {0};
    size_t got = f ? fread(magic, 1, 8, f) : 0;
    if (f) fclose(f);
    CHECK(got == 8 && memcmp(magic, "\x89PNG\r\n\x1a\n", 8) == 0, "no contact sheet PNG at %s", sheet);
    rc = nanprobe_run(output, sizeof output, "data", mixed, "--resize", "32x40", "--clip", "8x24x24x3",
                      "--val-clips", "0", "--sheet-clips", "0", NULL);
    CHECK(rc == 1 && strstr(output, "y/empty.avi: zero bytes") && strstr(output, "y/text.avi: not a video") &&
              strstr(output, "y/audio.avi: no video stream") && strstr(output, "y/dot.avi: too small"),
          "data on bad files: exit %d\n%s", rc, output);
    rc = nanprobe_run(output, sizeof output, "data", mixed, "--resize", "32x40", "--clip", "8x24x24x3",
                      "--val-clips", "0", "--sheet-clips", "0", "--skip-bad-videos", NULL);
    CHECK(rc == 0 && strstr(output, "4 usable, 5 bad"), "data --skip-bad-videos: exit %d\n%s", rc, output);
    rc = nanprobe_run(output, sizeof output, "data", tree, "--resize", "8x8", "--clip", "6x16x16x3", NULL);
    CHECK(rc == 1 && strstr(output, "--resize 8x8"), "too small a resize: exit %d\n%s", rc, output);
    rc = nanprobe_run(output, sizeof output, "summary", "--data", tree, "--depth", "18", "--width", "4", NULL);
    CHECK(rc == 0 && strstr(output, "7 videos in 3 classes (class folders") && strstr(output, "3 classes)"),
          "summary --data: exit %d\n%.600s", rc, output);
    rc = nanprobe_run(output, sizeof output, "data", tree, "--resize", "36by48", NULL);
    CHECK(rc == 2 && strstr(output, "--resize"), "bad --resize: exit %d\n%s", rc, output);
}

#define VIDEO_RUN "--data", tree, "--resize", "36x48", "--clip", "6x16x16x3", "--frame-step", "2", "--depth", \
                  "18", "--width", "4", "--batch", "4", "--epochs", "2", "--val-clips", "2", "--no-report", "--quiet"

static void test_cli_train(void)
{
    static char output[65536], a_rows[65536], b_rows[65536];
    char tree[1024], a[1024], b[1024], c[1024], mixed[1024], m[1024];
    path_make(tree, sizeof tree, "tree");
    path_make(a, sizeof a, "run-a");
    path_make(b, sizeof b, "run-b");
    path_make(c, sizeof c, "run-c");
    path_make(mixed, sizeof mixed, "mixed");
    path_make(m, sizeof m, "run-m");
    int rc = nanprobe_run(output, sizeof output, "train", VIDEO_RUN, "--threads", "1", "--out", a, NULL);
    CHECK(rc == 0, "train on videos: exit %d\n%s", rc, output);
    CHECK(test_db_rows(a, "SELECT class_id, name, train_videos, val_videos FROM classes ORDER BY class_id", a_rows,
                  sizeof a_rows) == 3 && strcmp(a_rows, "0|Banana|1|1\n1|apple|3|0\n2|cherry|1|1\n") == 0,
          "classes table:\n%s", a_rows);
    CHECK(test_db_rows(a, "SELECT split, epoch, COUNT(*) FROM clip_origins GROUP BY split, epoch ORDER BY split, epoch",
                  a_rows, sizeof a_rows) == 4 &&
              strcmp(a_rows, "train|1|5\ntrain|2|5\nvalidation|1|2\nvalidation|2|2\n") == 0,
          "clip_origins counts:\n%s", a_rows);
    int joined = test_db_rows(a, "SELECT COUNT(*) FROM input_sample_videos WHERE video LIKE '%.mkv' AND "
                         "last_frame = start_frame + 10 AND frame_step = 2", a_rows, sizeof a_rows);
    CHECK(joined == 1 && strcmp(a_rows, "10\n") == 0, "input_sample_videos rows: %s", a_rows);
    /* What a verdict prints for a clip: file and frame range. */
    char db_path[1200], text[512] = "", want[512];
    test_db_rows(a, "SELECT o.video, o.start_frame, o.last_frame, s.sample_ids FROM clip_origins o JOIN steps s ON "
            "s.epoch = o.epoch AND s.step = 3 AND o.split = 'train' AND o.sample_id = CAST(s.sample_ids AS INTEGER)",
            a_rows, sizeof a_rows);
    char video[256] = "";
    long start = -1, last = -1, sample = -1;
    sscanf(a_rows, "%255[^|]|%ld|%ld|%ld", video, &start, &last, &sample);
    snprintf(want, sizeof want, "%s, frames %ld-%ld every 2", video, start, last);
    error err;
    snprintf(db_path, sizeof db_path, "%s/run.db", a);
    run_reader *reader = run_reader_open(db_path, 1, &err);
    int found = reader && clip_origin_describe_step(reader, 3, sample, text, sizeof text);
    CHECK(found && strncmp(text, want, strlen(want)) == 0, "clip_origin_describe_step: '%s' (expected '%s...')", text,
          want);
    CHECK(reader && !clip_origin_describe_step(reader, 3, 999, text, sizeof text), "a missing sample was described: %s",
          text);
    run_reader_close(reader);

    /* The report's video section: classes and where the clips came from. */
    char report_dir[1200], index_path[1300];
    snprintf(report_dir, sizeof report_dir, "%s/report", a);
    snprintf(db_path, sizeof db_path, "%s/run.db", a);
    rc = nanprobe_run(output, sizeof output, "report", db_path, "-o", report_dir, NULL);
    snprintf(index_path, sizeof index_path, "%s/index.html", report_dir);
    FILE *index = fopen(index_path, "r");
    static char html[1 << 20];
    size_t html_size = index ? fread(html, 1, sizeof html - 1, index) : 0;
    html[html_size] = '\0';
    if (index) fclose(index);
    CHECK(rc == 0 && strstr(html, "<h2>Video data</h2>") && strstr(html, "<td>Banana</td>") &&
              strstr(html, ".mkv</td>"),
          "report: exit %d, index.html %s the video section\n%s", rc, html_size ? "lacks" : "missing", output);

    /* --resume continues bit for bit: the same losses and clip origins. */
    rc = nanprobe_run(output, sizeof output, "train", VIDEO_RUN, "--threads", "1", "--max-steps", "3", "--out", b,
                      NULL);
    CHECK(rc == 0, "train --max-steps 3: exit %d\n%s", rc, output);
    char resume_arg[1024];
    snprintf(resume_arg, sizeof resume_arg, "%s", b);
    rc = nanprobe_run(output, sizeof output, "train", "--resume", resume_arg, "--quiet", "--no-report", NULL);
    CHECK(rc == 0, "train --resume: exit %d\n%s", rc, output);
    const char *losses = "SELECT step, epoch, quote(loss), sample_ids FROM steps ORDER BY step";
    const char *origins = "SELECT split, epoch, sample_id, video, start_frame, crop_y, crop_x, looped FROM clip_origins "
                          "ORDER BY split, epoch, sample_id";
    test_db_rows(a, losses, a_rows, sizeof a_rows);
    test_db_rows(b, losses, b_rows, sizeof b_rows);
    CHECK(strcmp(a_rows, b_rows) == 0 && strlen(a_rows) > 20, "resumed losses differ:\n%s---\n%s", a_rows, b_rows);
    test_db_rows(a, origins, a_rows, sizeof a_rows);
    test_db_rows(b, origins, b_rows, sizeof b_rows);
    CHECK(strcmp(a_rows, b_rows) == 0, "resumed clip origins differ");

    /* Two threads: the same clips (the arithmetic may round differently, the data may not). */
    rc = nanprobe_run(output, sizeof output, "train", VIDEO_RUN, "--threads", "2", "--out", c, NULL);
    CHECK(rc == 0, "train --threads 2: exit %d\n%s", rc, output);
    test_db_rows(c, origins, b_rows, sizeof b_rows);
    CHECK(strcmp(a_rows, b_rows) == 0, "clip origins differ between 1 and 2 threads");
    /* The clips' statistics agree to 1e-5 relative: the data is the same,
     * but the statistics' sums may run in another order with 2 threads,
     * which moves float32 results by a few 1e-7. */
    const char *inputs = "SELECT step, position, sample_id, mean, std FROM input_samples ORDER BY step, position";
    int na = test_db_rows(a, inputs, a_rows, sizeof a_rows), nc = test_db_rows(c, inputs, b_rows, sizeof b_rows), off = 0;
    const char *pa = a_rows, *pc = b_rows;
    for (int i = 0; i < na && na == nc; i++) {
        long sa, qa, ia, sc, qc, ic;
        double ma, da, mc, dc;
        if (sscanf(pa, "%ld|%ld|%ld|%lf|%lf", &sa, &qa, &ia, &ma, &da) != 5 ||
            sscanf(pc, "%ld|%ld|%ld|%lf|%lf", &sc, &qc, &ic, &mc, &dc) != 5) {
            off++;
            break;
        }
        off += sa != sc || qa != qc || ia != ic || fabs(ma - mc) > 1e-5 * fabs(ma) + 1e-12 ||
               fabs(da - dc) > 1e-5 * fabs(da) + 1e-12;
        pa = strchr(pa, '\n') + 1;
        pc = strchr(pc, '\n') + 1;
    }
    CHECK(na == 10 && nc == 10 && off == 0, "input statistics differ between 1 and 2 threads (%d of %d rows)", off, na);

    /* Bad files stop the run, naming them, unless skipped; then they are in the database. */
    rc = nanprobe_run(output, sizeof output, "train", "--data", mixed, "--resize", "32x40", "--clip", "4x24x24x3",
                      "--depth", "18", "--width", "4", "--epochs", "1", "--val-clips", "0", "--threads", "1",
                      "--no-report", "--quiet", "--out", m, NULL);
    CHECK(rc == 1 && strstr(output, "y/empty.avi") && strstr(output, "y/cut.avi") && strstr(output, "--skip-bad-videos"),
          "train on bad files: exit %d\n%s", rc, output);
    rc = nanprobe_run(output, sizeof output, "train", "--data", mixed, "--resize", "32x40", "--clip", "4x24x24x3",
                      "--depth", "18", "--width", "4", "--epochs", "1", "--val-clips", "0", "--threads", "1",
                      "--no-report", "--quiet", "--skip-bad-videos", "--out", m, NULL);
    CHECK(rc == 0, "train --skip-bad-videos: exit %d\n%s", rc, output);
    CHECK(test_db_rows(m, "SELECT path, problem FROM bad_videos ORDER BY path", a_rows, sizeof a_rows) == 5 &&
              strstr(a_rows, "y/dot.avi|too small") && strstr(a_rows, "y/cut.avi|truncated"),
          "bad_videos:\n%s", a_rows);
    path_make(m, sizeof m, "run-split");
    rc = nanprobe_run(output, sizeof output, "train", "--data", tree, "--split", "1", "--quiet", "--out", m, NULL);
    CHECK(rc == 1 && strstr(output, "classInd.txt"), "--split without split files: exit %d\n%s", rc, output);
}

/* Shortens the 13th video chunk of a rawvideo AVI by 3 bytes, in the movi
 * list and in idx1: the file still demuxes (and probes) whole, but frame 12
 * no longer decodes ("packet size 2301 < expected frame_size 2304"). */
static int avi_break_frame(const char *rel, int frame)
{
    char path[1024];
    path_make(path, sizeof path, "%s", rel);
    FILE *f = fopen(path, "r+b");
    if (!f) return -1;
    static unsigned char b[1 << 20];
    size_t n = fread(b, 1, sizeof b, f);
    unsigned char *movi = memmem(b, n, "movi", 4), *idx = memmem(b, n, "idx1", 4);
    int patched = 0;
    if (movi && idx) {
        uint32_t bytes;
        memcpy(&bytes, idx + 4, 4);
        int seen = 0;
        for (uint32_t k = 0; k + 16 <= bytes && !patched; k += 16) {
            unsigned char *e = idx + 8 + k;
            if (e + 16 > b + n || (memcmp(e + 2, "dc", 2) && memcmp(e + 2, "db", 2)) || seen++ != frame) continue;
            uint32_t offset, size;
            memcpy(&offset, e + 8, 4);
            memcpy(&size, e + 12, 4);
            unsigned char *chunk = movi + offset; /* offsets count from "movi" */
            if (chunk + 8 > b + n || memcmp(chunk + 2, e + 2, 2)) break;
            size -= 3;
            memcpy(chunk + 4, &size, 4);
            memcpy(e + 12, &size, 4);
            patched = 1;
        }
    }
    fseek(f, 0, SEEK_SET);
    fwrite(b, 1, n, f);
    fclose(f);
    return patched ? 0 : -1;
}

/* A file that probes whole but fails at frame 12 during the run: the
 * validation clip (centred, frames 7-22) falls back to frames 0-11 looped,
 * the run goes on, and the event and the origin say so. */
static void test_cli_decode_event(void)
{
    static char output[65536], rows[65536];
    mkdirs("broken/a");
    mkdirs("broken/b");
    CHECK(ffmpeg_run("-f lavfi -i testsrc=size=32x24:rate=25 -frames:v 30 -c:v rawvideo -pix_fmt bgr24 "
                     "broken/a/bad.avi") == 0, "rawvideo avi");
    CHECK(video_make("broken/a/ok.mkv", AV_CODEC_ID_FFV1, 32, 24, 30, 25) == 0 &&
              video_make("broken/b/ok.mkv", AV_CODEC_ID_FFV1, 32, 24, 30, 25) == 0, "ffv1 videos");
    CHECK(avi_break_frame("broken/a/bad.avi", 12) == 0, "break frame 12");
    const char *train = "a/ok.mkv a\nb/ok.mkv b\n", *val = "a/bad.avi a\n";
    file_write("broken/train.txt", train, strlen(train));
    file_write("broken/val.txt", val, strlen(val));
    char dir[1024], train_list[1024], val_list[1024], out[1024];
    path_make(dir, sizeof dir, "broken");
    path_make(train_list, sizeof train_list, "broken/train.txt");
    path_make(val_list, sizeof val_list, "broken/val.txt");
    path_make(out, sizeof out, "run-broken");
    int rc = nanprobe_run(output, sizeof output, "train", "--data", dir, "--train-list", train_list, "--val-list",
                          val_list, "--resize", "24x32", "--clip", "16x16x16x3", "--depth", "18", "--width", "4",
                          "--batch", "2", "--epochs", "2", "--threads", "1", "--no-report", "--quiet", "--out", out,
                          NULL);
    CHECK(rc == 0, "train with a file that breaks mid-run: exit %d\n%s", rc, output);
    CHECK(test_db_rows(out, "SELECT step, message FROM events WHERE kind = 'video_decode'", rows, sizeof rows) == 1 &&
              strstr(rows, "bad.avi") && strstr(rows, "stopped at frame 12") && strstr(rows, "12 frames instead of 30"),
          "video_decode events:\n%s", rows);
    CHECK(test_db_rows(out, "SELECT epoch, start_frame, video_frames, looped, fallback FROM clip_origins WHERE split = "
                  "'validation' ORDER BY epoch", rows, sizeof rows) == 2 &&
              strcmp(rows, "1|0|12|1|1\n2|0|12|1|0\n") == 0,
          "validation origins of the broken file:\n%s", rows);
}

/* A constant video under --normalize standardize is 0/0: the verdict names
 * the data as the cause, and the clip by its file and frames. */
static void test_cli_verdict_names_file(void)
{
    static char output[65536];
    mkdirs("flat/moving");
    mkdirs("flat/still");
    CHECK(video_make("flat/moving/m.mkv", AV_CODEC_ID_FFV1, 32, 24, 20, 25) == 0, "moving video");
    CHECK(ffmpeg_run("-f lavfi -i color=c=gray:size=32x24:rate=25 -frames:v 20 -c:v ffv1 flat/still/gray.mkv") == 0,
          "constant video");
    char dir[1024], out[1024], verdict[1200];
    path_make(dir, sizeof dir, "flat");
    path_make(out, sizeof out, "run-flat");
    int rc = nanprobe_run(output, sizeof output, "train", "--data", dir, "--normalize", "standardize", "--resize",
                          "24x32", "--clip", "8x16x16x3", "--depth", "18", "--width", "4", "--batch", "2",
                          "--val-clips", "0", "--epochs", "1", "--threads", "1", "--quiet", "--out", out, NULL);
    CHECK(rc == 3, "train on a constant video under standardize: exit %d (expected 3, a NaN)\n%s", rc, output);
    snprintf(verdict, sizeof verdict, "%s/report/verdict.txt", out);
    FILE *f = fopen(verdict, "r");
    size_t n = f ? fread(output, 1, sizeof output - 1, f) : 0;
    output[n] = '\0';
    if (f) fclose(f);
    CHECK(strncmp(output, "Cause: data: clip ", 18) == 0 && strstr(output, "still/gray.mkv, frames ") != NULL,
          "the verdict names the constant video's file and frames:\n%s", output);
}

int main(int argc, char **argv)
{
    binary = test_binary(argc, argv);
    if (test_temp_dir(root, sizeof root, "video") < 0) {
        fprintf(stderr, "cannot make a temporary directory\n");
        return 1;
    }
    test_lossless();
    test_resize();
    test_lossy();
    test_seek();
    test_bad_files();
    test_class_folders();
    test_validation();
    test_ucf_split();
    test_lists();
    test_mixed_and_bad();
    test_mid_run_failure();
    test_cli_data();
    test_cli_train();
    test_cli_decode_event();
    test_cli_verdict_names_file();
    test_remove_tree(root);
    return test_finish();
}
