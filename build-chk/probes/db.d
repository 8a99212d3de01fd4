build-chk/probes/db.o: probes/db.c probes/db.h src/core/error.h \
 src/model/model.h src/layers/batchnorm.h src/core/real.h \
 src/core/finite.h src/layers/conv3d.h src/layers/window.h \
 src/layers/maxpool3d.h src/core/tensor.h src/core/real.h \
 build-chk/generated/schema_sql.h src/core/stats.h src/model/summary.h \
 src/model/model.h
probes/db.h:
src/core/error.h:
src/model/model.h:
src/layers/batchnorm.h:
src/core/real.h:
src/core/finite.h:
src/layers/conv3d.h:
src/layers/window.h:
src/layers/maxpool3d.h:
src/core/tensor.h:
src/core/real.h:
build-chk/generated/schema_sql.h:
src/core/stats.h:
src/model/summary.h:
src/model/model.h:
