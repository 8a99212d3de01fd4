/* array.c: growing heap arrays (see array.h). */
#include "array.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int array_grow(void **items, int *capacity, int needed, size_t item_size)
{
    if (needed <= *capacity) return 0;
    if (*capacity > INT_MAX / 2) return -1;
    int next = *capacity ? *capacity * 2 : 64;
    while (next < needed) {
        if (next > INT_MAX / 2) return -1;
        next *= 2;
    }
    if ((size_t)next > SIZE_MAX / item_size) return -1;
    void *p = realloc(*items, (size_t)next * item_size);
    if (!p) return -1;
    memset((char *)p + (size_t)*capacity * item_size, 0, (size_t)(next - *capacity) * item_size);
    *items = p;
    *capacity = next;
    return 0;
}
