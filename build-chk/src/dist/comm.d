build-chk/src/dist/comm.o: src/dist/comm.c src/dist/comm.h \
 src/core/error.h
src/dist/comm.h:
src/core/error.h:
