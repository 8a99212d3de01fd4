build-chk/reports/report_replay.o: reports/report_replay.c \
 reports/report_replay.h reports/cause.h src/core/error.h \
 reports/mechanism.h reports/rundata.h reports/replay_data.h \
 probes/db_replay.h probes/db.h reports/figure.h reports/gnuplot.h \
 reports/html.h reports/replay_text.h reports/strbuf.h
reports/report_replay.h:
reports/cause.h:
src/core/error.h:
reports/mechanism.h:
reports/rundata.h:
reports/replay_data.h:
probes/db_replay.h:
probes/db.h:
reports/figure.h:
reports/gnuplot.h:
reports/html.h:
reports/replay_text.h:
reports/strbuf.h:
