build-chk/f64/src/optim/adam.o: src/optim/adam.c src/optim/adam.h \
 src/core/real.h src/core/real_names.h
src/optim/adam.h:
src/core/real.h:
src/core/real_names.h:
