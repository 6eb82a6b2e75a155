//  mfa_store: mail as data, the stored email templates and email provider.
//  Documents are JSON text; the provider's password is a sealed blob beside
//  its document, sealed and opened by the caller (mfa_provider).
#include "mfa_store.h"
#include "mfa_store_sql.h"
#include <stdlib.h>
#include <string.h>

int
mfa_store_mail_generations (mfa_store_t *self, const char *name,
                            int64_t *template_generation, int64_t *provider_generation)
{
    *template_generation = 0;
    *provider_generation = 0;
    pst_sql_stmt_t *stmt = mfa_store_sql_query (self,
        "SELECT (SELECT generation FROM email_templates WHERE name = ?),"
        " (SELECT generation FROM email_provider WHERE id = 1)", "t", name);
    if (!stmt)
        return -1;
    int rc = mfa_store_sql_step (self, stmt);
    if (rc == 1) {
        *template_generation = pst_sql_is_null (stmt, 0)? 0: pst_sql_int64 (stmt, 0);
        *provider_generation = pst_sql_is_null (stmt, 1)? 0: pst_sql_int64 (stmt, 1);
    }
    pst_sql_done (stmt);
    return rc == 1? 0: -1;
}

//  The document of a row: 1 and *document_p, 0 none, -1 error (also a
//  document that is not a JSON object: not one we wrote).
static int
s_document (pst_sql_stmt_t *stmt, int column, json_t **document_p)
{
    const char *text = pst_sql_text (stmt, column);
    json_t *document = text? json_loads (text, 0, NULL): NULL;
    if (!json_is_object (document)) {
        json_decref (document);
        return -1;
    }
    *document_p = document;
    return 1;
}

json_t *
mfa_store_template_get (mfa_store_t *self, const char *name, int64_t *generation_p,
                        int *failed_p)
{
    *failed_p = 1;
    pst_sql_stmt_t *stmt = mfa_store_sql_query (self,
        "SELECT document, generation FROM email_templates WHERE name = ?", "t", name);
    if (!stmt)
        return NULL;
    json_t *document = NULL;
    int rc = mfa_store_sql_step (self, stmt);
    if (rc == 1) {
        rc = s_document (stmt, 0, &document);
        *generation_p = pst_sql_int64 (stmt, 1);
    }
    pst_sql_done (stmt);
    *failed_p = rc < 0;
    return document;
}

int
mfa_store_template_put (mfa_store_t *self, const char *name, const json_t *document,
                        int64_t now)
{
    char *text = json_dumps (document, JSON_COMPACT);
    if (!text)
        return -1;
    //  One statement, so that two instances saving at once both count
    int rc = mfa_store_sql_run (self,
        "INSERT INTO email_templates (name, document, generation, updated_at)"
        " VALUES (?, ?, 1, ?) ON CONFLICT (name) DO UPDATE SET"
        " document = excluded.document, generation = email_templates.generation + 1,"
        " updated_at = excluded.updated_at", "tti", name, text, now);
    free (text);
    return rc == 1? 0: -1;
}

json_t *
mfa_store_provider_get (mfa_store_t *self, int64_t *generation_p, uint8_t **sealed_p,
                        size_t *sealed_size_p, int *failed_p)
{
    *failed_p = 1;
    if (sealed_p) {
        *sealed_p = NULL;
        *sealed_size_p = 0;
    }
    pst_sql_stmt_t *stmt = mfa_store_sql_query (self,
        "SELECT document, generation, password FROM email_provider WHERE id = 1", "");
    if (!stmt)
        return NULL;
    json_t *document = NULL;
    int rc = mfa_store_sql_step (self, stmt);
    if (rc == 1)
        rc = s_document (stmt, 0, &document);
    if (rc == 1) {
        *generation_p = pst_sql_int64 (stmt, 1);
        size_t size = 0;
        const void *data = pst_sql_blob (stmt, 2, &size);
        if (sealed_p && data && size > 0) {
            *sealed_p = (uint8_t *) malloc (size);
            if (*sealed_p) {
                memcpy (*sealed_p, data, size);
                *sealed_size_p = size;
            }
            else
                rc = -1;
        }
    }
    pst_sql_done (stmt);
    if (rc < 0) {
        json_decref (document);
        document = NULL;
        if (sealed_p) {
            free (*sealed_p);
            *sealed_p = NULL;
        }
    }
    *failed_p = rc < 0;
    return document;
}

int
mfa_store_provider_put (mfa_store_t *self, int insert, const json_t *document,
                        const uint8_t *sealed, size_t sealed_size, int64_t now)
{
    char *text = json_dumps (document, JSON_COMPACT);
    if (!text)
        return -1;
    //  A NULL blob when there is no password: bound as an empty one would be
    //  a password of nothing
    int rc = insert
        ? mfa_store_sql_run (self,
            "INSERT INTO email_provider (id, document, password, generation, updated_at)"
            " VALUES (1, ?, ?, 1, ?) ON CONFLICT (id) DO NOTHING",
            "tbi", text, sealed, sealed? sealed_size: 0, now)
        : mfa_store_sql_run (self,
            "UPDATE email_provider SET document = ?, password = ?,"
            " generation = generation + 1, updated_at = ? WHERE id = 1",
            "tbi", text, sealed, sealed? sealed_size: 0, now);
    free (text);
    return rc < 0? -1: rc > 0? 1: 0;
}
