build-chk/reports/contact_sheet.o: reports/contact_sheet.c \
 reports/contact_sheet.h src/core/error.h reports/gnuplot.h
reports/contact_sheet.h:
src/core/error.h:
reports/gnuplot.h:
