build-chk/tests/test_video: tests/test_video.c reports/clip_origin.h \
 src/data/dataset.h src/core/error.h src/data/video_source.h \
 src/data/video.h tests/test_db.h tests/test_util.h src/data/video.h \
 src/data/video_index.h src/data/video_source.h
reports/clip_origin.h:
src/data/dataset.h:
src/core/error.h:
src/data/video_source.h:
src/data/video.h:
tests/test_db.h:
tests/test_util.h:
src/data/video.h:
src/data/video_index.h:
src/data/video_source.h:
