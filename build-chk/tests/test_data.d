build-chk/tests/test_data: tests/test_data.c src/data/dataset.h \
 src/core/error.h src/data/video_source.h src/data/video.h src/data/npy.h \
 src/core/rng.h src/data/synthetic.h src/data/dataset.h tests/test_util.h
src/data/dataset.h:
src/core/error.h:
src/data/video_source.h:
src/data/video.h:
src/data/npy.h:
src/core/rng.h:
src/data/synthetic.h:
src/data/dataset.h:
tests/test_util.h:
