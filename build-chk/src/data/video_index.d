build-chk/src/data/video_index.o: src/data/video_index.c \
 src/data/video_index.h src/core/error.h
src/data/video_index.h:
src/core/error.h:
