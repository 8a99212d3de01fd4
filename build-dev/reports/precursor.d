build-dev/reports/precursor.o: reports/precursor.c reports/precursor.h \
 src/core/error.h reports/rundata.h
reports/precursor.h:
src/core/error.h:
reports/rundata.h:
