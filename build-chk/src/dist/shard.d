build-chk/src/dist/shard.o: src/dist/shard.c src/dist/shard.h
src/dist/shard.h:
