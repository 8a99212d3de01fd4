build-chk/probes/probe_ring.o: probes/probe_ring.c probes/probe_ring.h \
 probes/db.h src/core/error.h src/core/stats.h
probes/probe_ring.h:
probes/db.h:
src/core/error.h:
src/core/stats.h:
