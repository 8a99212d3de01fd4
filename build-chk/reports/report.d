build-chk/reports/report.o: reports/report.c reports/report.h \
 src/core/error.h reports/cause.h reports/mechanism.h reports/rundata.h \
 reports/replay_data.h probes/db_replay.h probes/db.h \
 reports/cause_store.h reports/causeplot.h reports/figure.h \
 reports/html.h reports/report_replay.h reports/report_video.h \
 reports/outdir.h reports/precursor.h probes/probe_names.h \
 reports/rules.h reports/runplots.h reports/strbuf.h reports/verdict.h
reports/report.h:
src/core/error.h:
reports/cause.h:
reports/mechanism.h:
reports/rundata.h:
reports/replay_data.h:
probes/db_replay.h:
probes/db.h:
reports/cause_store.h:
reports/causeplot.h:
reports/figure.h:
reports/html.h:
reports/report_replay.h:
reports/report_video.h:
reports/outdir.h:
reports/precursor.h:
probes/probe_names.h:
reports/rules.h:
reports/runplots.h:
reports/strbuf.h:
reports/verdict.h:
