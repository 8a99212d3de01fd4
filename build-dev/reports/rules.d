build-dev/reports/rules.o: reports/rules.c reports/rules.h \
 reports/rundata.h src/core/error.h
reports/rules.h:
reports/rundata.h:
src/core/error.h:
