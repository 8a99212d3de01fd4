build-chk/src/data/video_source.o: src/data/video_source.c \
 src/data/video_source.h src/core/error.h src/data/video.h src/core/rng.h \
 src/data/video_index.h
src/data/video_source.h:
src/core/error.h:
src/data/video.h:
src/core/rng.h:
src/data/video_index.h:
