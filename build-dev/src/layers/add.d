build-dev/src/layers/add.o: src/layers/add.c src/layers/add.h
src/layers/add.h:
