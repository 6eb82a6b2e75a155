/*  pst_sql - the engine-neutral face of a SQL connection: chooses the engine
    from the location, then dispatches to it.
*/
#include "pst_sql.h"
#include "pst_sql_engine.h"
#include "pst_log.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static _Thread_local int s_unavailable_seen;

int
pst_sql_unavailable_seen (void)
{
    return s_unavailable_seen;
}

void
pst_sql_unavailable_clear (void)
{
    s_unavailable_seen = 0;
}

void
pst_sql_unavailable_note (void)
{
    s_unavailable_seen = 1;
}

//  Passes a call's result through, noting an unreachable database
static int
s_noted (pst_sql_t *self, int rc)
{
    if (rc < 0 && self->failure == PST_SQL_UNAVAILABLE)
        s_unavailable_seen = 1;
    return rc;
}

int
pst_sql_is_postgres (const char *location)
{
    return location && (strncasecmp (location, "postgres://", 11) == 0
                    ||  strncasecmp (location, "postgresql://", 13) == 0);
}

//  A schema name goes into SQL text on PostgreSQL: keep it to what needs no quoting
static int
s_schema_name_valid (const char *name)
{
    size_t length = name? strlen (name): 0;
    if (length == 0 || length > 48)
        return 0;
    for (size_t i = 0; i < length; i++)
        if (!((name [i] >= 'a' && name [i] <= 'z') || name [i] == '_'))
            return 0;
    return 1;
}

pst_sql_t *
pst_sql_open (const char *location, const pst_sql_schema_t *schema)
{
    if (!location || !*location || !schema || !s_schema_name_valid (schema->name)) {
        pst_log (PST_LOG_ERROR, "db_open_failed", "reason", "no database or bad schema name", NULL);
        return NULL;
    }
    if (pst_sql_is_postgres (location))
        return pst_sql_pg_open (location, schema);
    return pst_sql_sqlite_open (location, schema);
}

void
pst_sql_close (pst_sql_t **self_p)
{
    if (self_p && *self_p) {
        (*self_p)->ops->close (*self_p);
        *self_p = NULL;
    }
}

pst_sql_engine_t
pst_sql_engine (pst_sql_t *self)
{
    return self->engine;
}

int
pst_sql_exec (pst_sql_t *self, const char *script)
{
    return s_noted (self, self->ops->exec (self, script));
}

//  Prepares sql and binds one value per letter of format, in order
static pst_sql_stmt_t *
s_vquery (pst_sql_t *self, const char *sql, const char *format, va_list args)
{
    pst_sql_stmt_t *stmt = self->ops->prepare (self, sql);
    for (int index = 1; stmt && format && format [index - 1]; index++) {
        pst_sql_value_t value = { 0 };
        value.type = format [index - 1];
        switch (value.type) {
            case 't': value.text = va_arg (args, const char *); break;
            case 'i': value.integer = va_arg (args, int64_t); break;
            case 'n': value.type = 'i'; value.integer = va_arg (args, int); break;
            case 'b':
                value.blob = va_arg (args, const void *);
                value.size = va_arg (args, size_t);
                break;
            default:
                pst_log (PST_LOG_ERROR, "db_bind_failed", "reason", "unknown format letter", NULL);
                self->failure = PST_SQL_ERROR;
                self->ops->done (stmt);
                return NULL;
        }
        if (self->ops->bind (stmt, index, &value) != 0) {
            self->ops->done (stmt);
            stmt = NULL;
        }
    }
    return stmt;
}

pst_sql_stmt_t *
pst_sql_vquery (pst_sql_t *self, const char *sql, const char *format, va_list args)
{
    pst_sql_stmt_t *stmt = s_vquery (self, sql, format, args);
    s_noted (self, stmt? 0: -1);
    return stmt;
}

pst_sql_stmt_t *
pst_sql_query (pst_sql_t *self, const char *sql, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    pst_sql_stmt_t *stmt = s_vquery (self, sql, format, args);
    va_end (args);
    s_noted (self, stmt? 0: -1);
    return stmt;
}

pst_sql_stmt_t *
pst_sql_prepare (pst_sql_t *self, const char *sql)
{
    pst_sql_stmt_t *stmt = self->ops->prepare (self, sql);
    s_noted (self, stmt? 0: -1);
    return stmt;
}

int
pst_sql_bind_text (pst_sql_stmt_t *stmt, int index, const char *text)
{
    pst_sql_value_t value = { .type = 't', .text = text };
    return stmt->owner->ops->bind (stmt, index, &value);
}

int
pst_sql_bind_int64 (pst_sql_stmt_t *stmt, int index, int64_t integer)
{
    pst_sql_value_t value = { .type = 'i', .integer = integer };
    return stmt->owner->ops->bind (stmt, index, &value);
}

int
pst_sql_bind_null (pst_sql_stmt_t *stmt, int index)
{
    pst_sql_value_t value = { 0 };
    return stmt->owner->ops->bind (stmt, index, &value);
}

int
pst_sql_step (pst_sql_stmt_t *stmt)
{
    return s_noted (stmt->owner, stmt->owner->ops->step (stmt));
}

void
pst_sql_done (pst_sql_stmt_t *stmt)
{
    if (stmt)
        stmt->owner->ops->done (stmt);
}

int
pst_sql_run (pst_sql_t *self, const char *sql, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    pst_sql_stmt_t *stmt = s_vquery (self, sql, format, args);
    va_end (args);
    if (!stmt)
        return s_noted (self, -1);
    int rc;
    while ((rc = self->ops->step (stmt)) == 1)
        ;
    int changes = rc == 0? self->ops->changes (stmt): -1;
    self->ops->done (stmt);
    return s_noted (self, changes);
}

int64_t
pst_sql_scalar (pst_sql_t *self, int64_t dflt, const char *sql, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    pst_sql_stmt_t *stmt = s_vquery (self, sql, format, args);
    va_end (args);
    if (!stmt)
        return s_noted (self, -1);
    int rc = s_noted (self, self->ops->step (stmt));
    int64_t value = rc < 0? -1
                  : rc == 0 || self->ops->is_null (stmt, 0)? dflt
                  : self->ops->int64 (stmt, 0);
    self->ops->done (stmt);
    return value;
}

pst_sql_failure_t
pst_sql_failure (pst_sql_t *self)
{
    return self->failure;
}

int
pst_sql_is_null (pst_sql_stmt_t *stmt, int column)
{
    return stmt->owner->ops->is_null (stmt, column);
}

const char *
pst_sql_text (pst_sql_stmt_t *stmt, int column)
{
    return stmt->owner->ops->text (stmt, column);
}

int64_t
pst_sql_int64 (pst_sql_stmt_t *stmt, int column)
{
    return stmt->owner->ops->int64 (stmt, column);
}

const void *
pst_sql_blob (pst_sql_stmt_t *stmt, int column, size_t *size)
{
    return stmt->owner->ops->blob (stmt, column, size);
}

char *
pst_sql_strdup (pst_sql_stmt_t *stmt, int column)
{
    const char *text = stmt->owner->ops->text (stmt, column);
    return text? strdup (text): NULL;
}

int
pst_sql_begin (pst_sql_t *self)
{
    return s_noted (self, self->ops->begin (self));
}

int
pst_sql_commit (pst_sql_t *self)
{
    return s_noted (self, self->ops->commit (self));
}

int
pst_sql_rollback (pst_sql_t *self)
{
    return self->ops->rollback (self);
}

int
pst_sql_in_transaction (pst_sql_t *self)
{
    return self->ops->in_transaction (self);
}
