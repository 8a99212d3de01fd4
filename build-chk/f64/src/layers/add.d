build-chk/f64/src/layers/add.o: src/layers/add.c src/layers/add.h \
 src/core/real.h src/core/real_names.h
src/layers/add.h:
src/core/real.h:
src/core/real_names.h:
