build-chk/reports/gnuplot.o: reports/gnuplot.c reports/gnuplot.h \
 src/core/error.h
reports/gnuplot.h:
src/core/error.h:
