build-fuzz/src/run/rundir.o: src/run/rundir.c src/run/rundir.h \
  src/core/error.h

src/run/rundir.h:

src/core/error.h:
