build-chk/src/core/directory.o: src/core/directory.c src/core/directory.h
src/core/directory.h:
