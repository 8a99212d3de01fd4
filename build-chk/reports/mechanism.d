build-chk/reports/mechanism.o: reports/mechanism.c reports/mechanism.h
reports/mechanism.h:
