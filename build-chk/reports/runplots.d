build-chk/reports/runplots.o: reports/runplots.c reports/runplots.h \
 src/core/error.h reports/figure.h reports/precursor.h reports/rundata.h \
 reports/replay_data.h probes/db_replay.h probes/db.h reports/gnuplot.h \
 reports/strbuf.h
reports/runplots.h:
src/core/error.h:
reports/figure.h:
reports/precursor.h:
reports/rundata.h:
reports/replay_data.h:
probes/db_replay.h:
probes/db.h:
reports/gnuplot.h:
reports/strbuf.h:
