build-chk/src/replay/provenance.o: src/replay/provenance.c \
 src/replay/provenance.h src/layers/conv3d.h src/core/real.h \
 src/core/finite.h src/core/error.h src/layers/window.h src/data/npy.h
src/replay/provenance.h:
src/layers/conv3d.h:
src/core/real.h:
src/core/finite.h:
src/core/error.h:
src/layers/window.h:
src/data/npy.h:
