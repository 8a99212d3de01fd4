build-dev/reports/outdir.o: reports/outdir.c reports/outdir.h \
 src/core/error.h
reports/outdir.h:
src/core/error.h:
