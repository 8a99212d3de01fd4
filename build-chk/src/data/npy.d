build-chk/src/data/npy.o: src/data/npy.c src/data/npy.h src/core/error.h
src/data/npy.h:
src/core/error.h:
