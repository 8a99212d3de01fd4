/* shard.c: the split of a batch over ranks (see shard.h). */
#include "shard.h"

dist_shard dist_shard_of(int batch, int rank, int size)
{
    int base = batch / size, extra = batch % size;
    dist_shard s;
    s.count = base + (rank < extra);
    s.start = rank * base + (rank < extra ? rank : extra);
    return s;
}

int dist_shard_capacity(int batch, int size)
{
    return (batch + size - 1) / size;
}
