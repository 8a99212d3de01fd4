build-chk/reports/cause_store.o: reports/cause_store.c \
 reports/cause_store.h reports/cause.h src/core/error.h \
 reports/mechanism.h reports/rundata.h reports/replay_data.h \
 probes/db_replay.h probes/db.h probes/db.h
reports/cause_store.h:
reports/cause.h:
src/core/error.h:
reports/mechanism.h:
reports/rundata.h:
reports/replay_data.h:
probes/db_replay.h:
probes/db.h:
probes/db.h:
