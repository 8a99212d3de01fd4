/* array.h: growing a heap array by doubling (the model builder's layer and
 * parameter lists, the report loader's row tables). */
#ifndef NANPROBE_ARRAY_H
#define NANPROBE_ARRAY_H

#include <stddef.h>

/* Grows *items (capacity *capacity, in items of item_size bytes) to hold at
 * least `needed` items; new items are zeroed.  Returns -1, leaving *items
 * as it was, when memory runs out or the size would overflow. */
int array_grow(void **items, int *capacity, int needed, size_t item_size);

#endif
