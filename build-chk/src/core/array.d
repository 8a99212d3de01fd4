build-chk/src/core/array.o: src/core/array.c src/core/array.h
src/core/array.h:
