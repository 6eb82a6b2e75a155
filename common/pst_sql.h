/*  pst_sql - one SQL connection, on SQLite or on PostgreSQL, behind one API.

    The stores of authn and mfa write each statement once, with `?` or `?N`
    placeholders, and run it on either engine: SQLite (the embedded default, a
    file path; pst_db's durability settings) or PostgreSQL through libpq (a
    `postgres://` or `postgresql://` URL), where the placeholders become `$N`.
    Values are bound from a format string, one letter per parameter, as
    pst_db_query does: 't' text (const char *, NULL binds null), 'i' int64_t,
    'n' int, 'b' blob (const void * then its size_t size). Every value is
    copied, so none needs to outlive the call.

    A connection belongs to one thread. Every statement is kept prepared for
    the next call, found by the address of its SQL (callers pass literals).

    Transactions are those of SQLite's BEGIN IMMEDIATE on both engines: one
    writer of a service's data at a time. On PostgreSQL the writers of every
    instance sharing the database queue on a transaction-level advisory lock
    named after the service's schema, so a read-then-write in a transaction is
    as atomic across processes as it is across threads on SQLite.

    Each service owns its schema: on PostgreSQL its tables live in a schema of
    its own name in the database the URL names (created at first start), and
    migrations are tracked in that schema's `schema_version` table instead of
    SQLite's user_version. A lost PostgreSQL connection is reopened at the next
    statement; meanwhile statements fail with PST_SQL_UNAVAILABLE.
*/
#ifndef PST_SQL_H_INCLUDED
#define PST_SQL_H_INCLUDED

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _pst_sql_t pst_sql_t;
typedef struct _pst_sql_stmt_t pst_sql_stmt_t;

typedef enum {
    PST_SQL_SQLITE,
    PST_SQL_POSTGRES
} pst_sql_engine_t;

//  Why the last statement failed
typedef enum {
    PST_SQL_OK = 0,
    PST_SQL_ERROR,              //  anything else (logged)
    PST_SQL_CONSTRAINT,         //  a unique, check or foreign-key constraint refused it
    PST_SQL_UNAVAILABLE         //  the database cannot be reached just now
} pst_sql_failure_t;

//  What a service's data looks like on each engine. Each list is NULL-
//  terminated; entry i brings the version to i + 1. Released entries are never
//  edited, only added to. The PostgreSQL list may start at a different point
//  of history than SQLite's (it started later), so the versions differ.
typedef struct {
    const char *name;                       //  the schema on PostgreSQL: [a-z_]+
    const char *const *sqlite;
    const char *const *postgres;
} pst_sql_schema_t;

//  Opens location (a file path, or a postgres:// URL) and migrates it to the
//  newest version of schema. NULL on failure (logged, never with the URL's
//  password).
pst_sql_t *
    pst_sql_open (const char *location, const pst_sql_schema_t *schema);
//  Finalizes the statements it keeps, then closes.
void
    pst_sql_close (pst_sql_t **self_p);

//  1 when location names a PostgreSQL database
int
    pst_sql_is_postgres (const char *location);
pst_sql_engine_t
    pst_sql_engine (pst_sql_t *self);

//  Runs a script of statements without parameters or results (several
//  statements separated by ';'): 0 or -1 (logged).
int
    pst_sql_exec (pst_sql_t *self, const char *script);

//  A statement for sql, bound from format and the values after it. The caller
//  steps it and gives it back with pst_sql_done. NULL on failure (logged; see
//  pst_sql_failure).
pst_sql_stmt_t *
    pst_sql_query (pst_sql_t *self, const char *sql, const char *format, ...);
pst_sql_stmt_t *
    pst_sql_vquery (pst_sql_t *self, const char *sql, const char *format, va_list args);
//  A statement for sql with nothing bound, for SQL whose values are known only
//  at run time (a list of columns): bind each placeholder by its number,
//  counted from 1, then step. Placeholders left unbound are NULL. Each value is
//  copied. NULL on failure (logged); a bind returns 0 or -1 (logged).
pst_sql_stmt_t *
    pst_sql_prepare (pst_sql_t *self, const char *sql);
//  NULL text binds NULL
int
    pst_sql_bind_text (pst_sql_stmt_t *stmt, int index, const char *text);
int
    pst_sql_bind_int64 (pst_sql_stmt_t *stmt, int index, int64_t value);
int
    pst_sql_bind_null (pst_sql_stmt_t *stmt, int index);

//  pst_sql_step's answers
#define PST_SQL_ROW     1
#define PST_SQL_DONE    0

//  Next row: 1 a row, 0 no more, -1 failure (logged; see pst_sql_failure).
int
    pst_sql_step (pst_sql_stmt_t *stmt);
//  Gives stmt back (it is kept prepared). NULL is fine.
void
    pst_sql_done (pst_sql_stmt_t *stmt);

//  Runs a statement to its end (rows it returns are ignored): the rows it
//  inserted, changed or deleted, or -1 (see pst_sql_failure).
int
    pst_sql_run (pst_sql_t *self, const char *sql, const char *format, ...);
//  The first column of the first row as an integer; dflt when there is no row
//  or it is NULL; -1 on failure.
int64_t
    pst_sql_scalar (pst_sql_t *self, int64_t dflt, const char *sql, const char *format, ...);

//  Why the last query, step or run on self failed (PST_SQL_OK when it did not)
pst_sql_failure_t
    pst_sql_failure (pst_sql_t *self);

//  Whether a statement run by this thread found its database unreachable
//  since the last pst_sql_unavailable_clear: a service's worker clears it
//  before each request and, when the request failed, answers 503
//  temporarily_unavailable instead of 500. A thread that runs statements for
//  another (mfa's writer) passes it on with pst_sql_unavailable_note.
int
    pst_sql_unavailable_seen (void);
void
    pst_sql_unavailable_clear (void);
void
    pst_sql_unavailable_note (void);

//  Columns of the current row, counted from 0. A text or blob stays valid
//  until the next step or pst_sql_done.
int
    pst_sql_is_null (pst_sql_stmt_t *stmt, int column);
//  NULL when the value is NULL
const char *
    pst_sql_text (pst_sql_stmt_t *stmt, int column);
//  0 when NULL; a PostgreSQL boolean is 1 or 0
int64_t
    pst_sql_int64 (pst_sql_stmt_t *stmt, int column);
//  NULL (size 0) when NULL
const void *
    pst_sql_blob (pst_sql_stmt_t *stmt, int column, size_t *size);
//  Copy of a text column, NULL when it is NULL. Caller frees.
char *
    pst_sql_strdup (pst_sql_stmt_t *stmt, int column);

//  BEGIN IMMEDIATE on SQLite; BEGIN and the service's advisory lock on
//  PostgreSQL. 0 or -1.
int
    pst_sql_begin (pst_sql_t *self);
int
    pst_sql_commit (pst_sql_t *self);
//  Nothing to do when no transaction is open (an error may have ended it)
int
    pst_sql_rollback (pst_sql_t *self);
int
    pst_sql_in_transaction (pst_sql_t *self);

#endif
