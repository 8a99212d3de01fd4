build-chk/reports/figure.o: reports/figure.c reports/figure.h \
 src/core/error.h reports/gnuplot.h reports/html.h reports/outdir.h
reports/figure.h:
src/core/error.h:
reports/gnuplot.h:
reports/html.h:
reports/outdir.h:
