/*  pst_db - SQLite with the durability settings every service needs.

    Opens in WAL mode with synchronous=FULL, foreign keys on and a busy timeout,
    then applies the service's migrations in order, tracked by PRAGMA user_version.
    Each migration runs in its own transaction, so a crash leaves a known version.
*/
#ifndef PST_DB_H_INCLUDED
#define PST_DB_H_INCLUDED

#include <sqlite3.h>
#include <stdarg.h>

#define PST_DB_BUSY_TIMEOUT_MS  5000

//  Opens path (created 0600 if missing) and migrates it; migrations is a
//  NULL-terminated array of SQL scripts, entry i bringing user_version to i + 1.
//  NULL on failure (logged).
sqlite3 *
    pst_db_open (const char *path, const char *const *migrations);
void
    pst_db_close (sqlite3 **db_p);

//  Runs SQL with no results; 0 or -1 (logged).
int
    pst_db_exec (sqlite3 *db, const char *sql);

//  BEGIN IMMEDIATE / COMMIT / ROLLBACK; 0 or -1.
int
    pst_db_begin (sqlite3 *db);
int
    pst_db_commit (sqlite3 *db);
int
    pst_db_rollback (sqlite3 *db);

//  Prepares sql; NULL on failure (logged).
sqlite3_stmt *
    pst_db_prepare (sqlite3 *db, const char *sql);

//  Prepares sql and binds one parameter per letter of format, in order: 't'
//  text (const char *; NULL binds null), 'i' int64_t, 'n' int, 'b' blob (const
//  void * then its size_t size). SQLite copies every value, so none needs to
//  outlive the call. NULL or "" binds nothing. The caller steps and finalizes
//  the statement. NULL on failure (logged), an unknown letter included.
sqlite3_stmt *
    pst_db_query (sqlite3 *db, const char *sql, const char *format, ...);
//  The same, with the values in args.
sqlite3_stmt *
    pst_db_vquery (sqlite3 *db, const char *sql, const char *format, va_list args);

//  ---------------------------------------------------------------------------
//  Prepared statements kept for reuse. SQLite parses and plans a statement each
//  time it is prepared, which cost more than running most of ours (an eighth of
//  mfa's CPU in a perf profile under load). A cache belongs to one connection
//  and so to one thread. Statements are found by the address of their SQL (the
//  callers pass string literals), checked against its text; a statement in use
//  when the same SQL is asked for again is prepared afresh, and so is one that
//  does not fit in the cache.

typedef struct _pst_db_cache_t pst_db_cache_t;

//  db is borrowed and must outlive the cache.
pst_db_cache_t *
    pst_db_cache_new (sqlite3 *db);
//  Finalizes every statement it holds.
void
    pst_db_cache_destroy (pst_db_cache_t **self_p);
//  A statement for sql from the cache, nothing bound: the caller binds and
//  steps it, then gives it back with pst_db_cache_done, never sqlite3_finalize.
//  NULL on failure (logged).
sqlite3_stmt *
    pst_db_cache_prepare (pst_db_cache_t *self, const char *sql);
//  The same, bound as by pst_db_vquery.
sqlite3_stmt *
    pst_db_cache_vquery (pst_db_cache_t *self, const char *sql, const char *format,
                         va_list args);
//  Resets a statement from pst_db_cache_vquery and clears its values (or
//  finalizes one prepared afresh). stmt may be NULL.
void
    pst_db_cache_done (pst_db_cache_t *self, sqlite3_stmt *stmt);

//  Copy of a text column, or NULL when it is NULL. Caller frees.
char *
    pst_db_column_strdup (sqlite3_stmt *stmt, int column);

#endif
