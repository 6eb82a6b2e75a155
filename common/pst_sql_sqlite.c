/*  pst_sql_sqlite - pst_sql on SQLite: pst_db's connection (WAL, synchronous=
    FULL, migrations by user_version) and its cache of prepared statements.
*/
#include "pst_sql_engine.h"
#include "pst_db.h"
#include "pst_log.h"
#include <stdio.h>
#include <stdlib.h>

typedef struct {
    pst_sql_t base;
    sqlite3 *db;
    pst_db_cache_t *cache;
} s_lite_t;

typedef struct {
    pst_sql_stmt_t base;
    sqlite3_stmt *stmt;
} s_lite_stmt_t;

static pst_sql_failure_t
s_failure_of (int rc)
{
    rc &= 0xff;
    return rc == SQLITE_CONSTRAINT? PST_SQL_CONSTRAINT
         : rc == SQLITE_BUSY || rc == SQLITE_LOCKED || rc == SQLITE_FULL
        || rc == SQLITE_IOERR || rc == SQLITE_CANTOPEN? PST_SQL_UNAVAILABLE
         : PST_SQL_ERROR;
}

static void
s_close (pst_sql_t *base)
{
    s_lite_t *self = (s_lite_t *) base;
    //  Before the connection: it cannot close with statements open
    pst_db_cache_destroy (&self->cache);
    pst_db_close (&self->db);
    free (self);
}

static int
s_exec (pst_sql_t *base, const char *script)
{
    s_lite_t *self = (s_lite_t *) base;
    int rc = pst_db_exec (self->db, script);
    base->failure = rc? s_failure_of (sqlite3_errcode (self->db)): PST_SQL_OK;
    return rc;
}

static pst_sql_stmt_t *
s_prepare (pst_sql_t *base, const char *sql)
{
    s_lite_t *self = (s_lite_t *) base;
    s_lite_stmt_t *stmt = (s_lite_stmt_t *) malloc (sizeof *stmt);
    if (stmt)
        stmt->stmt = pst_db_cache_prepare (self->cache, sql);
    if (!stmt || !stmt->stmt) {
        free (stmt);
        base->failure = PST_SQL_ERROR;
        return NULL;
    }
    stmt->base.owner = base;
    base->failure = PST_SQL_OK;
    return &stmt->base;
}

//  SQLite copies every value (SQLITE_TRANSIENT)
static int
s_bind (pst_sql_stmt_t *base, int index, const pst_sql_value_t *value)
{
    sqlite3_stmt *stmt = ((s_lite_stmt_t *) base)->stmt;
    int rc = value->type == 't' && value->text
             ? sqlite3_bind_text (stmt, index, value->text, -1, SQLITE_TRANSIENT)
           : value->type == 'i'? sqlite3_bind_int64 (stmt, index, value->integer)
           : value->type == 'b'
             ? sqlite3_bind_blob64 (stmt, index, value->blob, value->size, SQLITE_TRANSIENT)
           : sqlite3_bind_null (stmt, index);
    if (rc == SQLITE_OK)
        return 0;
    char code [16];
    snprintf (code, sizeof code, "%d", rc);
    pst_log (PST_LOG_ERROR, "db_bind_failed", "sqlite_rc", code, NULL);
    base->owner->failure = PST_SQL_ERROR;
    return -1;
}

static int
s_step (pst_sql_stmt_t *base)
{
    s_lite_stmt_t *stmt = (s_lite_stmt_t *) base;
    s_lite_t *self = (s_lite_t *) base->owner;
    int rc = sqlite3_step (stmt->stmt);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
        self->base.failure = PST_SQL_OK;
        return rc == SQLITE_ROW;
    }
    self->base.failure = s_failure_of (rc);
    if (self->base.failure != PST_SQL_CONSTRAINT) {
        char code [16];
        snprintf (code, sizeof code, "%d", rc);
        pst_log (PST_LOG_ERROR, "db_query_failed", "sqlite_rc", code,
                 "reason", sqlite3_errmsg (self->db), NULL);
    }
    return -1;
}

static int
s_changes (pst_sql_stmt_t *base)
{
    return sqlite3_changes (((s_lite_t *) base->owner)->db);
}

static void
s_done (pst_sql_stmt_t *base)
{
    s_lite_stmt_t *stmt = (s_lite_stmt_t *) base;
    pst_db_cache_done (((s_lite_t *) base->owner)->cache, stmt->stmt);
    free (stmt);
}

static int
s_is_null (pst_sql_stmt_t *base, int column)
{
    return sqlite3_column_type (((s_lite_stmt_t *) base)->stmt, column) == SQLITE_NULL;
}

static const char *
s_text (pst_sql_stmt_t *base, int column)
{
    return (const char *) sqlite3_column_text (((s_lite_stmt_t *) base)->stmt, column);
}

static int64_t
s_int64 (pst_sql_stmt_t *base, int column)
{
    return sqlite3_column_int64 (((s_lite_stmt_t *) base)->stmt, column);
}

static const void *
s_blob (pst_sql_stmt_t *base, int column, size_t *size)
{
    sqlite3_stmt *stmt = ((s_lite_stmt_t *) base)->stmt;
    const void *data = sqlite3_column_blob (stmt, column);
    *size = data? (size_t) sqlite3_column_bytes (stmt, column): 0;
    return data;
}

//  The statements that make transactions are kept prepared like the others:
//  parsing them anew for every transaction of mfa's batches was measurable
static int
s_run_kept (pst_sql_t *base, const char *sql)
{
    pst_sql_stmt_t *stmt = s_prepare (base, sql);
    int rc = stmt? s_step (stmt): -1;
    if (stmt)
        s_done (stmt);
    return rc < 0? -1: 0;
}

static int
s_begin (pst_sql_t *base)
{
    return s_run_kept (base, "BEGIN IMMEDIATE");
}

static int
s_commit (pst_sql_t *base)
{
    return s_run_kept (base, "COMMIT");
}

static int
s_rollback (pst_sql_t *base)
{
    return pst_db_rollback (((s_lite_t *) base)->db);
}

static int
s_in_transaction (pst_sql_t *base)
{
    return !sqlite3_get_autocommit (((s_lite_t *) base)->db);
}

static const pst_sql_engine_ops_t s_ops = {
    .close = s_close, .exec = s_exec, .prepare = s_prepare, .bind = s_bind, .step = s_step,
    .changes = s_changes, .done = s_done, .is_null = s_is_null, .text = s_text,
    .int64 = s_int64, .blob = s_blob, .begin = s_begin, .commit = s_commit,
    .rollback = s_rollback, .in_transaction = s_in_transaction
};

pst_sql_t *
pst_sql_sqlite_open (const char *path, const pst_sql_schema_t *schema)
{
    s_lite_t *self = (s_lite_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->base.ops = &s_ops;
    self->base.engine = PST_SQL_SQLITE;
    self->db = pst_db_open (path, schema->sqlite);
    self->cache = self->db? pst_db_cache_new (self->db): NULL;
    if (!self->cache) {
        pst_db_close (&self->db);
        free (self);
        return NULL;
    }
    return &self->base;
}
