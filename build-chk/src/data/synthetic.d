build-chk/src/data/synthetic.o: src/data/synthetic.c src/data/synthetic.h \
 src/data/dataset.h src/core/error.h src/data/video_source.h \
 src/data/video.h src/core/rng.h
src/data/synthetic.h:
src/data/dataset.h:
src/core/error.h:
src/data/video_source.h:
src/data/video.h:
src/core/rng.h:
