/*  authn_store_sql - the engine under authn_store: its connection and the
    statement helpers that the store's files share. Included by authn_store*.c
    alone, so that nothing else of authn sees the engine; it imports nothing of
    the store in turn.
*/
#ifndef AUTHN_STORE_SQL_H_INCLUDED
#define AUTHN_STORE_SQL_H_INCLUDED

#include "pst_sql.h"

//  The type authn_store.h names (C11 allows the typedef twice)
typedef struct _authn_store_t authn_store_t;

struct _authn_store_t {
    //  SQLite or PostgreSQL; it keeps every statement prepared
    pst_sql_t *sql;
    //  The clock of created_at and updated_at, in seconds; NULL: the wall clock
    int64_t (*now_s) (void);
};

//  Now by the store's clock, in seconds: what created_at and updated_at hold
int64_t
    authn_store_sql_now (authn_store_t *self);

//  Runs stmt, a statement that returns no rows, to its end and gives it back:
//  0 done, 1 refused by a constraint, -1 any other failure (NULL stmt too)
int
    authn_store_sql_finish (authn_store_t *self, pst_sql_stmt_t *stmt);

//  A statement that returns no rows, bound as pst_sql_query binds and run:
//  0 done, 1 refused by a constraint, -1 any other failure.
int
    authn_store_sql_run (authn_store_t *self, const char *sql, const char *format, ...);

//  1 on PostgreSQL: for the few texts that must differ by engine
int
    authn_store_sql_is_postgres (authn_store_t *self);

//  Copies text with ASCII A-Z folded to a-z, as SQLite's NOCASE and lower()
//  fold (and PostgreSQL's lower() under COLLATE "C"). Caller frees.
char *
    authn_store_sql_fold (const char *text);

#endif
