build-chk/reports/causeplot.o: reports/causeplot.c reports/causeplot.h \
 reports/cause.h src/core/error.h reports/mechanism.h reports/rundata.h \
 reports/replay_data.h probes/db_replay.h probes/db.h reports/figure.h \
 reports/gnuplot.h reports/strbuf.h
reports/causeplot.h:
reports/cause.h:
src/core/error.h:
reports/mechanism.h:
reports/rundata.h:
reports/replay_data.h:
probes/db_replay.h:
probes/db.h:
reports/figure.h:
reports/gnuplot.h:
reports/strbuf.h:
