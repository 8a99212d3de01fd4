build-chk/reports/report_video.o: reports/report_video.c \
 reports/report_video.h reports/html.h
reports/report_video.h:
reports/html.h:
