//  mfa_store_sql: the statement helpers of mfa_store over pst_sql. Every
//  statement of the store passes here, so a failure inside a transaction is
//  noticed in one place (mfa_store_in_transaction).
#include "mfa_store_sql.h"
#include <stdio.h>

static void
s_note_failure (mfa_store_t *self)
{
    if (pst_sql_in_transaction (self->sql))
        self->failed = true;
}

pst_sql_stmt_t *
mfa_store_sql_noted_stmt (mfa_store_t *self, pst_sql_stmt_t *stmt)
{
    if (!stmt)
        s_note_failure (self);
    return stmt;
}

int
mfa_store_sql_noted (mfa_store_t *self, int rc)
{
    if (rc < 0)
        s_note_failure (self);
    return rc;
}

int64_t
mfa_store_sql_noted_scalar (mfa_store_t *self, int64_t value)
{
    //  -1 may be an answer: the failure says whether it was one
    if (value == -1 && pst_sql_failure (self->sql) != PST_SQL_OK)
        s_note_failure (self);
    return value;
}

int
mfa_store_sql_step (mfa_store_t *self, pst_sql_stmt_t *stmt)
{
    int rc = pst_sql_step (stmt);
    if (rc < 0)
        s_note_failure (self);
    return rc;
}

json_t *
mfa_store_sql_json (pst_sql_stmt_t *stmt, int column)
{
    const char *text = pst_sql_text (stmt, column);
    return text? json_string (text): json_null ();
}

void
mfa_store_sql_copy (pst_sql_stmt_t *stmt, int column, char *out, size_t size)
{
    const char *text = pst_sql_text (stmt, column);
    snprintf (out, size, "%s", text? text: "");
}
