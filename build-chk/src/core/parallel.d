build-chk/src/core/parallel.o: src/core/parallel.c src/core/parallel.h
src/core/parallel.h:
