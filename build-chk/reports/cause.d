build-chk/reports/cause.o: reports/cause.c reports/cause.h \
 src/core/error.h reports/mechanism.h reports/rundata.h \
 reports/replay_data.h probes/db_replay.h probes/db.h \
 reports/clip_origin.h probes/db.h probes/probe_names.h
reports/cause.h:
src/core/error.h:
reports/mechanism.h:
reports/rundata.h:
reports/replay_data.h:
probes/db_replay.h:
probes/db.h:
reports/clip_origin.h:
probes/db.h:
probes/probe_names.h:
