/*  mfa_store_sql - the engine under mfa_store: its connection and the
    statement helpers that the store's files share. Included by mfa_store*.c
    alone, so that nothing else of mfa sees the engine; it imports nothing of
    the store in turn.
*/
#ifndef MFA_STORE_SQL_H_INCLUDED
#define MFA_STORE_SQL_H_INCLUDED

#include "pst_db.h"
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

//  The type mfa_store.h names (C11 allows the typedef twice)
typedef struct _mfa_store_t mfa_store_t;

struct _mfa_store_t {
    sqlite3 *db;
    pst_db_cache_t *cache;      //  its prepared statements, kept
};

//  Prepares sql (a string literal: the statement is kept for the next call,
//  pst_db_cache) and binds one parameter per letter of format, as pst_db_query
//  does ('t' text, NULL binds null; 'i' int64_t; 'n' int; 'b' blob, pointer
//  then size_t). The caller steps it and gives it back with
//  mfa_store_sql_done, never sqlite3_finalize. NULL on failure (logged).
sqlite3_stmt *
    mfa_store_sql_query (mfa_store_t *self, const char *sql, const char *format, ...);
//  Gives back a statement from mfa_store_sql_query (NULL is fine).
void
    mfa_store_sql_done (mfa_store_t *self, sqlite3_stmt *stmt);

//  Runs a statement without results, bound as by mfa_store_sql_query: rows
//  changed, or -1 (logged).
int
    mfa_store_sql_run (mfa_store_t *self, const char *sql, const char *format, ...);

//  Steps a one-row query: 1 row, 0 none, -1 error (logged).
int
    mfa_store_sql_step (mfa_store_t *self, sqlite3_stmt *stmt);

//  Integer result of a one-row query, or dflt when no row; -1 on error.
int64_t
    mfa_store_sql_scalar (mfa_store_t *self, int64_t dflt, const char *sql,
                          const char *format, ...);

//  A text column as a new JSON string, or JSON null when it is NULL.
json_t *
    mfa_store_sql_json (sqlite3_stmt *stmt, int column);

//  Copies a text column into out (size bytes, cut to fit; "" when NULL).
void
    mfa_store_sql_copy (sqlite3_stmt *stmt, int column, char *out, size_t size);

#endif
