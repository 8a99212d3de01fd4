build-chk/src/cli/data_cmd.o: src/cli/data_cmd.c src/cli/data_cmd.h \
 src/core/error.h reports/contact_sheet.h src/data/dataset.h \
 src/data/video_source.h src/data/video.h src/cli/options.h \
 src/data/video_index.h src/data/video_source.h
src/cli/data_cmd.h:
src/core/error.h:
reports/contact_sheet.h:
src/data/dataset.h:
src/data/video_source.h:
src/data/video.h:
src/cli/options.h:
src/data/video_index.h:
src/data/video_source.h:
