build-chk/probes/db_video.o: probes/db_video.c probes/db_video.h \
 probes/db.h src/core/error.h
probes/db_video.h:
probes/db.h:
src/core/error.h:
