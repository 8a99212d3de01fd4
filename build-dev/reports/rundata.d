build-dev/reports/rundata.o: reports/rundata.c reports/rundata.h \
 src/core/error.h probes/db.h probes/probe_names.h
reports/rundata.h:
src/core/error.h:
probes/db.h:
probes/probe_names.h:
