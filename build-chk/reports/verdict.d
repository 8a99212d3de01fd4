build-chk/reports/verdict.o: reports/verdict.c reports/verdict.h \
 reports/cause.h src/core/error.h reports/mechanism.h reports/rundata.h \
 reports/replay_data.h probes/db_replay.h probes/db.h reports/precursor.h \
 reports/rules.h reports/strbuf.h reports/cause_text.h \
 reports/replay_text.h
reports/verdict.h:
reports/cause.h:
src/core/error.h:
reports/mechanism.h:
reports/rundata.h:
reports/replay_data.h:
probes/db_replay.h:
probes/db.h:
reports/precursor.h:
reports/rules.h:
reports/strbuf.h:
reports/cause_text.h:
reports/replay_text.h:
