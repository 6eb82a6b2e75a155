//  authn service test for refresh tokens (authn_refresh): issued with
//  offline_access where the API and the client allow it, rotated on every use,
//  a reuse revoking the family, absolute and idle expiry on a movable clock,
//  scope narrowing, another client's token refused, /oauth/revoke, two
//  concurrent uses of one token, and pruning. The real authn actor over the
//  bus, the test standing in for the gateway and for mfa.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "test_keys.h"
#include "test_peer.h"
#include "test_db.h"
#include "authn_config.h"
#include "authn_server.h"
#include "authn_store.h"
#include "pst_actor.h"
#include "pst_bus.h"
#include "pst_crypto.h"
#include "pst_error.h"
#include "pst_jwt.h"

#define MGMT_SCOPES "create:clients read:clients create:resource_servers create:users read:users " \
                    "update:resource_servers delete:users"
#define OFFLINE_API "https://offline.example/api"
#define ONLINE_API  "https://online.example/api"
#define EMAIL       "refresh@example.com"
#define PASSWORD    "correct horse battery"
#define GRANT_OOB   "http://auth0.com/oauth/grant-type/mfa-oob"
#define INVALID     "Unknown or invalid refresh token."
//  Short lifetimes, so that the clock moves past them
#define LIFETIME    1000
#define IDLE        300

static char s_dir [64];
static authn_config_t *s_config;
static zactor_t *s_authn;
static zsock_t *s_mfa;
static zsock_t *s_caller;
static int64_t s_clock_offset;
static char *s_app_id, *s_app_secret, *s_other_id, *s_other_secret, *s_plain_id, *s_plain_secret;
static char *s_user_id;

typedef void (mfa_fn) (const pst_msg_t *request, pst_msg_t *reply);

static int64_t
s_clock (void)
{
    return (int64_t) time (NULL) + s_clock_offset;
}

static void
s_send (const char *op, json_t *body, const char *scopes, pst_msg_t **request_p)
{
    pst_msg_t *request = pst_msg_new_request (op, 3000);
    pst_msg_set_client_ip (request, "192.0.2.7");
    if (body)
        pst_msg_set_body (request, &body);
    if (scopes)
        pst_msg_set_caller (request, "test-admin@clients", scopes);
    assert_int_equal (pst_bus_send (s_caller, NULL, request), 0);
    *request_p = request;
}

static void
s_serve_mfa (mfa_fn *answer, pst_msg_t **seen_p)
{
    assert_int_equal (test_peer_serve (s_mfa, answer, 3000, seen_p), 0);
}

//  The reply to request (replies to others are dropped)
static pst_msg_t *
s_reply_to (pst_msg_t **request_p)
{
    zsock_set_rcvtimeo (s_caller, 5000);
    pst_msg_t *reply = NULL;
    while (!reply) {
        reply = pst_bus_recv_dealer (s_caller);
        assert_non_null (reply);
        if (!streq (pst_msg_id (reply), pst_msg_id (*request_p)))
            pst_msg_destroy (&reply);
    }
    pst_msg_destroy (request_p);
    return reply;
}

static pst_msg_t *
s_call (const char *op, json_t *body, const char *scopes, mfa_fn *answer, pst_msg_t **seen_p)
{
    pst_msg_t *request = NULL;
    s_send (op, body, scopes, &request);
    if (answer)
        s_serve_mfa (answer, seen_p);
    return s_reply_to (&request);
}

static void
s_assert_error (pst_msg_t *reply, const char *code, const char *text)
{
    assert_non_null (reply);
    assert_true (pst_msg_is_error (reply));
    assert_string_equal (pst_msg_error (reply), code);
    if (text)
        assert_string_equal (pst_msg_error_text (reply), text);
    //  Nothing signed goes out beside an error
    assert_null (json_object_get (pst_msg_body (reply), "access_token"));
    assert_null (json_object_get (pst_msg_body (reply), "refresh_token"));
}

static json_t *
s_verify (const char *token, const char *audience)
{
    pst_msg_t *reply = s_call ("keys.jwks", NULL, NULL, NULL, NULL);
    pst_jwks_t *keys = pst_jwks_new (pst_msg_body (reply));
    assert_non_null (keys);
    json_t *claims = pst_jwt_verify (keys, token, s_config->issuer, audience, time (NULL), 0, NULL);
    pst_jwks_destroy (&keys);
    pst_msg_destroy (&reply);
    assert_non_null (claims);
    return claims;
}

static void
s_mfa_not_required (const pst_msg_t *request, pst_msg_t *reply)
{
    (void) request;
    json_t *body = json_pack ("{s:b}", "mfa_required", 0);
    pst_msg_set_body (reply, &body);
}

//  mfa-oob verified: the audience and scope bound to the mfa_token
static void
s_mfa_verified (const pst_msg_t *request, pst_msg_t *reply)
{
    json_t *body = json_pack ("{s:s, s:s, s:s, s:s, s:I}", "user_id", s_user_id,
        "client_id", pst_msg_get_str (request, "client_id"), "audience", OFFLINE_API,
        "scope", "openid read:data offline_access", "auth_time", (json_int_t) 1700000000);
    pst_msg_set_body (reply, &body);
}

static void
s_mfa_wiped (const pst_msg_t *request, pst_msg_t *reply)
{
    (void) request;
    (void) reply;
}

static pst_msg_t *
s_password (const char *client_id, const char *secret, const char *audience, const char *scope)
{
    return s_call ("token.grant", json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
        "grant_type", "password", "username", EMAIL, "password", PASSWORD, "audience", audience,
        "scope", scope, "client_id", client_id, "client_secret", secret),
        NULL, s_mfa_not_required, NULL);
}

//  A fresh refresh token of the app for the offline API (caller frees)
static char *
s_sign_in (const char *scope)
{
    pst_msg_t *reply = s_password (s_app_id, s_app_secret, OFFLINE_API, scope);
    assert_false (pst_msg_is_error (reply));
    assert_non_null (pst_msg_get_str (reply, "refresh_token"));
    char *token = strdup (pst_msg_get_str (reply, "refresh_token"));
    pst_msg_destroy (&reply);
    return token;
}

static json_t *
s_refresh_body (const char *client_id, const char *secret, const char *token, const char *scope)
{
    json_t *body = json_pack ("{s:s, s:s, s:s}", "grant_type", "refresh_token",
        "refresh_token", token, "client_id", client_id);
    if (secret)
        json_object_set_new (body, "client_secret", json_string (secret));
    if (scope)
        json_object_set_new (body, "scope", json_string (scope));
    return body;
}

static pst_msg_t *
s_refresh (const char *token, const char *scope)
{
    return s_call ("token.grant", s_refresh_body (s_app_id, s_app_secret, token, scope),
                   NULL, NULL, NULL);
}

//  Exchanges token (freed) for its successor, which it returns
static char *
s_rotate (char *token)
{
    pst_msg_t *reply = s_refresh (token, NULL);
    assert_false (pst_msg_is_error (reply));
    char *next = strdup (pst_msg_get_str (reply, "refresh_token"));
    assert_string_not_equal (next, token);
    pst_msg_destroy (&reply);
    free (token);
    return next;
}

static pst_msg_t *
s_revoke (const char *client_id, const char *secret, const char *token)
{
    return s_call ("token.revoke", json_pack ("{s:s, s:s, s:s}", "client_id", client_id,
        "client_secret", secret, "token", token), NULL, NULL, NULL);
}

static void
s_client (const char *name, json_t *grant_types, char **id_p, char **secret_p)
{
    pst_msg_t *reply = s_call ("clients.create", json_pack ("{s:{s:s, s:o}}", "data",
        "name", name, "grant_types", grant_types), MGMT_SCOPES, NULL, NULL);
    assert_false (pst_msg_is_error (reply));
    *id_p = strdup (pst_msg_get_str (reply, "client_id"));
    *secret_p = strdup (pst_msg_get_str (reply, "client_secret"));
    pst_msg_destroy (&reply);
}

static int
s_setup (void **state)
{
    (void) state;
    strcpy (s_dir, "/tmp/postern-refresh-XXXXXX");
    assert_non_null (mkdtemp (s_dir));
    setenv ("POSTERN_DATA_DIR", s_dir, 1);
    setenv ("POSTERN_DOMAIN", "auth.test:8443", 1);
    setenv ("POSTERN_BUS_TIMEOUT_MS", "700", 1);
    setenv ("POSTERN_REFRESH_TOKEN_LIFETIME_S", "1000", 1);
    setenv ("POSTERN_REFRESH_TOKEN_IDLE_LIFETIME_S", "300", 1);
    test_keys_dir ();
    s_mfa = test_keys_server (ZMQ_ROUTER, "mfa", "tcp://127.0.0.1:*");
    assert_non_null (s_mfa);
    s_config = authn_config_from_env ();
    assert_non_null (s_config);
    assert_int_equal (s_config->refresh_lifetime_s, LIFETIME);
    assert_int_equal (s_config->refresh_idle_s, IDLE);
    char *location = test_db_location (s_config->db_path);
    free (s_config->db_path);
    s_config->db_path = location;
    free (s_config->endpoint);
    s_config->endpoint = strdup ("tcp://127.0.0.1:*");
    free (s_config->mfa_endpoint);
    s_config->mfa_endpoint = zsock_last_endpoint (s_mfa);
    s_config->workers = 2;
    s_config->now_s = s_clock;
    char *endpoint = NULL;
    s_authn = pst_actor_new (authn_server_actor, s_config, "s", &endpoint);
    assert_non_null (s_authn);
    s_caller = test_keys_dealer ("gateway", "authn", endpoint);
    assert_non_null (s_caller);
    zstr_free (&endpoint);

    pst_msg_t *reply = s_call ("resource_servers.create", json_pack ("{s:{s:s, s:s, s:b, s:[{s:s}]}}",
        "data", "identifier", OFFLINE_API, "name", "Offline", "allow_offline_access", 1,
        "scopes", "value", "read:data"), MGMT_SCOPES, NULL, NULL);
    assert_false (pst_msg_is_error (reply));
    pst_msg_destroy (&reply);
    reply = s_call ("resource_servers.create", json_pack ("{s:{s:s, s:s, s:[{s:s}]}}",
        "data", "identifier", ONLINE_API, "name", "Online", "scopes", "value", "read:data"),
        MGMT_SCOPES, NULL, NULL);
    assert_false (pst_msg_is_error (reply));
    pst_msg_destroy (&reply);
    s_client ("App", json_pack ("[s, s, s]", "password", "refresh_token", GRANT_OOB),
              &s_app_id, &s_app_secret);
    s_client ("Other", json_pack ("[s, s]", "password", "refresh_token"), &s_other_id, &s_other_secret);
    s_client ("No refresh", json_pack ("[s]", "password"), &s_plain_id, &s_plain_secret);
    reply = s_call ("users.create", json_pack ("{s:{s:s, s:s, s:s, s:b}}", "data",
        "email", EMAIL, "password", PASSWORD, "connection", "Username-Password-Authentication",
        "email_verified", 1), MGMT_SCOPES, NULL, NULL);
    assert_false (pst_msg_is_error (reply));
    s_user_id = strdup (pst_msg_get_str (reply, "user_id"));
    pst_msg_destroy (&reply);
    return 0;
}

static int
s_teardown (void **state)
{
    (void) state;
    zsock_destroy (&s_caller);
    zactor_destroy (&s_authn);
    test_keys_close (&s_mfa);
    authn_config_destroy (&s_config);
    free (s_app_id);
    free (s_app_secret);
    free (s_other_id);
    free (s_other_secret);
    free (s_plain_id);
    free (s_plain_secret);
    free (s_user_id);
    char command [128];
    snprintf (command, sizeof command, "rm -rf %s", s_dir);
    assert_int_equal (system (command), 0);
    return 0;
}

//  offline_access gives a refresh token only where the API allows offline
//  access and the client may use refresh tokens; elsewhere it is dropped
static void
test_issue (void **state)
{
    (void) state;
    pst_msg_t *reply = s_password (s_app_id, s_app_secret, OFFLINE_API,
                                   "openid read:data offline_access");
    assert_false (pst_msg_is_error (reply));
    const char *token = pst_msg_get_str (reply, "refresh_token");
    assert_non_null (token);
    assert_int_equal (strlen (token), 43);          //  256 bits, base64url
    assert_string_equal (pst_msg_get_str (reply, "scope"), "openid read:data offline_access");
    json_t *claims = s_verify (pst_msg_get_str (reply, "access_token"), OFFLINE_API);
    assert_string_equal (json_string_value (json_object_get (claims, "scope")),
                         "openid read:data offline_access");
    json_decref (claims);
    pst_msg_destroy (&reply);

    //  Not asked, an API that does not allow it, a client without the grant
    const struct { const char *client, *secret, *audience, *scope, *granted; } cases [] = {
        { s_app_id, s_app_secret, OFFLINE_API, "read:data", "read:data" },
        { s_app_id, s_app_secret, ONLINE_API, "read:data offline_access", "read:data" },
        { s_plain_id, s_plain_secret, OFFLINE_API, "read:data offline_access", "read:data" },
    };
    for (size_t index = 0; index < sizeof cases / sizeof cases [0]; index++) {
        reply = s_password (cases [index].client, cases [index].secret, cases [index].audience,
                            cases [index].scope);
        assert_false (pst_msg_is_error (reply));
        assert_null (json_object_get (pst_msg_body (reply), "refresh_token"));
        assert_string_equal (pst_msg_get_str (reply, "scope"), cases [index].granted);
        pst_msg_destroy (&reply);
    }

    //  After MFA: the scope bound to the mfa_token, offline_access included
    reply = s_call ("token.grant", json_pack ("{s:s, s:s, s:s, s:s, s:s}", "grant_type", GRANT_OOB,
        "mfa_token", "opaque", "oob_code", "oob", "binding_code", "123456", "client_id", s_app_id),
        NULL, s_mfa_verified, NULL);
    assert_false (pst_msg_is_error (reply));
    assert_non_null (pst_msg_get_str (reply, "refresh_token"));
    assert_string_equal (pst_msg_get_str (reply, "scope"), "openid read:data offline_access");
    char *after_mfa = strdup (pst_msg_get_str (reply, "refresh_token"));
    pst_msg_destroy (&reply);
    //  Its refresh keeps the sign-in's auth_time
    reply = s_refresh (after_mfa, NULL);
    assert_false (pst_msg_is_error (reply));
    claims = s_verify (pst_msg_get_str (reply, "id_token"), s_app_id);
    assert_int_equal (json_integer_value (json_object_get (claims, "auth_time")), 1700000000);
    json_decref (claims);
    pst_msg_destroy (&reply);
    free (after_mfa);
}

//  Every use answers a new token and retires the one used; using a retired one
//  again revokes the family, the live token included
static void
test_rotate_and_reuse (void **state)
{
    (void) state;
    char *first = s_sign_in ("openid read:data offline_access");
    pst_msg_t *reply = s_refresh (first, NULL);
    assert_false (pst_msg_is_error (reply));
    char *second = strdup (pst_msg_get_str (reply, "refresh_token"));
    assert_string_not_equal (second, first);
    assert_string_equal (pst_msg_get_str (reply, "scope"), "openid read:data offline_access");
    assert_string_equal (pst_msg_get_str (reply, "token_type"), "Bearer");
    json_t *claims = s_verify (pst_msg_get_str (reply, "access_token"), OFFLINE_API);
    assert_string_equal (json_string_value (json_object_get (claims, "sub")), s_user_id);
    assert_string_equal (json_string_value (json_object_get (claims, "gty")), "refresh_token");
    assert_string_equal (json_string_value (json_object_get (claims, "azp")), s_app_id);
    json_decref (claims);
    claims = s_verify (pst_msg_get_str (reply, "id_token"), s_app_id);
    assert_string_equal (json_string_value (json_object_get (claims, "sub")), s_user_id);
    json_decref (claims);
    pst_msg_destroy (&reply);

    char *third = s_rotate (strdup (second));
    //  Reuse of the second: refused, and the family goes
    reply = s_refresh (second, NULL);
    s_assert_error (reply, PST_ERR_INVALID_GRANT, INVALID);
    pst_msg_destroy (&reply);
    reply = s_refresh (third, NULL);
    s_assert_error (reply, PST_ERR_INVALID_GRANT, INVALID);
    pst_msg_destroy (&reply);
    reply = s_refresh (first, NULL);
    s_assert_error (reply, PST_ERR_INVALID_GRANT, INVALID);
    pst_msg_destroy (&reply);
    //  Another family of the same user is untouched
    char *other = s_sign_in ("read:data offline_access");
    free (s_rotate (other));
    //  Unknown tokens, and a missing one
    reply = s_refresh ("not-a-token", NULL);
    s_assert_error (reply, PST_ERR_INVALID_GRANT, INVALID);
    pst_msg_destroy (&reply);
    reply = s_call ("token.grant", json_pack ("{s:s, s:s, s:s}", "grant_type", "refresh_token",
        "client_id", s_app_id, "client_secret", s_app_secret), NULL, NULL, NULL);
    s_assert_error (reply, PST_ERR_INVALID_REQUEST, "Missing required parameter: refresh_token");
    pst_msg_destroy (&reply);
    free (first);
    free (second);
    free (third);
}

//  scope narrows the new access token, never widens it; the refresh token
//  keeps its own scope
static void
test_scope_narrowing (void **state)
{
    (void) state;
    char *token = s_sign_in ("openid read:data offline_access");
    pst_msg_t *reply = s_refresh (token, "read:data");
    assert_false (pst_msg_is_error (reply));
    assert_string_equal (pst_msg_get_str (reply, "scope"), "read:data");
    assert_null (json_object_get (pst_msg_body (reply), "id_token"));
    char *next = strdup (pst_msg_get_str (reply, "refresh_token"));
    pst_msg_destroy (&reply);
    reply = s_refresh (next, "read:data write:data email offline_access");
    assert_false (pst_msg_is_error (reply));
    assert_string_equal (pst_msg_get_str (reply, "scope"), "read:data offline_access");
    char *last = strdup (pst_msg_get_str (reply, "refresh_token"));
    pst_msg_destroy (&reply);
    //  Nothing asked: the sign-in's scope again
    reply = s_refresh (last, NULL);
    assert_false (pst_msg_is_error (reply));
    assert_string_equal (pst_msg_get_str (reply, "scope"), "openid read:data offline_access");
    assert_non_null (pst_msg_get_str (reply, "id_token"));
    pst_msg_destroy (&reply);
    free (token);
    free (next);
    free (last);
}

//  Another client can neither use nor revoke the app's token, which stays good
static void
test_wrong_client (void **state)
{
    (void) state;
    char *token = s_sign_in ("read:data offline_access");
    pst_msg_t *reply = s_call ("token.grant",
        s_refresh_body (s_other_id, s_other_secret, token, NULL), NULL, NULL, NULL);
    s_assert_error (reply, PST_ERR_INVALID_GRANT, INVALID);
    pst_msg_destroy (&reply);
    reply = s_revoke (s_other_id, s_other_secret, token);
    s_assert_error (reply, PST_ERR_INVALID_GRANT, "The refresh token was not issued to this client.");
    pst_msg_destroy (&reply);
    //  Client authentication first: a wrong secret, a client without the grant
    reply = s_call ("token.grant", s_refresh_body (s_app_id, "wrong", token, NULL), NULL, NULL, NULL);
    s_assert_error (reply, PST_ERR_INVALID_CLIENT, NULL);
    pst_msg_destroy (&reply);
    reply = s_call ("token.grant", s_refresh_body (s_app_id, NULL, token, NULL), NULL, NULL, NULL);
    s_assert_error (reply, PST_ERR_INVALID_CLIENT, NULL);
    pst_msg_destroy (&reply);
    reply = s_call ("token.grant", s_refresh_body (s_plain_id, s_plain_secret, token, NULL),
                    NULL, NULL, NULL);
    s_assert_error (reply, PST_ERR_UNAUTHORIZED_CLIENT, NULL);
    pst_msg_destroy (&reply);
    reply = s_revoke (s_app_id, "wrong", token);
    s_assert_error (reply, PST_ERR_INVALID_CLIENT, NULL);
    pst_msg_destroy (&reply);
    free (s_rotate (token));
}

//  The family lives LIFETIME from its sign-in however often it is used; a token
//  unused for IDLE expires
static void
test_expiry (void **state)
{
    (void) state;
    char *token = s_sign_in ("read:data offline_access");
    s_clock_offset = IDLE - 10;
    token = s_rotate (token);
    s_clock_offset += IDLE;
    pst_msg_t *reply = s_refresh (token, NULL);
    s_assert_error (reply, PST_ERR_INVALID_GRANT, INVALID);
    pst_msg_destroy (&reply);
    free (token);

    s_clock_offset = 0;
    token = s_sign_in ("read:data offline_access");
    for (int step = 1; step * (IDLE - 10) < LIFETIME; step++) {
        s_clock_offset = step * (IDLE - 10);
        token = s_rotate (token);
    }
    s_clock_offset = LIFETIME;
    reply = s_refresh (token, NULL);
    s_assert_error (reply, PST_ERR_INVALID_GRANT, INVALID);
    pst_msg_destroy (&reply);
    s_clock_offset = 0;
    free (token);
}

//  /oauth/revoke: the family goes; unknown tokens are fine, as with Auth0
static void
test_revoke (void **state)
{
    (void) state;
    char *first = s_sign_in ("read:data offline_access");
    char *second = s_rotate (strdup (first));
    pst_msg_t *reply = s_revoke (s_app_id, s_app_secret, first);
    assert_false (pst_msg_is_error (reply));
    pst_msg_destroy (&reply);
    reply = s_refresh (second, NULL);
    s_assert_error (reply, PST_ERR_INVALID_GRANT, INVALID);
    pst_msg_destroy (&reply);
    //  Again, and unknown: still fine
    reply = s_revoke (s_app_id, s_app_secret, second);
    assert_false (pst_msg_is_error (reply));
    pst_msg_destroy (&reply);
    reply = s_revoke (s_app_id, s_app_secret, "never-issued");
    assert_false (pst_msg_is_error (reply));
    pst_msg_destroy (&reply);
    reply = s_call ("token.revoke", json_pack ("{s:s, s:s}", "client_id", s_app_id,
        "client_secret", s_app_secret), NULL, NULL, NULL);
    s_assert_error (reply, PST_ERR_INVALID_REQUEST, "Missing required parameter: token");
    pst_msg_destroy (&reply);
    free (first);
    free (second);
}

//  Two uses of one token at once: exactly one succeeds
static void
test_concurrent_use (void **state)
{
    (void) state;
    for (int round = 0; round < 5; round++) {
        char *token = s_sign_in ("read:data offline_access");
        pst_msg_t *one = NULL, *two = NULL;
        s_send ("token.grant", s_refresh_body (s_app_id, s_app_secret, token, NULL), NULL, &one);
        s_send ("token.grant", s_refresh_body (s_app_id, s_app_secret, token, NULL), NULL, &two);
        //  The replies come in either order
        zsock_set_rcvtimeo (s_caller, 5000);
        pst_msg_t *first = pst_bus_recv_dealer (s_caller);
        pst_msg_t *second = pst_bus_recv_dealer (s_caller);
        assert_non_null (first);
        assert_non_null (second);
        assert_true ((streq (pst_msg_id (first), pst_msg_id (one))
                      && streq (pst_msg_id (second), pst_msg_id (two)))
                  || (streq (pst_msg_id (first), pst_msg_id (two))
                      && streq (pst_msg_id (second), pst_msg_id (one))));
        pst_msg_destroy (&one);
        pst_msg_destroy (&two);
        assert_int_equal (pst_msg_is_error (first) + pst_msg_is_error (second), 1);
        s_assert_error (pst_msg_is_error (first)? first: second, PST_ERR_INVALID_GRANT, INVALID);
        pst_msg_destroy (&first);
        pst_msg_destroy (&second);
        free (token);
    }
}

//  A deleted user's refresh tokens go with it
static void
test_user_deleted (void **state)
{
    (void) state;
    pst_msg_t *reply = s_call ("users.create", json_pack ("{s:{s:s, s:s, s:s}}", "data",
        "email", "leaving@example.com", "password", PASSWORD,
        "connection", "Username-Password-Authentication"), MGMT_SCOPES, NULL, NULL);
    assert_false (pst_msg_is_error (reply));
    char *user_id = strdup (pst_msg_get_str (reply, "user_id"));
    pst_msg_destroy (&reply);
    reply = s_call ("token.grant", json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
        "grant_type", "password", "username", "leaving@example.com", "password", PASSWORD,
        "audience", OFFLINE_API, "scope", "offline_access", "client_id", s_app_id,
        "client_secret", s_app_secret), NULL, s_mfa_not_required, NULL);
    assert_false (pst_msg_is_error (reply));
    char *token = strdup (pst_msg_get_str (reply, "refresh_token"));
    pst_msg_destroy (&reply);
    reply = s_call ("users.delete", json_pack ("{s:s}", "id", user_id), MGMT_SCOPES,
                    s_mfa_wiped, NULL);
    assert_false (pst_msg_is_error (reply));
    pst_msg_destroy (&reply);
    reply = s_refresh (token, NULL);
    s_assert_error (reply, PST_ERR_INVALID_GRANT, INVALID);
    pst_msg_destroy (&reply);
    free (token);
    free (user_id);
}

//  The store: a token found by its hash alone; pruning deletes the families
//  past their absolute or idle expiry and the revoked ones, and nothing else
static void
test_store_prune (void **state)
{
    (void) state;
    authn_store_t *store = authn_store_new (s_config->db_path);
    assert_non_null (store);
    int64_t now = 5000000000;
    struct { const char *hash, *family; int64_t expires, idle; } rows [] = {
        { "h-live", "f-live", now + 100, now + 50 },
        { "h-old", "f-idle", now + 100, now - 1 },
        { "h-abs", "f-abs", now, now + 50 },
        { "h-rev", "f-rev", now + 100, now + 50 },
        { "h-rotated", "f-live", now + 100, now - 20 },
    };
    for (size_t index = 0; index < sizeof rows / sizeof rows [0]; index++) {
        authn_refresh_token_t row = { (char *) rows [index].family, "auth0|u", "c", "a", "s",
            0, now - 10, now - 10, rows [index].expires, rows [index].idle, 0, 0 };
        assert_int_equal (authn_store_refresh_add (store, rows [index].hash, &row), 0);
    }
    assert_int_equal (authn_store_refresh_rotate (store, "h-rotated", now), 0);
    assert_int_equal (authn_store_refresh_rotate (store, "h-rotated", now), 1);
    assert_int_equal (authn_store_refresh_revoke_family (store, "f-rev", now), 0);
    assert_int_equal (authn_store_refresh_rotate (store, "h-rev", now), 1);
    assert_int_equal (authn_store_refresh_prune (store, now), 0);
    authn_refresh_token_t *token = NULL;
    assert_int_equal (authn_store_refresh_find (store, "h-live", &token), 0);
    assert_string_equal (token->family_id, "f-live");
    assert_int_equal (token->expires_at, now + 100);
    assert_int_equal (token->rotated_at, 0);
    authn_refresh_token_destroy (&token);
    assert_int_equal (authn_store_refresh_find (store, "h-rotated", &token), 0);
    assert_int_equal (token->rotated_at, now);
    authn_refresh_token_destroy (&token);
    assert_int_equal (authn_store_refresh_find (store, "h-old", &token), 1);
    assert_int_equal (authn_store_refresh_find (store, "h-abs", &token), 1);
    assert_int_equal (authn_store_refresh_find (store, "h-rev", &token), 1);
    assert_null (token);
    authn_store_destroy (&store);
}

int
main (void)
{
    zsys_init ();
    pst_crypto_init ();
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_issue),
        cmocka_unit_test (test_rotate_and_reuse),
        cmocka_unit_test (test_scope_narrowing),
        cmocka_unit_test (test_wrong_client),
        cmocka_unit_test (test_expiry),
        cmocka_unit_test (test_revoke),
        cmocka_unit_test (test_concurrent_use),
        cmocka_unit_test (test_user_deleted),
        cmocka_unit_test (test_store_prune),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
