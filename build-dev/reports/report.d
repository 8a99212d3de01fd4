build-dev/reports/report.o: reports/report.c reports/report.h \
 src/core/error.h reports/figure.h reports/html.h reports/outdir.h \
 reports/precursor.h reports/rundata.h probes/probe_names.h \
 reports/rules.h reports/runplots.h reports/strbuf.h reports/verdict.h
reports/report.h:
src/core/error.h:
reports/figure.h:
reports/html.h:
reports/outdir.h:
reports/precursor.h:
reports/rundata.h:
probes/probe_names.h:
reports/rules.h:
reports/runplots.h:
reports/strbuf.h:
reports/verdict.h:
