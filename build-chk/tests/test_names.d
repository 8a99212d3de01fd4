build-chk/tests/test_names: tests/test_names.c probes/probe_names.h \
 reports/rundata.h src/core/error.h reports/replay_data.h \
 probes/db_replay.h probes/db.h tests/test_util.h
probes/probe_names.h:
reports/rundata.h:
src/core/error.h:
reports/replay_data.h:
probes/db_replay.h:
probes/db.h:
tests/test_util.h:
