build-chk/reports/strbuf.o: reports/strbuf.c reports/strbuf.h
reports/strbuf.h:
