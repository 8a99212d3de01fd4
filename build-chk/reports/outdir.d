build-chk/reports/outdir.o: reports/outdir.c reports/outdir.h \
 src/core/error.h src/core/directory.h
reports/outdir.h:
src/core/error.h:
src/core/directory.h:
