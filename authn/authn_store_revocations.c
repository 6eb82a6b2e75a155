//  authn_store: revocations, the tokens stopped by the deletion of their client
//  or client grant. "Every audience" is stored as '' (no API has an empty
//  identifier), so that one UNIQUE constraint holds for both kinds.
#include "authn_store.h"
#include "authn_store_sql.h"
#include <stdlib.h>

int
authn_store_revoke (authn_store_t *self, const char *client_id, const char *audience,
                    int64_t revoked_at, int64_t keep_from)
{
    //  A later revocation covers every token an earlier one did: one row per
    //  client and audience is enough. The larger of two is a CASE: SQLite has
    //  no GREATEST, PostgreSQL no two-argument MAX.
    int rc = authn_store_sql_run (self,
        "INSERT INTO revocations (client_id, audience, revoked_at) VALUES (?1, ?2, ?3)"
        " ON CONFLICT (client_id, audience) DO UPDATE SET"
        "  revoked_at = CASE WHEN excluded.revoked_at > revocations.revoked_at"
        "                    THEN excluded.revoked_at ELSE revocations.revoked_at END",
        "tti", client_id, audience? audience: "", revoked_at);
    if (rc == 0)
        rc = authn_store_sql_run (self, "DELETE FROM revocations WHERE revoked_at < ?", "i",
                                  keep_from);
    return rc == 0? 0: -1;
}

json_t *
authn_store_revocations (authn_store_t *self, int64_t after, int64_t keep_from, int limit,
                         int64_t *last_p)
{
    *last_p = after;
    pst_sql_stmt_t *stmt = pst_sql_query (self->sql,
        "SELECT id, client_id, audience, revoked_at FROM revocations"
        " WHERE id > ? AND revoked_at >= ? ORDER BY id LIMIT ?", "iin", after, keep_from, limit);
    if (!stmt)
        return NULL;
    json_t *list = json_array ();
    int rc = 0;
    while (list && (rc = pst_sql_step (stmt)) == 1) {
        const char *client_id = pst_sql_text (stmt, 1);
        const char *audience = pst_sql_text (stmt, 2);
        json_t *entry = json_pack ("{s:s, s:s?, s:I}", "client_id", client_id? client_id: "",
            "audience", audience && *audience? audience: NULL,
            "revoked_at", (json_int_t) pst_sql_int64 (stmt, 3));
        if (!entry || json_array_append_new (list, entry) != 0) {
            json_decref (list);
            list = NULL;
            break;
        }
        *last_p = pst_sql_int64 (stmt, 0);
    }
    if (list && rc != 0) {
        json_decref (list);
        list = NULL;
    }
    pst_sql_done (stmt);
    return list;
}

int64_t
authn_store_revoked_at (authn_store_t *self, const char *client_id, const char *audience)
{
    pst_sql_stmt_t *stmt = pst_sql_query (self->sql,
        "SELECT revoked_at FROM revocations WHERE client_id = ? AND audience = ?", "tt",
        client_id, audience? audience: "");
    if (!stmt)
        return -1;
    int rc = pst_sql_step (stmt);
    int64_t revoked_at = rc == 1? pst_sql_int64 (stmt, 0): rc == 0? 0: -1;
    pst_sql_done (stmt);
    return revoked_at;
}

int
authn_store_system_lifetime_max (authn_store_t *self)
{
    //  No system API yet reads as 0, as it did
    int64_t lifetime = pst_sql_scalar (self->sql, 0,
        "SELECT MAX (token_lifetime) FROM resource_servers WHERE is_system = 1", NULL);
    return (int) lifetime;
}
