build-chk/reports/replay_text.o: reports/replay_text.c \
 reports/replay_text.h reports/rundata.h src/core/error.h \
 reports/replay_data.h probes/db_replay.h probes/db.h reports/strbuf.h \
 reports/cause.h reports/mechanism.h
reports/replay_text.h:
reports/rundata.h:
src/core/error.h:
reports/replay_data.h:
probes/db_replay.h:
probes/db.h:
reports/strbuf.h:
reports/cause.h:
reports/mechanism.h:
