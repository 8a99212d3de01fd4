build-dev/reports/verdict.o: reports/verdict.c reports/verdict.h \
 reports/precursor.h src/core/error.h reports/rundata.h reports/rules.h \
 reports/strbuf.h
reports/verdict.h:
reports/precursor.h:
src/core/error.h:
reports/rundata.h:
reports/rules.h:
reports/strbuf.h:
