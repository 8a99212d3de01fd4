/* db_memory.h: the heap SQLite runs on inside nanprobe.
 *
 * Every probed step inserts ~2,000 rows, and SQLite (as Debian builds it:
 * no lookaside, system malloc) makes about two heap allocations per row.
 * This allocator keeps freed blocks on per-size free lists and carves new
 * ones from 1 MiB slabs, so once the first steps have shaped the lists a
 * step costs the system allocator nothing.  It must be installed before
 * SQLite's first use (main does it); until then SQLite uses malloc. */
#ifndef NANPROBE_DB_MEMORY_H
#define NANPROBE_DB_MEMORY_H

#include <stddef.h>

/* Installs the allocator as SQLite's; returns -1 if SQLite was already
 * initialized (it then keeps using malloc). */
int db_memory_install(void);

/* The allocator's own entry points (for its tests). */
void *db_memory_allocate(int bytes);
void db_memory_release(void *p);
void *db_memory_resize(void *p, int bytes);
int db_memory_size(void *p);
/* Bytes held from the system: every slab, and the large blocks in use. */
size_t db_memory_system_bytes(void);

#endif
