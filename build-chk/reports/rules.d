build-chk/reports/rules.o: reports/rules.c reports/rules.h \
 reports/rundata.h src/core/error.h reports/replay_data.h \
 probes/db_replay.h probes/db.h
reports/rules.h:
reports/rundata.h:
src/core/error.h:
reports/replay_data.h:
probes/db_replay.h:
probes/db.h:
