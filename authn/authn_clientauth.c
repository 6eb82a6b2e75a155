#include "authn_clientauth.h"
#include "pst_crypto.h"
#include "pst_error.h"
#include "pst_json.h"
#include "pst_log.h"
#include <string.h>

authn_client_t *
authn_clientauth_check (authn_worker_t *worker, const pst_msg_t *request, pst_msg_t *reply,
                        int secret_optional)
{
    const char *client_id = pst_json_str (pst_msg_body (request), "client_id");
    if (!client_id) {
        pst_msg_fail (reply, PST_ERR_INVALID_REQUEST, "Missing required parameter: client_id");
        return NULL;
    }
    authn_client_t *client = authn_store_client (worker->store, client_id);
    if (!client) {
        pst_msg_fail (reply, PST_ERR_INVALID_CLIENT, "Unknown client.");
        return NULL;
    }
    const char *secret = pst_json_str (pst_msg_body (request), "client_secret");
    if (!authn_client_is_public (client)) {
        if (!secret && !secret_optional) {
            pst_msg_fail (reply, PST_ERR_INVALID_CLIENT,
                          "Client authentication failed: client_secret is required.");
            authn_client_destroy (&client);
        }
        else
        if (secret && !pst_sha256_matches_hex (secret, client->secret_hash)) {
            pst_msg_fail (reply, PST_ERR_INVALID_CLIENT, "Client authentication failed.");
            pst_log (PST_LOG_INFO, "client_auth_failed", "client_id", client_id,
                     "ip", pst_msg_client_ip (request), NULL);
            authn_client_destroy (&client);
        }
    }
    return client;
}

static int
s_same (const char *a, const char *b)
{
    return a == b || (a && b && strcmp (a, b) == 0);
}

int
authn_clientauth_unchanged (authn_worker_t *worker, const authn_client_t *client)
{
    authn_client_t *now = authn_store_client (worker->store, client->client_id);
    int same = now && authn_client_is_public (now) == authn_client_is_public (client)
            && s_same (now->secret_hash, client->secret_hash);
    authn_client_destroy (&now);
    return same;
}
