build-chk/probes/db_memory.o: probes/db_memory.c probes/db_memory.h
probes/db_memory.h:
