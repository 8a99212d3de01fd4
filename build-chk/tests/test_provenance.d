build-chk/tests/test_provenance: tests/test_provenance.c src/data/npy.h \
 src/core/error.h src/replay/provenance.h src/layers/conv3d.h \
 src/core/real.h src/core/finite.h src/layers/window.h tests/test_util.h
src/data/npy.h:
src/core/error.h:
src/replay/provenance.h:
src/layers/conv3d.h:
src/core/real.h:
src/core/finite.h:
src/layers/window.h:
tests/test_util.h:
