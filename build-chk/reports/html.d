build-chk/reports/html.o: reports/html.c reports/html.h reports/figure.h \
 src/core/error.h
reports/html.h:
reports/figure.h:
src/core/error.h:
