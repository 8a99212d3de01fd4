build-chk/reports/cause_text.o: reports/cause_text.c reports/cause_text.h \
 reports/cause.h src/core/error.h reports/mechanism.h reports/rundata.h \
 reports/replay_data.h probes/db_replay.h probes/db.h reports/strbuf.h
reports/cause_text.h:
reports/cause.h:
src/core/error.h:
reports/mechanism.h:
reports/rundata.h:
reports/replay_data.h:
probes/db_replay.h:
probes/db.h:
reports/strbuf.h:
