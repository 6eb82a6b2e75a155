#include "mfa_store_sql.h"
#include "pst_log.h"
#include <stdarg.h>
#include <stdio.h>

sqlite3_stmt *
mfa_store_sql_query (mfa_store_t *self, const char *sql, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    sqlite3_stmt *stmt = pst_db_cache_vquery (self->cache, sql, format, args);
    va_end (args);
    return stmt;
}

void
mfa_store_sql_done (mfa_store_t *self, sqlite3_stmt *stmt)
{
    pst_db_cache_done (self->cache, stmt);
}

int
mfa_store_sql_run (mfa_store_t *self, const char *sql, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    sqlite3_stmt *stmt = pst_db_cache_vquery (self->cache, sql, format, args);
    va_end (args);
    if (!stmt)
        return -1;
    int rc = sqlite3_step (stmt);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        pst_log (PST_LOG_ERROR, "db_statement_failed", "reason", sqlite3_errmsg (self->db), NULL);
    mfa_store_sql_done (self, stmt);
    return rc == SQLITE_DONE || rc == SQLITE_ROW? sqlite3_changes (self->db): -1;
}

int
mfa_store_sql_step (mfa_store_t *self, sqlite3_stmt *stmt)
{
    int rc = sqlite3_step (stmt);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    pst_log (PST_LOG_ERROR, "db_query_failed", "reason", sqlite3_errmsg (self->db), NULL);
    return -1;
}

int64_t
mfa_store_sql_scalar (mfa_store_t *self, int64_t dflt, const char *sql, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    sqlite3_stmt *stmt = pst_db_cache_vquery (self->cache, sql, format, args);
    va_end (args);
    if (!stmt)
        return -1;
    int rc = mfa_store_sql_step (self, stmt);
    int64_t value = rc == 1? sqlite3_column_int64 (stmt, 0): rc == 0? dflt: -1;
    mfa_store_sql_done (self, stmt);
    return value;
}

json_t *
mfa_store_sql_json (sqlite3_stmt *stmt, int column)
{
    const unsigned char *text = sqlite3_column_text (stmt, column);
    return text? json_string ((const char *) text): json_null ();
}

void
mfa_store_sql_copy (sqlite3_stmt *stmt, int column, char *out, size_t size)
{
    const unsigned char *text = sqlite3_column_text (stmt, column);
    snprintf (out, size, "%s", text? (const char *) text: "");
}
