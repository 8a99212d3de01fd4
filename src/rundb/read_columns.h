/* read_columns.h: the one check every run.db reader makes of a row.
 *
 * run.db is untrusted input: a file anyone can edit.  A loader describes its
 * SELECT as a table of column_spec (which column, the type it must have,
 * whether NULL is allowed, the range of an INTEGER or the stored enumeration
 * of a TEXT, and where the value goes in the loaded struct), and read_row()
 * fills the struct from the current row.  Stored names become enums here,
 * once.  The first column that breaks its spec stops the row, and `why`
 * says which column held what and what was expected; the caller decides
 * what a broken row costs: the whole load (runs, layers, steps, epochs,
 * events: "damaged database") or just the row (replays, the ladder). */
#ifndef NANPROBE_READ_COLUMNS_H
#define NANPROBE_READ_COLUMNS_H

#include <sqlite3.h>
#include <stddef.h>

#include "run_enums.h"

typedef enum column_type {
    COLUMN_INTEGER,    /* into an int or a long long (by the destination's size), within [lo, hi] */
    COLUMN_REAL,       /* into a double; NULL and anything not a number read as NaN */
    COLUMN_TEXT,       /* into an owned char * ("" where NULL), at most hi characters when hi > 0 */
    COLUMN_TEXT_IN,    /* into a char[size] ("" where NULL), cut to fit */
    COLUMN_ENUM,       /* a stored name (`names`) into its enum */
} column_type;

typedef struct column_spec {
    int column; /* its index in the SELECT */
    column_type type;
    /* nullable: NULL reads as -1 (INTEGER) or the enum's count.
     * lenient: a value that breaks the spec reads as if it were NULL
     * instead of breaking the row (a count only printed; a name a newer
     * nanprobe wrote). */
    unsigned char nullable, lenient;
    long long lo, hi;
    stored_enum names; /* COLUMN_ENUM */
    int twin;          /* COLUMN_REAL: the column of its text twin ("nan", "+inf": SQLite
                        * keeps a NaN only as text), read first when it parses; 0: none */
    size_t offset, size; /* the destination in the row struct: COLUMN_AT(type, field) */
} column_spec;

#define COLUMN_AT(type, field) .offset = offsetof(type, field), .size = sizeof(((type *)0)->field)
/* The columns of a spec table, for read_row's count. */
#define SPEC_COUNT(specs) (int)(sizeof(specs) / sizeof((specs)[0]))

/* Fills row from the current row of st by specs[0..count).  0; -2 out of
 * memory; or -1 with why set ("steps.step = '1.5' where an integer in [1, 1073741824] was
 * expected"; table names the table).  Text copied before a failure belongs
 * to row: the caller frees the row either way. */
int read_row(sqlite3_stmt *st, const char *table, const column_spec *specs, int count, void *row, char *why,
             size_t why_size);

/* The name of an enum value read by COLUMN_ENUM, "" for its count (NULL, or
 * a name this nanprobe does not know). */
const char *read_enum_name(stored_enum which, int value);

#endif
