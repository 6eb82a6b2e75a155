/*  authn_store_sql - the engine under authn_store: its connection and the
    statement helpers that the store's files share. Included by authn_store*.c
    alone, so that nothing else of authn sees the engine; it imports nothing of
    the store in turn.
*/
#ifndef AUTHN_STORE_SQL_H_INCLUDED
#define AUTHN_STORE_SQL_H_INCLUDED

#include "pst_db.h"

//  The type authn_store.h names (C11 allows the typedef twice)
typedef struct _authn_store_t authn_store_t;

struct _authn_store_t {
    sqlite3 *db;
    //  Statements run on every request (the signing keys' generation), kept
    //  prepared: preparing one costs more than running it
    pst_db_cache_t *cache;
};

//  Prepares sql and binds one parameter per letter of format, as pst_db_query
//  does ('t' text, 'i' int64_t, 'n' int, 'b' blob and size). The caller steps
//  and finalizes it. NULL on failure (logged).
sqlite3_stmt *
    authn_store_sql_query (authn_store_t *self, const char *sql, const char *format, ...);

//  Runs stmt, a statement that returns no rows, and finalizes it: 0 done, 1
//  refused by a constraint, -1 any other failure. NULL stmt is a failure.
int
    authn_store_sql_finish (sqlite3_stmt *stmt);

//  A statement that returns no rows, prepared, bound as by authn_store_sql_query
//  and run: 0 done, 1 refused by a constraint, -1 error.
int
    authn_store_sql_run (authn_store_t *self, const char *sql, const char *format, ...);

#endif
