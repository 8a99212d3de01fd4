build-chk/reports/replay_data.o: reports/replay_data.c \
 reports/replay_data.h probes/db_replay.h probes/db.h src/core/error.h \
 src/core/array.h
reports/replay_data.h:
probes/db_replay.h:
probes/db.h:
src/core/error.h:
src/core/array.h:
