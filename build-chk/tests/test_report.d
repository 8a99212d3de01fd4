build-chk/tests/test_report: tests/test_report.c probes/db.h \
 src/core/error.h reports/gnuplot.h reports/precursor.h reports/rundata.h \
 reports/replay_data.h probes/db_replay.h probes/db.h reports/report.h \
 reports/rules.h reports/rundata.h tests/test_util.h
probes/db.h:
src/core/error.h:
reports/gnuplot.h:
reports/precursor.h:
reports/rundata.h:
reports/replay_data.h:
probes/db_replay.h:
probes/db.h:
reports/report.h:
reports/rules.h:
reports/rundata.h:
tests/test_util.h:
