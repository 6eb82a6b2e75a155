#include "authn_revoke.h"
#include "pst_error.h"
#include "pst_log.h"
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

//  Time a grant creation keeps for its answer after waiting
#define WAIT_MARGIN_MS  200

//  The oldest revocation a token still valid at now (Unix ms) can match: one
//  the longest lifetime and the margin ago. 0, or -1 on error.
static int
s_keep_from (authn_worker_t *worker, int64_t now, int64_t *keep_from_p)
{
    int lifetime = authn_store_system_lifetime_max (worker->store);
    *keep_from_p = now - ((int64_t) lifetime + AUTHN_REVOKE_MARGIN_S) * 1000;
    return lifetime < 0? -1: 0;
}

//  Records that client_id's tokens for audience (NULL: all) issued until now
//  are revoked, pruning what no valid token can match any more. 0 or -1.
static int
s_record (authn_worker_t *worker, const char *client_id, const char *audience)
{
    int64_t now = authn_config_now_ms (worker->config), keep_from;
    if (s_keep_from (worker, now, &keep_from))
        return -1;
    return authn_store_revoke (worker->store, client_id, audience, now, keep_from);
}

//  Whose tokens deleting id stops: a client's for every audience, a grant's
//  for its audience. 0 with both set (caller frees), 1 when id names nothing,
//  -1 on error.
static int
s_holder (authn_store_t *store, authn_resource_t resource, const char *id,
          char **client_id_p, char **audience_p)
{
    *client_id_p = *audience_p = NULL;
    if (resource == AUTHN_CLIENTS) {
        *client_id_p = strdup (id);
        return *client_id_p? 0: -1;
    }
    json_t *grant = resource == AUTHN_CLIENT_GRANTS? authn_store_get (store, resource, id): NULL;
    if (!grant)
        return resource == AUTHN_CLIENT_GRANTS? 1: -1;
    const char *client_id = json_string_value (json_object_get (grant, "client_id"));
    const char *audience = json_string_value (json_object_get (grant, "audience"));
    *client_id_p = client_id? strdup (client_id): NULL;
    *audience_p = audience? strdup (audience): NULL;
    json_decref (grant);
    return *client_id_p && *audience_p? 0: -1;
}

int
authn_revoke_delete (authn_worker_t *worker, authn_resource_t resource, const char *id)
{
    authn_store_t *store = worker->store;
    if (authn_store_begin (store) != 0)
        return -1;
    char *client_id = NULL, *audience = NULL;
    int deleted = s_holder (store, resource, id, &client_id, &audience);
    if (deleted == 0)
        deleted = authn_store_delete (store, resource, id);
    else
        deleted = deleted == 1? 0: -1;
    if (deleted > 0 && s_record (worker, client_id, audience) != 0)
        deleted = -1;
    if (deleted >= 0 && authn_store_commit (store) != 0)
        deleted = -1;
    if (deleted < 0)
        authn_store_rollback (store);
    if (deleted > 0) {
        //  Stamped again now that the deletion is visible: a token whose
        //  request began before this moment may have read the grant
        if (s_record (worker, client_id, audience) != 0)
            pst_log (PST_LOG_WARN, "revocation_restamp_failed", "client_id", client_id, NULL);
        pst_log (PST_LOG_INFO, "tokens_revoked", "client_id", client_id,
                 "audience", audience? audience: "*", NULL);
    }
    free (client_id);
    free (audience);
    return deleted;
}

int
authn_revoke_wait (authn_worker_t *worker, const pst_msg_t *request, pst_msg_t *reply,
                   const char *client_id, const char *audience)
{
    while (true) {
        int64_t revoked_at = authn_store_revoked_at (worker->store, client_id, audience);
        if (revoked_at < 0)
            return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database error");
        //  Tokens count iat in seconds: the next second is after revoked_at
        int64_t wait = (revoked_at / 1000 + 1) * 1000 - authn_config_now_ms (worker->config);
        if (revoked_at == 0 || wait <= 0)
            return 0;
        if (wait > pst_msg_remaining_ms (request) - WAIT_MARGIN_MS)
            return pst_msg_fail (reply, PST_ERR_CONFLICT,
                "The client grant for that client and audience was deleted a moment ago: "
                "try again in a second");
        zclock_sleep ((int) (wait < 50? wait: 50));
    }
}

int
authn_revoke_list (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    authn_worker_t *self = (authn_worker_t *) worker;
    json_t *after = json_object_get (pst_msg_body (request), "after");
    if (after && (!json_is_integer (after) || json_integer_value (after) < 0))
        return pst_msg_fail (reply, PST_ERR_INVALID_REQUEST,
                             "Invalid parameter: after must be an integer");
    int64_t keep_from, next = 0;
    json_t *list = s_keep_from (self, authn_config_now_ms (self->config), &keep_from)? NULL
                 : authn_store_revocations (self->store, after? (int64_t) json_integer_value (after): 0,
                                            keep_from, AUTHN_REVOKE_PAGE, &next);
    //  The signing keys' generation rides along: a gateway that sees it change
    //  renews the key set it serves (a rotation through another gateway)
    int64_t generation = list? authn_store_signing_generation (self->store): -1;
    if (!list || generation < 0) {
        json_decref (list);
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Database error");
    }
    json_t *body = json_pack ("{s:o, s:I, s:b, s:I}", "revocations", list, "next", (json_int_t) next,
                              "more", json_array_size (list) == AUTHN_REVOKE_PAGE,
                              "keys_generation", (json_int_t) generation);
    if (!body)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Out of memory");
    pst_msg_set_body (reply, &body);
    return 0;
}
