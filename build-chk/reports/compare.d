build-chk/reports/compare.o: reports/compare.c reports/report.h \
 src/core/error.h reports/figure.h reports/gnuplot.h reports/html.h \
 reports/outdir.h reports/precursor.h reports/rundata.h \
 reports/replay_data.h probes/db_replay.h probes/db.h reports/strbuf.h \
 reports/verdict.h reports/cause.h reports/mechanism.h reports/rules.h
reports/report.h:
src/core/error.h:
reports/figure.h:
reports/gnuplot.h:
reports/html.h:
reports/outdir.h:
reports/precursor.h:
reports/rundata.h:
reports/replay_data.h:
probes/db_replay.h:
probes/db.h:
reports/strbuf.h:
reports/verdict.h:
reports/cause.h:
reports/mechanism.h:
reports/rules.h:
