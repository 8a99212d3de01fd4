build-chk/reports/clip_origin.o: reports/clip_origin.c \
 reports/clip_origin.h
reports/clip_origin.h:
