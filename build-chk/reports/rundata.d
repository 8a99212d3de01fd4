build-chk/reports/rundata.o: reports/rundata.c reports/rundata.h \
 src/core/error.h reports/replay_data.h probes/db_replay.h probes/db.h \
 src/core/array.h probes/db.h probes/probe_names.h
reports/rundata.h:
src/core/error.h:
reports/replay_data.h:
probes/db_replay.h:
probes/db.h:
src/core/array.h:
probes/db.h:
probes/probe_names.h:
