build-chk/tests/test_replay_report: tests/test_replay_report.c \
 probes/db_replay.h probes/db.h src/core/error.h reports/report.h \
 tests/test_util.h
probes/db_replay.h:
probes/db.h:
src/core/error.h:
reports/report.h:
tests/test_util.h:
