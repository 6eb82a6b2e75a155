//  authn_store: refresh tokens (refresh_tokens), found by the SHA-256 of the
//  token. The exchange's read-then-write runs in the caller's transaction
//  (authn_refresh), which on PostgreSQL holds authn's lock: two uses of one
//  token cannot both find it live.
#include "authn_store.h"
#include "authn_store_sql.h"
#include <stdlib.h>

void
authn_refresh_token_destroy (authn_refresh_token_t **self_p)
{
    if (self_p && *self_p) {
        authn_refresh_token_t *self = *self_p;
        free (self->family_id);
        free (self->user_id);
        free (self->client_id);
        free (self->audience);
        free (self->scope);
        free (self);
        *self_p = NULL;
    }
}

int
authn_store_refresh_add (authn_store_t *self, const char *token_hash,
                         const authn_refresh_token_t *token)
{
    int rc = authn_store_sql_run (self,
        "INSERT INTO refresh_tokens (token_hash, family_id, user_id, client_id, audience, scope,"
        "  auth_time, created_at, last_used_at, expires_at, idle_expires_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "ttttttiiiii",
        token_hash, token->family_id, token->user_id, token->client_id, token->audience,
        token->scope, token->auth_time, token->created_at, token->last_used_at,
        token->expires_at, token->idle_expires_at);
    return rc == 0? 0: -1;
}

int
authn_store_refresh_find (authn_store_t *self, const char *token_hash,
                          authn_refresh_token_t **token_p)
{
    *token_p = NULL;
    pst_sql_stmt_t *stmt = pst_sql_query (self->sql,
        "SELECT family_id, user_id, client_id, audience, scope, auth_time, created_at,"
        "  last_used_at, expires_at, idle_expires_at, rotated_at, revoked_at"
        " FROM refresh_tokens WHERE token_hash = ?", "t", token_hash);
    if (!stmt)
        return -1;
    int rc = pst_sql_step (stmt);
    if (rc == 1) {
        authn_refresh_token_t *token = (authn_refresh_token_t *) calloc (1, sizeof *token);
        if (token) {
            token->family_id = pst_sql_strdup (stmt, 0);
            token->user_id = pst_sql_strdup (stmt, 1);
            token->client_id = pst_sql_strdup (stmt, 2);
            token->audience = pst_sql_strdup (stmt, 3);
            token->scope = pst_sql_strdup (stmt, 4);
            token->auth_time = pst_sql_int64 (stmt, 5);
            token->created_at = pst_sql_int64 (stmt, 6);
            token->last_used_at = pst_sql_int64 (stmt, 7);
            token->expires_at = pst_sql_int64 (stmt, 8);
            token->idle_expires_at = pst_sql_int64 (stmt, 9);
            token->rotated_at = pst_sql_int64 (stmt, 10);
            token->revoked_at = pst_sql_int64 (stmt, 11);
        }
        if (!token || !token->family_id || !token->user_id || !token->client_id
        ||  !token->audience || !token->scope) {
            authn_refresh_token_destroy (&token);
            rc = -1;
        }
        *token_p = token;
    }
    pst_sql_done (stmt);
    return rc == 1? 0: rc == 0? 1: -1;
}

int
authn_store_refresh_rotate (authn_store_t *self, const char *token_hash, int64_t now)
{
    int changed = pst_sql_run (self->sql,
        "UPDATE refresh_tokens SET rotated_at = ?1, last_used_at = ?1"
        " WHERE token_hash = ?2 AND rotated_at IS NULL AND revoked_at IS NULL",
        "it", now, token_hash);
    return changed < 0? -1: changed == 1? 0: 1;
}

int
authn_store_refresh_revoke_family (authn_store_t *self, const char *family_id, int64_t now)
{
    return authn_store_sql_run (self,
        "UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL",
        "it", now, family_id) == 0? 0: -1;
}

int
authn_store_refresh_forget_user (authn_store_t *self, const char *user_id)
{
    return authn_store_sql_run (self, "DELETE FROM refresh_tokens WHERE user_id = ?", "t",
                                user_id) == 0? 0: -1;
}

int
authn_store_refresh_prune (authn_store_t *self, int64_t now)
{
    //  A revoked family answers as an unknown one does, so it can go at once;
    //  a family's newest token has its latest idle expiry
    return authn_store_sql_run (self,
        "DELETE FROM refresh_tokens WHERE expires_at <= ?1 OR revoked_at IS NOT NULL"
        " OR family_id IN (SELECT family_id FROM refresh_tokens"
        "                  GROUP BY family_id HAVING MAX (idle_expires_at) <= ?1)",
        "i", now) == 0? 0: -1;
}
