build-chk/src/run/callbacks.o: src/run/callbacks.c src/run/callbacks.h
src/run/callbacks.h:
