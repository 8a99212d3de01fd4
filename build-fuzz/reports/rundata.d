build-fuzz/reports/rundata.o: reports/rundata.c reports/rundata.h \
  src/core/error.h probes/db.h

reports/rundata.h:

src/core/error.h:

probes/db.h:
