#include "authn_store_sql.h"
#include <stdarg.h>

sqlite3_stmt *
authn_store_sql_query (authn_store_t *self, const char *sql, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    sqlite3_stmt *stmt = pst_db_vquery (self->db, sql, format, args);
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
    sqlite3_stmt *stmt = pst_db_vquery (self->db, sql, format, args);
    va_end (args);
    return authn_store_sql_finish (stmt);
}
