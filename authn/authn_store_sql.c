#include "authn_store_sql.h"
#include "pst_log.h"
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

static sqlite3_stmt *
s_vquery (authn_store_t *self, const char *sql, const char *format, va_list args)
{
    sqlite3_stmt *stmt = pst_db_prepare (self->db, sql);
    if (!stmt)
        return NULL;
    int rc = SQLITE_OK;
    for (int index = 1; format && format [index - 1] && rc == SQLITE_OK; index++) {
        switch (format [index - 1]) {
            case 't': {
                const char *text = va_arg (args, const char *);
                rc = text? sqlite3_bind_text (stmt, index, text, -1, SQLITE_STATIC)
                         : sqlite3_bind_null (stmt, index);
                break;
            }
            case 'i':
                rc = sqlite3_bind_int64 (stmt, index, va_arg (args, int64_t));
                break;
            case 'n':
                rc = sqlite3_bind_int (stmt, index, va_arg (args, int));
                break;
            default:
                rc = SQLITE_MISUSE;
        }
    }
    if (rc != SQLITE_OK) {
        pst_log (PST_LOG_ERROR, "db_bind_failed", "reason", sqlite3_errmsg (self->db), NULL);
        sqlite3_finalize (stmt);
        return NULL;
    }
    return stmt;
}

sqlite3_stmt *
authn_store_sql_query (authn_store_t *self, const char *sql, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    sqlite3_stmt *stmt = s_vquery (self, sql, format, args);
    va_end (args);
    return stmt;
}

int
authn_store_sql_finish (sqlite3_stmt *stmt)
{
    if (!stmt)
        return -1;
    int rc = sqlite3_step (stmt);
    sqlite3_finalize (stmt);
    return rc == SQLITE_DONE? 0: (rc & 0xff) == SQLITE_CONSTRAINT? 1: -1;
}

int
authn_store_sql_run (authn_store_t *self, const char *sql, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    sqlite3_stmt *stmt = s_vquery (self, sql, format, args);
    va_end (args);
    return authn_store_sql_finish (stmt);
}
