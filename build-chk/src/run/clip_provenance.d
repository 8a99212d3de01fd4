build-chk/src/run/clip_provenance.o: src/run/clip_provenance.c \
 src/run/clip_provenance.h src/data/dataset.h src/core/error.h \
 src/data/video_source.h src/data/video.h probes/db_video.h probes/db.h
src/run/clip_provenance.h:
src/data/dataset.h:
src/core/error.h:
src/data/video_source.h:
src/data/video.h:
probes/db_video.h:
probes/db.h:
