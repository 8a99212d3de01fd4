build-chk/tests/test_probes: tests/test_probes.c probes/db.h \
 src/core/error.h probes/db_memory.h src/data/npy.h src/core/rng.h \
 src/core/stats.h tests/test_util.h
probes/db.h:
src/core/error.h:
probes/db_memory.h:
src/data/npy.h:
src/core/rng.h:
src/core/stats.h:
tests/test_util.h:
