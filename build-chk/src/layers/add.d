build-chk/src/layers/add.o: src/layers/add.c src/layers/add.h \
 src/core/real.h src/core/finite.h
src/layers/add.h:
src/core/real.h:
src/core/finite.h:
