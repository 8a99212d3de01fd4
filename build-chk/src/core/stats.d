build-chk/src/core/stats.o: src/core/stats.c src/core/stats.h \
 src/core/finite.h src/core/parallel.h
src/core/stats.h:
src/core/finite.h:
src/core/parallel.h:
