#include "authn_store_sql.h"
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int
authn_store_sql_finish (authn_store_t *self, pst_sql_stmt_t *stmt)
{
    if (!stmt)
        return -1;
    int rc;
    while ((rc = pst_sql_step (stmt)) == 1)
        ;
    pst_sql_done (stmt);
    return rc == 0? 0: pst_sql_failure (self->sql) == PST_SQL_CONSTRAINT? 1: -1;
}

int
authn_store_sql_run (authn_store_t *self, const char *sql, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    pst_sql_stmt_t *stmt = pst_sql_vquery (self->sql, sql, format, args);
    va_end (args);
    return authn_store_sql_finish (self, stmt);
}

int
authn_store_sql_is_postgres (authn_store_t *self)
{
    return pst_sql_engine (self->sql) == PST_SQL_POSTGRES;
}

char *
authn_store_sql_fold (const char *text)
{
    char *folded = text? strdup (text): NULL;
    for (char *cursor = folded; cursor && *cursor; cursor++)
        if (*cursor >= 'A' && *cursor <= 'Z')
            *cursor = (char) (*cursor - 'A' + 'a');
    return folded;
}
