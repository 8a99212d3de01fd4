build-chk/f64/src/layers/loss.o: src/layers/loss.c src/layers/loss.h \
 src/core/real.h src/core/real_names.h
src/layers/loss.h:
src/core/real.h:
src/core/real_names.h:
