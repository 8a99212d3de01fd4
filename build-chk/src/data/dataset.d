build-chk/src/data/dataset.o: src/data/dataset.c src/data/dataset.h \
 src/core/error.h src/data/video_source.h src/data/video.h src/data/npy.h \
 src/data/synthetic.h src/data/video_index.h
src/data/dataset.h:
src/core/error.h:
src/data/video_source.h:
src/data/video.h:
src/data/npy.h:
src/data/synthetic.h:
src/data/video_index.h:
