build-chk/src/data/video.o: src/data/video.c src/data/video.h \
 src/core/error.h
src/data/video.h:
src/core/error.h:
