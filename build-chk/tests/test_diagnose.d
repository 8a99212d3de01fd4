build-chk/tests/test_diagnose: tests/test_diagnose.c \
 tests/diagnose_cases.h reports/cause.h src/core/error.h \
 reports/mechanism.h reports/rundata.h reports/replay_data.h \
 probes/db_replay.h probes/db.h reports/cause_text.h reports/cause.h \
 reports/strbuf.h src/data/npy.h src/core/rng.h reports/rundata.h \
 tests/test_util.h reports/cause_store.h reports/precursor.h \
 reports/rules.h reports/verdict.h reports/precursor.h reports/rules.h
tests/diagnose_cases.h:
reports/cause.h:
src/core/error.h:
reports/mechanism.h:
reports/rundata.h:
reports/replay_data.h:
probes/db_replay.h:
probes/db.h:
reports/cause_text.h:
reports/cause.h:
reports/strbuf.h:
src/data/npy.h:
src/core/rng.h:
reports/rundata.h:
tests/test_util.h:
reports/cause_store.h:
reports/precursor.h:
reports/rules.h:
reports/verdict.h:
reports/precursor.h:
reports/rules.h:
