#include "authn_refresh.h"
#include "authn_clientauth.h"
#include "pst_crypto.h"
#include "pst_error.h"
#include "pst_json.h"
#include "pst_log.h"
#include <sodium.h>
#include <string.h>

//  256 random bits, as base64url: 43 characters
#define TOKEN_BYTES         32
#define TOKEN_TEXT_SIZE     48
//  authn has no timer of its own: each worker deletes the dead families once
//  every this many refresh tokens it issues
#define PRUNE_EVERY         64

//  Auth0's answer to every refresh token it will not exchange, whatever the
//  reason: the caller learns nothing about tokens it should not hold
#define INVALID_TOKEN       "Unknown or invalid refresh token."

//  Fails reply with the body emptied: tokens signed before the failure must
//  not go out beside the error (the gateway copies an error's body members)
static int
s_fail (pst_msg_t *reply, const char *code, const char *text)
{
    json_t *empty = json_object ();
    if (empty)
        pst_msg_set_body (reply, &empty);
    return pst_msg_fail (reply, code, "%s", text);
}

static void
s_hash (const char *token, char hash [65])
{
    pst_sha256_hex (token, strlen (token), hash);
}

//  Makes a token, stores its hash with row's fields, and sets it in the
//  reply's body. 0 or -1 (nothing set).
static int
s_mint (authn_worker_t *worker, const authn_refresh_token_t *row, pst_msg_t *reply)
{
    char token [TOKEN_TEXT_SIZE], hash [65];
    if (pst_random_token (token, sizeof token, TOKEN_BYTES))
        return -1;
    s_hash (token, hash);
    int rc = *hash && authn_store_refresh_add (worker->store, hash, row) == 0
           && json_object_set_new (pst_msg_body (reply), "refresh_token", json_string (token)) == 0
           ? 0: -1;
    sodium_memzero (token, sizeof token);
    return rc;
}

static void
s_prune_now_and_then (authn_worker_t *worker, int64_t now)
{
    if (worker->refreshes++ % PRUNE_EVERY == 0
    &&  authn_store_refresh_prune (worker->store, now))
        pst_log (PST_LOG_ERROR, "refresh_prune_failed", NULL);
}

int
authn_refresh_issue (authn_worker_t *worker, const char *user_id, const char *client_id,
                     const char *audience, const char *scope, int64_t auth_time,
                     int64_t now, pst_msg_t *reply)
{
    s_prune_now_and_then (worker, now);
    const authn_config_t *config = worker->config;
    char family [33];
    if (pst_random_hex (family, sizeof family, 16))
        return s_fail (reply, PST_ERR_INTERNAL, "Could not make the refresh token");
    authn_refresh_token_t row = {
        family, (char *) user_id, (char *) client_id, (char *) audience, (char *) scope,
        auth_time, now, now, now + config->refresh_lifetime_s, now + config->refresh_idle_s, 0, 0
    };
    if (s_mint (worker, &row, reply))
        return s_fail (reply, PST_ERR_INTERNAL, "Could not store the refresh token");
    return 0;
}

int
authn_refresh_take (authn_worker_t *worker, const char *client_id, const char *presented,
                    int64_t now, pst_msg_t *reply, authn_refresh_token_t **token_p)
{
    *token_p = NULL;
    char hash [65];
    s_hash (presented, hash);
    if (!*hash || authn_store_begin (worker->store))
        return s_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    authn_refresh_token_t *token = NULL;
    int found = authn_store_refresh_find (worker->store, hash, &token);
    if (found < 0) {
        authn_store_rollback (worker->store);
        return s_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    }
    const char *refused = NULL;
    if (found == 1 || token->revoked_at || strcmp (token->client_id, client_id) != 0)
        refused = "refresh_token_unknown";
    else
    if (token->rotated_at) {
        //  Reuse: whoever holds the family's live token may be a thief, or the
        //  thief used this one first. Either way the family goes.
        refused = "refresh_token_reused";
        if (authn_store_refresh_revoke_family (worker->store, token->family_id, now)
        ||  authn_store_commit (worker->store)) {
            authn_store_rollback (worker->store);
            authn_refresh_token_destroy (&token);
            return s_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
        }
    }
    else
    if (now >= token->expires_at || now >= token->idle_expires_at)
        refused = "refresh_token_expired";
    if (refused) {
        authn_store_rollback (worker->store);
        pst_log (PST_LOG_WARN, refused, "client_id", client_id,
                 "user_id", token? token->user_id: NULL,
                 NULL);
        authn_refresh_token_destroy (&token);
        return s_fail (reply, PST_ERR_INVALID_GRANT, INVALID_TOKEN);
    }
    *token_p = token;
    return 0;
}

int
authn_refresh_rotate (authn_worker_t *worker, const char *presented,
                      const authn_refresh_token_t *token, int64_t now, pst_msg_t *reply)
{
    char hash [65];
    s_hash (presented, hash);
    authn_refresh_token_t successor = *token;
    successor.created_at = now;
    successor.last_used_at = now;
    successor.idle_expires_at = now + worker->config->refresh_idle_s;
    //  Never past the family's absolute expiry
    if (successor.idle_expires_at > token->expires_at)
        successor.idle_expires_at = token->expires_at;
    //  Within the transaction the token was found live, so it is retired here
    //  (0) unless the store fails
    if (*hash && authn_store_refresh_rotate (worker->store, hash, now) == 0
    &&  s_mint (worker, &successor, reply) == 0
    &&  authn_store_commit (worker->store) == 0) {
        s_prune_now_and_then (worker, now);
        return 0;
    }
    authn_store_rollback (worker->store);
    return s_fail (reply, PST_ERR_INTERNAL, "Could not rotate the refresh token");
}

void
authn_refresh_abandon (authn_worker_t *worker)
{
    authn_store_rollback (worker->store);
}

int
authn_refresh_revoke (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    authn_worker_t *self = (authn_worker_t *) worker;
    authn_client_t *client = authn_clientauth_check (self, request, reply, 0);
    if (!client)
        return -1;
    //  Present: the catalogue's row requires it
    const char *presented = pst_json_str (pst_msg_body (request), "token");
    char hash [65];
    s_hash (presented, hash);
    authn_refresh_token_t *token = NULL;
    int found = *hash? authn_store_refresh_find (self->store, hash, &token): -1;
    int rc = 0;
    if (found < 0)
        rc = pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
    else
    if (found == 0 && strcmp (token->client_id, client->client_id) != 0)
        rc = pst_msg_fail (reply, PST_ERR_INVALID_GRANT,
                           "The refresh token was not issued to this client.");
    else
    if (found == 0 && !token->revoked_at) {
        rc = authn_store_refresh_revoke_family (self->store, token->family_id,
                                                authn_config_now (self->config));
        if (rc)
            pst_msg_fail (reply, PST_ERR_INTERNAL, "Database unavailable");
        else
            pst_log (PST_LOG_INFO, "refresh_token_revoked", "client_id", client->client_id,
                     "user_id", token->user_id, NULL);
    }
    authn_refresh_token_destroy (&token);
    authn_client_destroy (&client);
    return rc;
}
