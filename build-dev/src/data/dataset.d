build-dev/src/data/dataset.o: src/data/dataset.c src/data/dataset.h \
 src/core/error.h src/data/npy.h src/data/synthetic.h
src/data/dataset.h:
src/core/error.h:
src/data/npy.h:
src/data/synthetic.h:
