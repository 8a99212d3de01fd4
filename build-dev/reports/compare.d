build-dev/reports/compare.o: reports/compare.c reports/report.h \
 src/core/error.h reports/figure.h reports/gnuplot.h reports/html.h \
 reports/outdir.h reports/precursor.h reports/rundata.h reports/strbuf.h \
 reports/verdict.h reports/rules.h
reports/report.h:
src/core/error.h:
reports/figure.h:
reports/gnuplot.h:
reports/html.h:
reports/outdir.h:
reports/precursor.h:
reports/rundata.h:
reports/strbuf.h:
reports/verdict.h:
reports/rules.h:
