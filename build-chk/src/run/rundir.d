build-chk/src/run/rundir.o: src/run/rundir.c src/run/rundir.h \
 src/core/error.h src/core/directory.h
src/run/rundir.h:
src/core/error.h:
src/core/directory.h:
