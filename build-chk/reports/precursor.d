build-chk/reports/precursor.o: reports/precursor.c reports/precursor.h \
 src/core/error.h reports/rundata.h reports/replay_data.h \
 probes/db_replay.h probes/db.h
reports/precursor.h:
src/core/error.h:
reports/rundata.h:
reports/replay_data.h:
probes/db_replay.h:
probes/db.h:
