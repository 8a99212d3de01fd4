/* test_read_columns.c: the one check every run.db reader makes of a row
 * (src/rundb/read_columns.h), on rows made by SELECTs in memory.
 *
 * 1. Every stored name, and every layer kind's Keras class, reads back as
 *    its enum; an unknown name breaks a strict column (naming the table,
 *    the column and the text) and reads as the enum's count in a lenient
 *    one; NULL reads as the count where allowed.
 * 2. INTEGER: the range, the type (1.5 and '7' are not integers), NULL,
 *    lenient columns, int and long long destinations.
 * 3. REAL with its text twin, TEXT cut to its buffer or to hi characters. */
#include <limits.h>
#include <math.h>
#include <sqlite3.h>

#include "model.h"
#include "read_columns.h"
#include "test_util.h"

static sqlite3 *db;

/* The one row of `sql` in *st (SQLITE_ROW), else NULL. */
static sqlite3_stmt *row_of(const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
        CHECK(0, "cannot run %s: %s", sql, sqlite3_errmsg(db));
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

typedef struct enum_row {
    int strict, lenient;
} enum_row;

/* Reads name through a strict and a lenient column of the same enum. */
static int read_name(column_type type, stored_enum which, const char *name, int nullable, enum_row *out, char *why,
                     size_t size)
{
    const column_spec spec[] = {
        {.column = 0, .type = type, .nullable = (unsigned char)nullable, .names = which, COLUMN_AT(enum_row, strict)},
        {.column = 0, .type = type, .lenient = 1, .names = which, COLUMN_AT(enum_row, lenient)},
    };
    char *sql = name ? sqlite3_mprintf("SELECT %Q AS kind", name) : sqlite3_mprintf("SELECT NULL AS kind");
    sqlite3_stmt *st = row_of(sql);
    sqlite3_free(sql);
    out->strict = out->lenient = -2;
    char scratch[240];
    int rc = st ? read_row(st, "events", spec, 1, out, why, size) : -3;
    if (st && read_row(st, "events", spec + 1, 1, out, scratch, sizeof scratch) != 0) rc = -3;
    sqlite3_finalize(st);
    return rc;
}

static void test_enums(void)
{
    enum_row r;
    char why[240];
    for (int e = 0; e < STORED_ENUM_COUNT; e++) {
        const stored_enum_def *def = &stored_enums[e];
        for (int k = 0; k < def->count; k++)
            CHECK(read_name(COLUMN_ENUM, (stored_enum)e, def->names[k], 0, &r, why, sizeof why) == 0 &&
                      r.strict == k && r.lenient == k && strcmp(read_enum_name((stored_enum)e, k), def->names[k]) == 0,
                  "%s '%s' reads as %d/%d, expected %d", def->column, def->names[k], r.strict, r.lenient, k);
        CHECK(read_name(COLUMN_ENUM, (stored_enum)e, "melted", 0, &r, why, sizeof why) == -1 &&
                  r.lenient == def->count && strcmp(why, "events.kind = 'melted' is not one this nanprobe knows") == 0,
              "%s: an unknown name: lenient %d, why '%s'", def->column, r.lenient, why);
        CHECK(read_name(COLUMN_ENUM, (stored_enum)e, NULL, 1, &r, why, sizeof why) == 0 && r.strict == def->count,
              "%s: NULL in a nullable column reads as %d", def->column, r.strict);
        CHECK(read_name(COLUMN_ENUM, (stored_enum)e, NULL, 0, &r, why, sizeof why) == -1 &&
                  strstr(why, "'NULL' is not one"), "%s: NULL in a strict column: '%s'", def->column, why);
        CHECK(strcmp(read_enum_name((stored_enum)e, def->count), "") == 0 && strcmp(read_enum_name((stored_enum)e, -1), "") == 0,
              "%s: the count has no name", def->column);
    }
    /* layers.kind speaks model.h's own names: the Keras class of every layer_kind */
    for (int k = 0; k < LAYER_KIND_COUNT; k++)
        CHECK(read_name(COLUMN_ENUM, STORED_LAYER_KIND, layer_kind_name((layer_kind)k), 0, &r, why, sizeof why) == 0 &&
                  r.strict == k, "layers.kind '%s' reads as %d", layer_kind_name((layer_kind)k), r.strict);
    CHECK(read_name(COLUMN_ENUM, STORED_LAYER_KIND, "Conv2D", 0, &r, why, sizeof why) == -1 &&
              r.lenient == LAYER_KIND_COUNT, "an unknown layer class: lenient %d, why '%s'", r.lenient, why);
}

typedef struct int_row {
    int small;
    long long big;
} int_row;

/* The column of `value` (SQL text) as an int in [0, 10] and a long long. */
static int read_int(const char *value, int nullable, int lenient, int_row *out, char *why, size_t size)
{
    const column_spec spec[] = {
        {.column = 0, .type = COLUMN_INTEGER, .nullable = (unsigned char)nullable, .lenient = (unsigned char)lenient,
         .lo = 0, .hi = 10, COLUMN_AT(int_row, small)},
        {.column = 1, .type = COLUMN_INTEGER, .lo = LLONG_MIN, .hi = LLONG_MAX, COLUMN_AT(int_row, big)},
    };
    char *sql = sqlite3_mprintf("SELECT %s AS probed, 9223372036854775807 AS big", value);
    sqlite3_stmt *st = row_of(sql);
    sqlite3_free(sql);
    out->small = -2;
    out->big = 0;
    int rc = st ? read_row(st, "steps", spec, 2, out, why, size) : -3;
    sqlite3_finalize(st);
    return rc;
}

static void test_integers(void)
{
    int_row r;
    char why[240];
    CHECK(read_int("7", 0, 0, &r, why, sizeof why) == 0 && r.small == 7 && r.big == LLONG_MAX, "7 reads as %d", r.small);
    static const char *const broken[][2] = {
        {"11", "steps.probed = '11' where an integer in [0, 10] was expected"},
        {"-1", "steps.probed = '-1' where an integer in [0, 10] was expected"},
        {"1.5", "steps.probed = '1.5' where an integer in [0, 10] was expected"},
        {"'7'", "steps.probed = '7' where an integer in [0, 10] was expected"},
        {"NULL", "steps.probed = 'NULL' where an integer in [0, 10] was expected"},
        {"4294967297", "steps.probed = '4294967297' where an integer in [0, 10] was expected"},
    };
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
        CHECK(read_int(broken[i][0], 0, 0, &r, why, sizeof why) == -1 && strcmp(why, broken[i][1]) == 0,
              "%s: why '%s'", broken[i][0], why);
        CHECK(read_int(broken[i][0], 0, 1, &r, why, sizeof why) == 0 && r.small == -1 && r.big == LLONG_MAX,
              "%s in a lenient column reads as %d", broken[i][0], r.small);
    }
    CHECK(read_int("NULL", 1, 0, &r, why, sizeof why) == 0 && r.small == -1, "NULL where allowed reads as %d", r.small);
    CHECK(read_int("1.5", 1, 0, &r, why, sizeof why) == -1, "nullable is not lenient: 1.5 still breaks the row");
}

typedef struct value_row {
    double twin, plain, text;
    char cut[4];
    char *owned;
} value_row;

static void test_values(void)
{
    const column_spec spec[] = {
        {.column = 0, .type = COLUMN_REAL, .twin = 1, COLUMN_AT(value_row, twin)},
        {.column = 2, .type = COLUMN_REAL, COLUMN_AT(value_row, plain)},
        {.column = 3, .type = COLUMN_REAL, COLUMN_AT(value_row, text)},
        {.column = 4, .type = COLUMN_TEXT_IN, COLUMN_AT(value_row, cut)},
        {.column = 4, .type = COLUMN_TEXT, .hi = 5, COLUMN_AT(value_row, owned)},
    };
    static const struct {
        const char *sql;
        double twin, plain;
        const char *cut, *owned;
    } cases[] = {
        {"SELECT NULL, 'nan', 2, 'abc', 'conv3d_12'", NAN, 2.0, "con", "conv3"},
        {"SELECT 1.5, '+inf', NULL, 'x', NULL", INFINITY, NAN, "", ""},
        {"SELECT 1.5, 'garbage', 3, '4', 'ab'", 1.5, 3.0, "ab", "ab"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sqlite3_stmt *st = row_of(cases[i].sql);
        if (!st) continue;
        value_row r = {0};
        char why[240];
        int rc = read_row(st, "replays", spec, 5, &r, why, sizeof why);
        int same_twin = isnan(cases[i].twin) ? isnan(r.twin) : r.twin == cases[i].twin;
        int same_plain = isnan(cases[i].plain) ? isnan(r.plain) : r.plain == cases[i].plain;
        CHECK(rc == 0 && same_twin && same_plain && isnan(r.text) && strcmp(r.cut, cases[i].cut) == 0 && r.owned &&
                  strcmp(r.owned, cases[i].owned) == 0,
              "%s: %g %g %g '%s' '%s'", cases[i].sql, r.twin, r.plain, r.text, r.cut, r.owned ? r.owned : "(null)");
        free(r.owned);
        sqlite3_finalize(st);
    }
}

int main(void)
{
    if (sqlite3_open(":memory:", &db) != SQLITE_OK) {
        CHECK(0, "cannot open an in-memory database");
        return test_finish();
    }
    test_enums();
    test_integers();
    test_values();
    sqlite3_close(db);
    return test_finish();
}
