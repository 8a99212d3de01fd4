build-chk/src/dist/merge.o: src/dist/merge.c src/dist/merge.h \
 src/core/stats.h
src/dist/merge.h:
src/core/stats.h:
