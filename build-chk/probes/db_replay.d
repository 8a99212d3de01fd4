build-chk/probes/db_replay.o: probes/db_replay.c probes/db_replay.h \
 probes/db.h src/core/error.h
probes/db_replay.h:
probes/db.h:
src/core/error.h:
