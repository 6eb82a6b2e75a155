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
    //  client and audience is enough
    int rc = authn_store_sql_run (self,
        "INSERT INTO revocations (client_id, audience, revoked_at) VALUES (?1, ?2, ?3)"
        " ON CONFLICT (client_id, audience) DO UPDATE SET"
        "  revoked_at = MAX (revoked_at, excluded.revoked_at)",
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
    sqlite3_stmt *stmt = authn_store_sql_query (self,
        "SELECT id, client_id, audience, revoked_at FROM revocations"
        " WHERE id > ? AND revoked_at >= ? ORDER BY id LIMIT ?", "iin", after, keep_from, limit);
    if (!stmt)
        return NULL;
    json_t *list = json_array ();
    int rc = SQLITE_DONE;
    while (list && (rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        const char *client_id = (const char *) sqlite3_column_text (stmt, 1);
        const char *audience = (const char *) sqlite3_column_text (stmt, 2);
        json_t *entry = json_pack ("{s:s, s:s?, s:I}", "client_id", client_id? client_id: "",
            "audience", audience && *audience? audience: NULL,
            "revoked_at", (json_int_t) sqlite3_column_int64 (stmt, 3));
        if (!entry || json_array_append_new (list, entry) != 0) {
            json_decref (list);
            list = NULL;
            break;
        }
        *last_p = sqlite3_column_int64 (stmt, 0);
    }
    if (list && rc != SQLITE_DONE) {
        json_decref (list);
        list = NULL;
    }
    sqlite3_finalize (stmt);
    return list;
}

int64_t
authn_store_revoked_at (authn_store_t *self, const char *client_id, const char *audience)
{
    sqlite3_stmt *stmt = authn_store_sql_query (self,
        "SELECT revoked_at FROM revocations WHERE client_id = ? AND audience = ?", "tt",
        client_id, audience? audience: "");
    if (!stmt)
        return -1;
    int rc = sqlite3_step (stmt);
    int64_t revoked_at = rc == SQLITE_ROW? sqlite3_column_int64 (stmt, 0): rc == SQLITE_DONE? 0: -1;
    sqlite3_finalize (stmt);
    return revoked_at;
}

int
authn_store_system_lifetime_max (authn_store_t *self)
{
    sqlite3_stmt *stmt = authn_store_sql_query (self,
        "SELECT MAX (token_lifetime) FROM resource_servers WHERE is_system = 1", NULL);
    if (!stmt)
        return -1;
    int lifetime = sqlite3_step (stmt) == SQLITE_ROW? sqlite3_column_int (stmt, 0): -1;
    sqlite3_finalize (stmt);
    return lifetime;
}
