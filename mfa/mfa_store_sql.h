/*  mfa_store_sql - the engine under mfa_store: its connection (pst_sql, on
    SQLite or PostgreSQL) and the statement helpers that the store's files
    share. Included by mfa_store*.c alone, so that nothing else of mfa sees the
    engine; it imports nothing of the store in turn.
*/
#ifndef MFA_STORE_SQL_H_INCLUDED
#define MFA_STORE_SQL_H_INCLUDED

#include "pst_sql.h"
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  The type mfa_store.h names (C11 allows the typedef twice)
typedef struct _mfa_store_t mfa_store_t;

struct _mfa_store_t {
    pst_sql_t *sql;             //  keeps its statements prepared
    //  A statement failed inside the open transaction: PostgreSQL then refuses
    //  everything until ROLLBACK or ROLLBACK TO a savepoint, and COMMIT only
    //  rolls back. SQLite goes on; it is tracked there too, harmlessly.
    bool failed;
    bool reading;               //  in a read transaction of mfa_store_read_begin
};

//  mfa's schema on both engines (for the tests, which look into the database
//  through pst_sql as the store does)
extern const pst_sql_schema_t mfa_store_schema;

//  The statements below are pst_sql's (see pst_sql.h: `?`/`?N` placeholders,
//  values bound from a format string, sql a literal that stays prepared),
//  run on the store's connection and noted when they fail. Macros: pst_sql
//  takes its values as `...`, which a function could not pass on.

//  A statement the caller steps with mfa_store_sql_step and gives back with
//  pst_sql_done. NULL on failure (logged).
#define mfa_store_sql_query(self, ...) \
    mfa_store_sql_noted_stmt ((self), pst_sql_query ((self)->sql, __VA_ARGS__))
//  Runs a statement to its end: rows changed, or -1 (logged).
#define mfa_store_sql_run(self, ...) \
    mfa_store_sql_noted ((self), pst_sql_run ((self)->sql, __VA_ARGS__))
//  Integer result of a one-row query, or dflt when no row or NULL; -1 on error.
#define mfa_store_sql_scalar(self, dflt, ...) \
    mfa_store_sql_noted_scalar ((self), pst_sql_scalar ((self)->sql, (dflt), __VA_ARGS__))

//  Next row: 1 row, 0 none, -1 error (logged).
int
    mfa_store_sql_step (mfa_store_t *self, pst_sql_stmt_t *stmt);

//  What the macros above return through: each notes a failure, then returns
//  what it was given.
pst_sql_stmt_t *
    mfa_store_sql_noted_stmt (mfa_store_t *self, pst_sql_stmt_t *stmt);
int
    mfa_store_sql_noted (mfa_store_t *self, int rc);
int64_t
    mfa_store_sql_noted_scalar (mfa_store_t *self, int64_t value);

//  A text column as a new JSON string, or JSON null when it is NULL.
json_t *
    mfa_store_sql_json (pst_sql_stmt_t *stmt, int column);

//  Copies a text column into out (size bytes, cut to fit; "" when NULL).
void
    mfa_store_sql_copy (pst_sql_stmt_t *stmt, int column, char *out, size_t size);

#endif
