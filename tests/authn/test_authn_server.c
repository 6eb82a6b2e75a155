//  authn service test: the real authn actor over the bus, with the test standing in
//  for mfa on its ROUTER so that every answer mfa could give can be forced.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sys/stat.h>
#include "test_keys.h"
#include "test_peer.h"
#include "authn_bootstrap.h"
#include "authn_config.h"
#include "authn_store.h"
#include "test_db.h"
#include "authn_server.h"
#include "pst_actor.h"
#include "pst_bus.h"
#include "pst_catalogue.h"
#include "pst_crypto.h"
#include "pst_error.h"
#include "pst_jwt.h"

#define MGMT_SCOPES "create:clients read:clients create:resource_servers create:users read:users " \
                    "create:client_grants update:users"

static char s_dir [64];
static authn_config_t *s_config;
static zactor_t *s_authn;
static zsock_t *s_mfa;           //  stand-in for mfa
static zsock_t *s_caller;        //  stand-in for the gateway
static char *s_endpoint;         //  authn's
static char *s_audience_mgmt;

typedef void (mfa_fn) (const pst_msg_t *request, pst_msg_t *reply);

//  The client IP the gateway would put in the envelope, and a movable clock
static const char *s_client_ip;
static int64_t s_clock_offset;

static int64_t
s_clock (void)
{
    return (int64_t) time (NULL) + s_clock_offset;
}

static pst_msg_t *
s_request (const char *op, json_t *body, const char *scopes)
{
    pst_msg_t *request = pst_msg_new_request (op, 3000);
    if (s_client_ip)
        pst_msg_set_client_ip (request, s_client_ip);
    if (body)
        pst_msg_set_body (request, &body);
    if (scopes)
        pst_msg_set_caller (request, "test-admin@clients", scopes);
    return request;
}

//  An mfa that reads a request and leaves it unanswered
static void s_silent (const pst_msg_t *request, pst_msg_t *reply) { (void) request; (void) reply; }

//  Plays mfa for one request authn sent it (test_peer_serve); s_silent leaves
//  it unanswered
static void
s_serve_mfa_once (mfa_fn *answer, pst_msg_t **seen_p)
{
    assert_int_equal (test_peer_serve (s_mfa, answer == s_silent? NULL: answer, 3000, seen_p), 0);
}

//  authn's reply to request, skipping late replies to earlier ones
static pst_msg_t *
s_await (const pst_msg_t *request)
{
    zsock_set_rcvtimeo (s_caller, 5000);
    pst_msg_t *reply = NULL;
    while (!reply) {
        reply = pst_bus_recv_dealer (s_caller);
        assert_non_null (reply);
        if (!streq (pst_msg_id (reply), pst_msg_id (request)))
            pst_msg_destroy (&reply);
    }
    return reply;
}

//  Sends op to authn; when mfa_answer is given, serves exactly one mfa request with
//  it (when mfa_answer is s_silent the request is read and left unanswered).
static pst_msg_t *
s_call (const char *op, json_t *body, const char *scopes, mfa_fn *mfa_answer, pst_msg_t **mfa_seen)
{
    pst_msg_t *request = s_request (op, body, scopes);
    assert_int_equal (pst_bus_send (s_caller, NULL, request), 0);
    if (mfa_answer) {
        s_serve_mfa_once (mfa_answer, mfa_seen);
    }
    pst_msg_t *reply = s_await (request);
    pst_msg_destroy (&request);
    return reply;
}

static void
s_assert_error (pst_msg_t *reply, const char *code, const char *text)
{
    assert_non_null (reply);
    assert_true (pst_msg_is_error (reply));
    assert_string_equal (pst_msg_error (reply), code);
    if (text)
        assert_string_equal (pst_msg_error_text (reply), text);
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
    return claims;
}

//  The decoded header of a compact JWS (caller owns)
static json_t *
s_jose_header (const char *token)
{
    const char *dot = strchr (token, '.');
    assert_non_null (dot);
    uint8_t bytes [512];
    size_t size = 0;
    assert_int_equal (pst_b64url_decode (token, (size_t) (dot - token), bytes, sizeof bytes, &size), 0);
    json_t *header = json_loadb ((const char *) bytes, size, 0, NULL);
    assert_non_null (header);
    return header;
}

//  Auth0's default access-token profile: typ JWT, the claims it lists, aud as
//  given (a string, or [API, /userinfo])
static void
s_assert_access_shape (const char *token, const char *audience, const char *gty,
                       const char *azp, int with_userinfo)
{
    json_t *header = s_jose_header (token);
    assert_string_equal (json_string_value (json_object_get (header, "typ")), "JWT");
    assert_string_equal (json_string_value (json_object_get (header, "alg")), "RS256");
    json_decref (header);
    json_t *claims = s_verify (token, audience);
    assert_non_null (claims);
    json_t *aud = json_object_get (claims, "aud");
    if (with_userinfo) {
        assert_true (json_is_array (aud));
        assert_int_equal (json_array_size (aud), 2);
        assert_string_equal (json_string_value (json_array_get (aud, 0)), audience);
        assert_string_equal (json_string_value (json_array_get (aud, 1)), s_config->userinfo);
    }
    else
        assert_string_equal (json_string_value (aud), audience);
    assert_string_equal (json_string_value (json_object_get (claims, "gty")), gty);
    assert_string_equal (json_string_value (json_object_get (claims, "azp")), azp);
    assert_string_equal (json_string_value (json_object_get (claims, "iss")), s_config->issuer);
    assert_true (json_is_integer (json_object_get (claims, "iat")));
    assert_true (json_is_integer (json_object_get (claims, "exp")));
    assert_true (json_is_string (json_object_get (claims, "scope")));
    json_decref (claims);
}

static int
s_setup (void **state)
{
    (void) state;
    strcpy (s_dir, "/tmp/postern-authn-XXXXXX");
    assert_non_null (mkdtemp (s_dir));
    setenv ("POSTERN_DATA_DIR", s_dir, 1);
    setenv ("POSTERN_DOMAIN", "auth.test:8443", 1);
    setenv ("POSTERN_BUS_TIMEOUT_MS", "700", 1);
    setenv ("POSTERN_LOGIN_MAX_FAILURES", "3", 1);
    setenv ("POSTERN_LOGIN_MAX_IP_FAILURES", "6", 1);
    setenv ("POSTERN_LOGIN_WINDOW_S", "900", 1);
    test_keys_dir ();
    s_mfa = test_keys_server (ZMQ_ROUTER, "mfa", "tcp://127.0.0.1:*");
    assert_non_null (s_mfa);
    char *mfa_endpoint = zsock_last_endpoint (s_mfa);
    s_config = authn_config_from_env ();
    assert_non_null (s_config);
    //  authn.db in the data directory, or a PostgreSQL database in the pg run
    char *location = test_db_location (s_config->db_path);
    free (s_config->db_path);
    s_config->db_path = location;
    free (s_config->endpoint);
    s_config->endpoint = strdup ("tcp://127.0.0.1:*");
    free (s_config->mfa_endpoint);
    s_config->mfa_endpoint = mfa_endpoint;
    //  More workers than POSTERN_LOGIN_MAX_FAILURES: parallel sign-ins of one
    //  user must not count against each other (test_login_burst_of_right_passwords)
    s_config->workers = 4;
    s_config->now_s = s_clock;
    //  A planted temporary file (here a symlink to a file others can read) must
    //  not receive the bootstrap secret
    char *planted = NULL, *temporary = NULL;
    assert_true (asprintf (&planted, "%s/planted", s_dir) > 0);
    assert_true (asprintf (&temporary, "%s.tmp", s_config->bootstrap_path) > 0);
    FILE *file = fopen (planted, "w");
    assert_non_null (file);
    fputs ("untouched\n", file);
    fclose (file);
    assert_int_equal (symlink (planted, temporary), 0);
    free (temporary);
    free (planted);
    char *endpoint = NULL;
    s_authn = pst_actor_new (authn_server_actor, s_config, "s", &endpoint);
    assert_non_null (s_authn);
    assert_non_null (endpoint);
    assert_true (strlen (endpoint) > 0);
    s_caller = test_keys_dealer ("gateway", "authn", endpoint);
    assert_non_null (s_caller);
    s_endpoint = endpoint;
    s_audience_mgmt = NULL;
    assert_true (asprintf (&s_audience_mgmt, "%sapi/v2/", s_config->issuer) > 0);
    return 0;
}

static int
s_teardown (void **state)
{
    (void) state;
    zsock_destroy (&s_caller);
    zstr_free (&s_endpoint);
    zactor_destroy (&s_authn);
    test_keys_close (&s_mfa);
    authn_config_destroy (&s_config);
    free (s_audience_mgmt);
    char command [128];
    snprintf (command, sizeof command, "rm -rf %s", s_dir);
    assert_int_equal (system (command), 0);
    return 0;
}

//  The management application exists from the first start, with its credentials
//  in a file only the owner can read, and gets a verifiable management token.
static void
test_bootstrap_management_token (void **state)
{
    (void) state;
    struct stat info;
    assert_int_equal (lstat (s_config->bootstrap_path, &info), 0);
    assert_true (S_ISREG (info.st_mode));
    assert_int_equal (info.st_mode & 0777, 0600);
    char planted [128], content [32] = "";
    snprintf (planted, sizeof planted, "%s/planted", s_dir);
    FILE *file = fopen (planted, "r");
    assert_non_null (file);
    assert_non_null (fgets (content, sizeof content, file));
    fclose (file);
    assert_string_equal (content, "untouched\n");
    json_t *boot = json_load_file (s_config->bootstrap_path, 0, NULL);
    assert_non_null (boot);
    assert_string_equal (json_string_value (json_object_get (boot, "audience")), s_audience_mgmt);

    pst_msg_t *reply = s_call ("token.grant", json_pack ("{s:s, s:O, s:O, s:s}",
        "grant_type", "client_credentials", "client_id", json_object_get (boot, "client_id"),
        "client_secret", json_object_get (boot, "client_secret"), "audience", s_audience_mgmt),
        NULL, NULL, NULL);
    assert_false (pst_msg_is_error (reply));
    assert_string_equal (pst_msg_get_str (reply, "token_type"), "Bearer");
    //  Management API tokens live an hour by default (POSTERN_MGMT_TOKEN_LIFETIME_S)
    assert_int_equal (pst_msg_get_int (reply, "expires_in", 0), 3600);
    assert_non_null (strstr (pst_msg_get_str (reply, "scope"), "update:guardian_factors"));
    json_t *claims = s_verify (pst_msg_get_str (reply, "access_token"), s_audience_mgmt);
    assert_non_null (claims);
    char *subject = NULL;
    assert_true (asprintf (&subject, "%s@clients",
                 json_string_value (json_object_get (boot, "client_id"))) > 0);
    assert_string_equal (json_string_value (json_object_get (claims, "sub")), subject);
    assert_string_equal (json_string_value (json_object_get (claims, "gty")), "client-credentials");
    //  A machine token names its API alone
    s_assert_access_shape (pst_msg_get_str (reply, "access_token"), s_audience_mgmt,
                           "client-credentials", json_string_value (json_object_get (boot, "client_id")), 0);
    free (subject);
    json_decref (claims);
    pst_msg_destroy (&reply);

    //  the same request with a wrong secret is refused
    reply = s_call ("token.grant", json_pack ("{s:s, s:O, s:s, s:s}",
        "grant_type", "client_credentials", "client_id", json_object_get (boot, "client_id"),
        "client_secret", "not-the-secret", "audience", s_audience_mgmt), NULL, NULL, NULL);
    s_assert_error (reply, PST_ERR_INVALID_CLIENT, NULL);
    pst_msg_destroy (&reply);
    json_decref (boot);
}

static char *s_client_id, *s_client_secret, *s_public_id;

static void
s_create_fixtures (void)
{
    pst_msg_t *reply = s_call ("resource_servers.create", json_pack ("{s:{s:s, s:s, s:i, s:[{s:s}]}}",
        "data", "identifier", "https://someapi.com/api", "name", "Sample", "token_lifetime", 3600,
        "scopes", "value", "read:sample"),
        MGMT_SCOPES " create:resource_servers", NULL, NULL);
    assert_false (pst_msg_is_error (reply));
    pst_msg_destroy (&reply);

    reply = s_call ("clients.create", json_pack ("{s:{s:s, s:[s,s,s]}}", "data", "name", "Seed app",
        "grant_types", "password", "http://auth0.com/oauth/grant-type/mfa-oob",
        "http://auth0.com/oauth/grant-type/mfa-recovery-code"), MGMT_SCOPES, NULL, NULL);
    assert_false (pst_msg_is_error (reply));
    s_client_id = strdup (pst_msg_get_str (reply, "client_id"));
    s_client_secret = strdup (pst_msg_get_str (reply, "client_secret"));
    pst_msg_destroy (&reply);

    reply = s_call ("clients.create", json_pack ("{s:{s:s, s:s, s:[s]}}", "data", "name", "SPA",
        "token_endpoint_auth_method", "none", "grant_types", "password"), MGMT_SCOPES, NULL, NULL);
    assert_false (pst_msg_is_error (reply));
    assert_null (pst_msg_get_str (reply, "client_secret"));
    s_public_id = strdup (pst_msg_get_str (reply, "client_id"));
    pst_msg_destroy (&reply);

    reply = s_call ("users.create", json_pack ("{s:{s:s, s:s, s:s, s:b}}", "data",
        "email", "user@example.com", "password", "correct horse battery",
        "connection", "Username-Password-Authentication", "email_verified", 1), MGMT_SCOPES, NULL, NULL);
    assert_false (pst_msg_is_error (reply));
    assert_null (json_object_get (pst_msg_body (reply), "password"));
    pst_msg_destroy (&reply);
}

static void
test_management_validation (void **state)
{
    (void) state;
    s_create_fixtures ();
    //  scope is checked centrally before the handler
    pst_msg_t *reply = s_call ("users.create", json_pack ("{s:{s:s}}", "data", "email", "x@example.com"),
                               "read:users", NULL, NULL);
    s_assert_error (reply, PST_ERR_INSUFFICIENT_SCOPE, NULL);
    pst_msg_destroy (&reply);
    reply = s_call ("users.create", json_pack ("{s:{s:s, s:s, s:s}}", "data",
        "email", "USER@example.com", "password", "another long one",
        "connection", "Username-Password-Authentication"), MGMT_SCOPES, NULL, NULL);
    s_assert_error (reply, PST_ERR_CONFLICT, NULL);
    pst_msg_destroy (&reply);
    reply = s_call ("users.create", json_pack ("{s:{s:s, s:s, s:s}}", "data",
        "email", "short@example.com", "password", "pwd",
        "connection", "Username-Password-Authentication"), MGMT_SCOPES, NULL, NULL);
    s_assert_error (reply, PST_ERR_BAD_REQUEST, NULL);
    pst_msg_destroy (&reply);
    reply = s_call ("users.create", json_pack ("{s:{s:s, s:s, s:s}}", "data",
        "email", "evil@example.com\r\nBcc: x@y", "password", "a long password",
        "connection", "Username-Password-Authentication"), MGMT_SCOPES, NULL, NULL);
    s_assert_error (reply, PST_ERR_BAD_REQUEST, NULL);
    pst_msg_destroy (&reply);
    reply = s_call ("resource_servers.create", json_pack ("{s:{s:s}}", "data",
        "identifier", "https://someapi.com/api"), MGMT_SCOPES, NULL, NULL);
    s_assert_error (reply, PST_ERR_CONFLICT, NULL);
    pst_msg_destroy (&reply);
    reply = s_call ("clients.create", json_pack ("{s:{s:s, s:[s]}}", "data", "name", "bad",
        "grant_types", "urn:made-up"), MGMT_SCOPES, NULL, NULL);
    s_assert_error (reply, PST_ERR_BAD_REQUEST, NULL);
    pst_msg_destroy (&reply);
    reply = s_call ("users.list", json_pack ("{s:{s:s}}", "query", "email", "user@example.com"),
                    MGMT_SCOPES, NULL, NULL);
    assert_false (pst_msg_is_error (reply));
    assert_int_equal (json_array_size (json_object_get (pst_msg_body (reply), "result")), 1);
    pst_msg_destroy (&reply);
}

static json_t *
s_password_body (const char *password, const char *scope)
{
    return json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "grant_type", "password",
        "username", "user@example.com", "password", password, "audience", "https://someapi.com/api",
        "scope", scope, "client_id", s_client_id, "client_secret", s_client_secret);
}

static void
s_mfa_not_required (const pst_msg_t *request, pst_msg_t *reply)
{
    (void) request;
    json_t *body = json_pack ("{s:b}", "mfa_required", 0);
    pst_msg_set_body (reply, &body);
}

static void
s_mfa_required (const pst_msg_t *request, pst_msg_t *reply)
{
    (void) request;
    json_t *body = json_pack ("{s:b, s:s}", "mfa_required", 1, "mfa_token", "opaque-mfa-token");
    pst_msg_set_body (reply, &body);
}

//  mfa voiding the tokens of a client whose credentials changed or which is gone
static void
s_mfa_voided (const pst_msg_t *request, pst_msg_t *reply)
{
    assert_string_equal (pst_msg_op (request), "tokens.void_client");
    json_t *body = json_pack ("{s:i}", "voided", 0);
    pst_msg_set_body (reply, &body);
}

static void
s_mfa_unreadable (const pst_msg_t *request, pst_msg_t *reply)
{
    (void) request;
    json_t *body = json_pack ("{s:s}", "mfa_token", "opaque-mfa-token");
    pst_msg_set_body (reply, &body);
}

static void
test_password_grant (void **state)
{
    (void) state;
    pst_msg_t *seen = NULL;
    //  Duplicates folded; scopes the API does not define are dropped, never granted
    pst_msg_t *reply = s_call ("token.grant",
        s_password_body ("correct horse battery", "openid read:sample read:sample admin:all offline_access"),
        NULL, s_mfa_not_required, &seen);
    assert_false (pst_msg_is_error (reply));
    //  what authn told mfa: who, for which client, audience and scope
    assert_string_equal (pst_msg_op (seen), "mfa.begin");
    assert_string_equal (pst_msg_get_str (seen, "client_id"), s_client_id);
    assert_string_equal (pst_msg_get_str (seen, "email"), "user@example.com");
    assert_string_equal (pst_msg_get_str (seen, "audience"), "https://someapi.com/api");
    assert_string_equal (pst_msg_get_str (seen, "scope"), "openid read:sample");
    assert_true (json_is_false (json_object_get (pst_msg_body (seen), "step_up")));
    //  and the client's credentials, which mfa checks on /mfa/challenge alone
    char secret_hash [65];
    pst_sha256_hex (s_client_secret, strlen (s_client_secret), secret_hash);
    assert_string_equal (pst_msg_get_str (seen, "client_auth_method"), "client_secret_post");
    assert_string_equal (pst_msg_get_str (seen, "client_secret_hash"), secret_hash);
    pst_msg_destroy (&seen);
    assert_string_equal (pst_msg_get_str (reply, "scope"), "openid read:sample");
    assert_int_equal (pst_msg_get_int (reply, "expires_in", 0), 3600);
    json_t *claims = s_verify (pst_msg_get_str (reply, "access_token"), "https://someapi.com/api");
    assert_non_null (claims);
    assert_true (strncmp (json_string_value (json_object_get (claims, "sub")), "auth0|", 6) == 0);
    json_decref (claims);
    //  openid: the access token names /userinfo too, as Auth0's does
    s_assert_access_shape (pst_msg_get_str (reply, "access_token"), "https://someapi.com/api",
                           "password", s_client_id, 1);
    claims = s_verify (pst_msg_get_str (reply, "access_token"), s_config->userinfo);
    assert_non_null (claims);
    json_decref (claims);
    claims = s_verify (pst_msg_get_str (reply, "id_token"), s_client_id);
    assert_non_null (claims);
    json_t *header = s_jose_header (pst_msg_get_str (reply, "id_token"));
    assert_string_equal (json_string_value (json_object_get (header, "typ")), "JWT");
    json_decref (header);
    //  openid alone: who, and when the password was checked; no email or profile
    assert_string_equal (json_string_value (json_object_get (claims, "aud")), s_client_id);
    int64_t auth_time = json_integer_value (json_object_get (claims, "auth_time"));
    assert_true (auth_time >= s_clock () - 5 && auth_time <= s_clock ());
    assert_null (json_object_get (claims, "email"));
    assert_null (json_object_get (claims, "name"));
    json_decref (claims);
    pst_msg_destroy (&reply);

    //  email and profile: the claims Auth0 gives for a database user, of what authn keeps
    reply = s_call ("token.grant", s_password_body ("correct horse battery", "openid profile email"),
                    NULL, s_mfa_not_required, NULL);
    assert_false (pst_msg_is_error (reply));
    assert_string_equal (pst_msg_get_str (reply, "scope"), "openid profile email");
    claims = s_verify (pst_msg_get_str (reply, "id_token"), s_client_id);
    assert_non_null (claims);
    assert_string_equal (json_string_value (json_object_get (claims, "email")), "user@example.com");
    assert_true (json_is_true (json_object_get (claims, "email_verified")));
    assert_string_equal (json_string_value (json_object_get (claims, "name")), "user@example.com");
    assert_string_equal (json_string_value (json_object_get (claims, "nickname")), "user");
    const char *updated_at = json_string_value (json_object_get (claims, "updated_at"));
    assert_non_null (updated_at);
    assert_int_equal (strlen (updated_at), strlen ("2026-01-01T00:00:00.000Z"));
    assert_null (json_object_get (claims, "picture"));
    json_decref (claims);
    pst_msg_destroy (&reply);

    //  No openid: one audience, a string, and no id_token
    reply = s_call ("token.grant", s_password_body ("correct horse battery", "read:sample"),
                    NULL, s_mfa_not_required, NULL);
    assert_false (pst_msg_is_error (reply));
    assert_null (pst_msg_get_str (reply, "id_token"));
    s_assert_access_shape (pst_msg_get_str (reply, "access_token"), "https://someapi.com/api",
                           "password", s_client_id, 0);
    pst_msg_destroy (&reply);

    reply = s_call ("token.grant", s_password_body ("correct horse battery", "read:sample"),
                    NULL, s_mfa_required, NULL);
    s_assert_error (reply, PST_ERR_MFA_REQUIRED, "Multifactor authentication required");
    assert_string_equal (pst_msg_get_str (reply, "mfa_token"), "opaque-mfa-token");
    assert_null (pst_msg_get_str (reply, "access_token"));
    pst_msg_destroy (&reply);

    //  wrong password and unknown user: same answer, and mfa is never asked
    reply = s_call ("token.grant", s_password_body ("wrong password!", "read:sample"), NULL, NULL, NULL);
    s_assert_error (reply, PST_ERR_INVALID_GRANT, "Wrong email or password.");
    pst_msg_destroy (&reply);
    json_t *unknown = s_password_body ("correct horse battery", "read:sample");
    json_object_set_new (unknown, "username", json_string ("nobody@example.com"));
    reply = s_call ("token.grant", unknown, NULL, NULL, NULL);
    s_assert_error (reply, PST_ERR_INVALID_GRANT, "Wrong email or password.");
    pst_msg_destroy (&reply);

    //  mfa silent: fail closed, no token (S29)
    reply = s_call ("token.grant", s_password_body ("correct horse battery", "read:sample"),
                    NULL, s_silent, NULL);
    s_assert_error (reply, PST_ERR_UNAVAILABLE, NULL);
    assert_null (pst_msg_get_str (reply, "access_token"));
    pst_msg_destroy (&reply);
    //  drain the late reply path: nothing else is pending on the stand-in
    zclock_sleep (100);

    //  an answer that neither requires nor waives MFA issues nothing
    reply = s_call ("token.grant", s_password_body ("correct horse battery", "read:sample"),
                    NULL, s_mfa_unreadable, NULL);
    s_assert_error (reply, PST_ERR_INTERNAL, NULL);
    assert_null (pst_msg_get_str (reply, "access_token"));
    pst_msg_destroy (&reply);

    //  a user never gets a Management API token: refused before mfa is asked
    json_t *management = s_password_body ("correct horse battery", "read:users create:clients");
    json_object_set_new (management, "audience", json_string (s_audience_mgmt));
    reply = s_call ("token.grant", management, NULL, NULL, NULL);
    s_assert_error (reply, PST_ERR_ACCESS_DENIED, NULL);
    assert_null (pst_msg_get_str (reply, "access_token"));
    pst_msg_destroy (&reply);

    //  the MFA API is for users: its own scopes only
    json_t *mfa_api = s_password_body ("correct horse battery", "enroll read:users");
    char *mfa_audience = NULL;
    assert_true (asprintf (&mfa_audience, "%smfa/", s_config->issuer) > 0);
    json_object_set_new (mfa_api, "audience", json_string (mfa_audience));
    reply = s_call ("token.grant", mfa_api, NULL, s_mfa_not_required, &seen);
    assert_false (pst_msg_is_error (reply));
    assert_string_equal (pst_msg_get_str (reply, "scope"), "enroll");
    //  ten minutes, as Auth0's /mfa/ tokens
    assert_int_equal (pst_msg_get_int (reply, "expires_in", 0), 600);
    //  mfa is told this token could change the user's authenticators
    assert_true (json_is_true (json_object_get (pst_msg_body (seen), "step_up")));
    pst_msg_destroy (&seen);
    //  A user token says its grant (Auth0's gty), as a machine token does
    s_assert_access_shape (pst_msg_get_str (reply, "access_token"), mfa_audience,
                           "password", s_client_id, 0);
    free (mfa_audience);
    pst_msg_destroy (&reply);
}

static void
test_grant_rules (void **state)
{
    (void) state;
    pst_msg_t *reply = s_call ("token.grant", json_pack ("{s:s}", "client_id", s_client_id), NULL, NULL, NULL);
    s_assert_error (reply, PST_ERR_INVALID_REQUEST, "Missing required parameter: grant_type");
    pst_msg_destroy (&reply);

    reply = s_call ("token.grant", json_pack ("{s:s, s:s}", "grant_type", "urn:nope", "client_id", s_client_id),
                    NULL, NULL, NULL);
    s_assert_error (reply, PST_ERR_UNSUPPORTED_GRANT_TYPE, "Unsupported grant type: urn:nope");
    pst_msg_destroy (&reply);

    json_t *body = s_password_body ("correct horse battery", "read:sample");
    json_object_del (body, "client_secret");
    reply = s_call ("token.grant", body, NULL, NULL, NULL);
    s_assert_error (reply, PST_ERR_INVALID_CLIENT, NULL);
    pst_msg_destroy (&reply);

    body = s_password_body ("correct horse battery", "read:sample");
    json_object_set_new (body, "client_secret", json_string ("wrong"));
    reply = s_call ("token.grant", body, NULL, NULL, NULL);
    s_assert_error (reply, PST_ERR_INVALID_CLIENT, NULL);
    pst_msg_destroy (&reply);

    body = s_password_body ("correct horse battery", "read:sample");
    json_object_set_new (body, "client_id", json_string ("no-such-client"));
    reply = s_call ("token.grant", body, NULL, NULL, NULL);
    s_assert_error (reply, PST_ERR_INVALID_CLIENT, NULL);
    pst_msg_destroy (&reply);

    reply = s_call ("token.grant", json_pack ("{s:s, s:s, s:s, s:s}", "grant_type", "client_credentials",
        "client_id", s_client_id, "client_secret", s_client_secret, "audience", "https://someapi.com/api"),
        NULL, NULL, NULL);
    s_assert_error (reply, PST_ERR_UNAUTHORIZED_CLIENT,
                    "Grant type 'client_credentials' not allowed for the client.");
    pst_msg_destroy (&reply);

    body = s_password_body ("correct horse battery", "read:sample");
    json_object_set_new (body, "audience", json_string ("https://unknown.example/api"));
    reply = s_call ("token.grant", body, NULL, NULL, NULL);
    s_assert_error (reply, PST_ERR_ACCESS_DENIED, "Service not found: https://unknown.example/api");
    pst_msg_destroy (&reply);

    body = s_password_body ("correct horse battery", "read:sample");
    json_object_del (body, "password");
    reply = s_call ("token.grant", body, NULL, NULL, NULL);
    s_assert_error (reply, PST_ERR_INVALID_REQUEST, "Missing required parameter: password");
    pst_msg_destroy (&reply);

    //  a public client authenticates with its id alone
    body = s_password_body ("correct horse battery", "read:sample");
    json_object_set_new (body, "client_id", json_string (s_public_id));
    json_object_del (body, "client_secret");
    reply = s_call ("token.grant", body, NULL, s_mfa_not_required, NULL);
    assert_false (pst_msg_is_error (reply));
    pst_msg_destroy (&reply);
}

static void
s_mfa_verified (const pst_msg_t *request, pst_msg_t *reply)
{
    pst_msg_t *users = NULL;
    (void) users;
    json_t *body = json_pack ("{s:s, s:s, s:s, s:s}", "user_id", "placeholder",
        "client_id", pst_msg_get_str (request, "client_id"),
        "audience", "https://someapi.com/api", "scope", "read:sample");
    pst_msg_set_body (reply, &body);
}

static char s_user_id [64];

static void
s_mfa_verified_user (const pst_msg_t *request, pst_msg_t *reply)
{
    s_mfa_verified (request, reply);
    json_object_set_new (pst_msg_body (reply), "user_id", json_string (s_user_id));
    if (streq (pst_msg_op (request), "mfa.verify_recovery"))
        json_object_set_new (pst_msg_body (reply), "recovery_code", json_string ("NEWCODE0000000000000000X"));
}

static void
s_mfa_wrong_code (const pst_msg_t *request, pst_msg_t *reply)
{
    (void) request;
    pst_msg_fail (reply, PST_ERR_INVALID_GRANT, "Invalid binding_code.");
}

static void
s_mfa_locked (const pst_msg_t *request, pst_msg_t *reply)
{
    (void) request;
    json_object_set_new (pst_msg_body (reply), "retry_after", json_integer (360));
    pst_msg_fail (reply, PST_ERR_TOO_MANY_ATTEMPTS,
                  "Too many failed codes. Wait for some minutes before retrying.");
}

static void
test_mfa_grants (void **state)
{
    (void) state;
    pst_msg_t *reply = s_call ("users.list", json_pack ("{s:{s:s}}", "query", "email", "user@example.com"),
                               MGMT_SCOPES, NULL, NULL);
    json_t *user = json_array_get (json_object_get (pst_msg_body (reply), "result"), 0);
    snprintf (s_user_id, sizeof s_user_id, "%s", json_string_value (json_object_get (user, "user_id")));
    pst_msg_destroy (&reply);

    //  the seed's mfa-oob request: client_id only, no secret
    json_t *oob = json_pack ("{s:s, s:s, s:s, s:s, s:s}",
        "grant_type", "http://auth0.com/oauth/grant-type/mfa-oob", "mfa_token", "opaque-mfa-token",
        "oob_code", "oob-1", "binding_code", "123456", "client_id", s_client_id);
    pst_msg_t *seen = NULL;
    reply = s_call ("token.grant", json_deep_copy (oob), NULL, s_mfa_verified_user, &seen);
    assert_false (pst_msg_is_error (reply));
    assert_string_equal (pst_msg_op (seen), "mfa.verify_oob");
    assert_string_equal (pst_msg_get_str (seen, "binding_code"), "123456");
    assert_string_equal (pst_msg_get_str (seen, "client_id"), s_client_id);
    pst_msg_destroy (&seen);
    json_t *claims = s_verify (pst_msg_get_str (reply, "access_token"), "https://someapi.com/api");
    assert_non_null (claims);
    assert_string_equal (json_string_value (json_object_get (claims, "sub")), s_user_id);
    assert_string_equal (json_string_value (json_object_get (claims, "scope")), "read:sample");
    json_decref (claims);
    s_assert_access_shape (pst_msg_get_str (reply, "access_token"), "https://someapi.com/api",
                           "mfa-oob", s_client_id, 0);
    pst_msg_destroy (&reply);

    reply = s_call ("token.grant", json_deep_copy (oob), NULL, s_mfa_wrong_code, NULL);
    s_assert_error (reply, PST_ERR_INVALID_GRANT, "Invalid binding_code.");
    pst_msg_destroy (&reply);

    reply = s_call ("token.grant", json_deep_copy (oob), NULL, s_mfa_locked, NULL);
    s_assert_error (reply, PST_ERR_TOO_MANY_ATTEMPTS, NULL);
    assert_int_equal (pst_msg_get_int (reply, "retry_after", 0), 360);
    pst_msg_destroy (&reply);

    //  a secret that is sent must be right, even where it may be omitted
    json_object_set_new (oob, "client_secret", json_string ("wrong"));
    reply = s_call ("token.grant", json_deep_copy (oob), NULL, NULL, NULL);
    s_assert_error (reply, PST_ERR_INVALID_CLIENT, NULL);
    pst_msg_destroy (&reply);
    json_decref (oob);

    reply = s_call ("token.grant", json_pack ("{s:s, s:s, s:s, s:s, s:s}",
        "grant_type", "http://auth0.com/oauth/grant-type/mfa-recovery-code", "mfa_token", "t",
        "recovery_code", "ABCDEFGHIJKLMNOPQRSTUVWX", "client_id", s_client_id, "client_secret", s_client_secret),
        NULL, s_mfa_verified_user, NULL);
    assert_false (pst_msg_is_error (reply));
    assert_string_equal (pst_msg_get_str (reply, "recovery_code"), "NEWCODE0000000000000000X");
    s_assert_access_shape (pst_msg_get_str (reply, "access_token"), "https://someapi.com/api",
                           "mfa-recovery-code", s_client_id, 0);
    pst_msg_destroy (&reply);
}

//  What a compromised or confused mfa hands back is checked again: the audience
//  must be an API (or userinfo), never the Management API; the scope is cut down
//  to what the API defines; the token must have been the client's own
static const char *s_forged_audience;
static const char *s_forged_scope;
static const char *s_forged_client;

static void
s_mfa_forged (const pst_msg_t *request, pst_msg_t *reply)
{
    json_t *body = json_pack ("{s:s, s:s, s:s, s:s, s:i}", "user_id", s_user_id,
        "client_id", s_forged_client? s_forged_client: pst_msg_get_str (request, "client_id"),
        "audience", s_forged_audience, "scope", s_forged_scope, "auth_time", 1700000000);
    pst_msg_set_body (reply, &body);
}

static pst_msg_t *
s_forged_grant (const char *audience, const char *scope, const char *client)
{
    s_forged_audience = audience;
    s_forged_scope = scope;
    s_forged_client = client;
    json_t *oob = json_pack ("{s:s, s:s, s:s, s:s, s:s}",
        "grant_type", "http://auth0.com/oauth/grant-type/mfa-oob", "mfa_token", "opaque-mfa-token",
        "oob_code", "oob-1", "binding_code", "123456", "client_id", s_client_id);
    return s_call ("token.grant", oob, NULL, s_mfa_forged, NULL);
}

static void
test_mfa_grants_rechecked (void **state)
{
    (void) state;
    //  The Management API: refused, whatever scope mfa names
    pst_msg_t *reply = s_forged_grant (s_audience_mgmt, "create:clients create:client_grants", NULL);
    s_assert_error (reply, PST_ERR_ACCESS_DENIED,
                    "The Management API accepts machine tokens only: use client_credentials");
    pst_msg_destroy (&reply);
    //  An audience that is no API
    reply = s_forged_grant ("https://nowhere.example/api", "read:sample", NULL);
    s_assert_error (reply, PST_ERR_ACCESS_DENIED, "Service not found: https://nowhere.example/api");
    pst_msg_destroy (&reply);
    //  Scopes the API does not define are dropped; the OpenID ones stay
    reply = s_forged_grant ("https://someapi.com/api", "read:sample delete:everything openid", NULL);
    assert_false (pst_msg_is_error (reply));
    json_t *claims = s_verify (pst_msg_get_str (reply, "access_token"), "https://someapi.com/api");
    assert_non_null (claims);
    assert_string_equal (json_string_value (json_object_get (claims, "scope")), "read:sample openid");
    json_decref (claims);
    s_assert_access_shape (pst_msg_get_str (reply, "access_token"), "https://someapi.com/api",
                           "mfa-oob", s_client_id, 1);
    //  The id_token's auth_time is the password's, which mfa remembered
    claims = s_verify (pst_msg_get_str (reply, "id_token"), s_client_id);
    assert_non_null (claims);
    assert_int_equal (json_integer_value (json_object_get (claims, "auth_time")), 1700000000);
    json_decref (claims);
    pst_msg_destroy (&reply);
    //  Another client's token
    reply = s_forged_grant ("https://someapi.com/api", "read:sample", "some-other-client");
    s_assert_error (reply, PST_ERR_INVALID_GRANT, "mfa_token was not issued to this client");
    pst_msg_destroy (&reply);
    //  No audience at sign-in: the userinfo audience comes back and is kept
    char *userinfo = NULL;
    assert_true (asprintf (&userinfo, "%suserinfo", s_config->issuer) > 0);
    reply = s_forged_grant (userinfo, "openid email", NULL);
    assert_false (pst_msg_is_error (reply));
    claims = s_verify (pst_msg_get_str (reply, "access_token"), userinfo);
    assert_non_null (claims);
    assert_string_equal (json_string_value (json_object_get (claims, "scope")), "openid email");
    json_decref (claims);
    //  /userinfo is its only audience: a string, as Auth0's
    s_assert_access_shape (pst_msg_get_str (reply, "access_token"), userinfo, "mfa-oob",
                           s_client_id, 0);
    pst_msg_destroy (&reply);
    free (userinfo);
}

//  An administrator changes the client while its password grant hashes: the
//  mfa_token mfa has just made keeps the old credentials, so authn looks at the
//  client again and keeps the token to itself (mfa is not called again)
static const char *s_racing_client;

static void
s_mfa_required_after_change (const pst_msg_t *request, pst_msg_t *reply)
{
    authn_store_t *store = authn_store_new (s_config->db_path);
    assert_non_null (store);
    json_t *change = json_pack ("{s:s}", "token_endpoint_auth_method", "none");
    assert_int_equal (authn_store_update (store, AUTHN_CLIENTS, s_racing_client, change), 0);
    json_decref (change);
    authn_store_destroy (&store);
    s_mfa_required (request, reply);
}

static void
test_client_changed_during_sign_in (void **state)
{
    (void) state;
    pst_msg_t *reply = s_call ("clients.create", json_pack ("{s:{s:s, s:s, s:[s]}}", "data",
        "name", "Racing", "token_endpoint_auth_method", "client_secret_post", "grant_types",
        "password"), MGMT_SCOPES, NULL, NULL);
    assert_false (pst_msg_is_error (reply));
    char *client_id = strdup (pst_msg_get_str (reply, "client_id"));
    char *secret = strdup (pst_msg_get_str (reply, "client_secret"));
    pst_msg_destroy (&reply);
    s_racing_client = client_id;

    json_t *grant = s_password_body ("correct horse battery", "openid");
    json_object_set_new (grant, "client_id", json_string (client_id));
    json_object_set_new (grant, "client_secret", json_string (secret));
    pst_msg_t *request = s_request ("token.grant", grant, NULL);
    assert_int_equal (pst_bus_send (s_caller, NULL, request), 0);
    s_serve_mfa_once (s_mfa_required_after_change, NULL);
    reply = s_await (request);
    s_assert_error (reply, PST_ERR_INVALID_CLIENT,
                    "The application's credentials changed or it was deleted. Sign in again.");
    assert_null (pst_msg_get_str (reply, "mfa_token"));
    pst_msg_destroy (&reply);
    pst_msg_destroy (&request);
    assert_int_equal (test_peer_serve (s_mfa, NULL, 300, NULL), -1);
    s_racing_client = NULL;
    free (client_id);
    free (secret);
}

//  A public client made confidential gets a secret, shown once, that works
//  A new public client (no secret) for the password grant; its id, to free
static char *
s_public_client (const char *name)
{
    pst_msg_t *reply = s_call ("clients.create", json_pack ("{s:{s:s, s:s, s:[s]}}", "data",
        "name", name, "token_endpoint_auth_method", "none", "grant_types", "password"),
        MGMT_SCOPES, NULL, NULL);
    assert_false (pst_msg_is_error (reply));
    char *client_id = strdup (pst_msg_get_str (reply, "client_id"));
    pst_msg_destroy (&reply);
    return client_id;
}

static void
test_client_made_confidential (void **state)
{
    (void) state;
    char *client_id = s_public_client ("Turned");
    pst_msg_t *reply;

    //  Its users' sign-ins under the old credentials stop at mfa
    pst_msg_t *seen = NULL;
    reply = s_call ("clients.update", json_pack ("{s:s, s:{s:s}}", "id", client_id, "data",
        "token_endpoint_auth_method", "client_secret_post"), "update:clients", s_mfa_voided, &seen);
    assert_false (pst_msg_is_error (reply));
    assert_string_equal (pst_msg_get_str (seen, "client_id"), client_id);
    pst_msg_destroy (&seen);
    assert_string_equal (pst_msg_get_str (reply, "token_endpoint_auth_method"), "client_secret_post");
    assert_non_null (pst_msg_get_str (reply, "client_secret"));
    char *secret = strdup (pst_msg_get_str (reply, "client_secret"));
    pst_msg_destroy (&reply);

    //  The secret is now required and the issued one is accepted
    json_t *grant = s_password_body ("correct horse battery", "openid");
    json_object_set_new (grant, "client_id", json_string (client_id));
    json_object_del (grant, "client_secret");
    reply = s_call ("token.grant", json_deep_copy (grant), NULL, NULL, NULL);
    s_assert_error (reply, PST_ERR_INVALID_CLIENT, NULL);
    pst_msg_destroy (&reply);
    json_object_set_new (grant, "client_secret", json_string (secret));
    reply = s_call ("token.grant", grant, NULL, s_mfa_not_required, NULL);
    assert_false (pst_msg_is_error (reply));
    pst_msg_destroy (&reply);

    //  Further updates never show or replace it
    reply = s_call ("clients.update", json_pack ("{s:s, s:{s:s}}", "id", client_id, "data",
        "token_endpoint_auth_method", "client_secret_basic"), "update:clients", NULL, NULL);
    //  The same secret, sent another way: mfa's tokens still hold, mfa is not called
    assert_int_equal (test_peer_serve (s_mfa, NULL, 300, NULL), -1);
    assert_false (pst_msg_is_error (reply));
    assert_null (pst_msg_get_str (reply, "client_secret"));
    pst_msg_destroy (&reply);
    free (secret);
    free (client_id);
}

//  Two updates of one client take turns: the second decides from what the first
//  made, not from what it read before. Here the first is the test's own write,
//  held open while authn's update arrives; it makes the public client
//  confidential with a known secret. authn's update (client_secret_post) must
//  then see a confidential client with a secret: no new secret shown (it would
//  not be the client's), no void sent for a change it did not make.
static void
test_client_updates_take_turns (void **state)
{
    (void) state;
    char *client_id = s_public_client ("Turns");

    //  No assert while the write is open: one that failed there would leave
    //  authn's writes, and the tests after, waiting on the lock
    char hash [65];
    pst_sha256_hex ("the-first-writer's-secret", strlen ("the-first-writer's-secret"), hash);
    json_t *change = json_pack ("{s:s, s:s}", "token_endpoint_auth_method", "client_secret_basic",
                                "secret_hash", hash);
    pst_msg_t *request = s_request ("clients.update", json_pack ("{s:s, s:{s:s}}", "id", client_id,
        "data", "token_endpoint_auth_method", "client_secret_post"), "update:clients");
    authn_store_t *store = authn_store_new (s_config->db_path);
    int began = store? authn_store_begin (store): -1;
    int sent = began == 0? pst_bus_send (s_caller, NULL, request): -1;
    //  Time for authn to reach the client. The change waits for the write lock
    //  whenever it comes, so it passes however slow the machine; the time only
    //  gives the old code's read before the lock its chance to show
    if (sent == 0)
        zclock_sleep (300);
    int updated = began == 0? authn_store_update (store, AUTHN_CLIENTS, client_id, change): -1;
    int committed = updated == 0? authn_store_commit (store): -1;
    if (began == 0 && committed != 0)
        authn_store_rollback (store);
    authn_store_destroy (&store);
    json_decref (change);
    assert_int_equal (began, 0);
    assert_int_equal (sent, 0);
    assert_int_equal (updated, 0);
    assert_int_equal (committed, 0);

    pst_msg_t *reply = s_await (request);
    assert_false (pst_msg_is_error (reply));
    assert_string_equal (pst_msg_get_str (reply, "token_endpoint_auth_method"), "client_secret_post");
    assert_null (pst_msg_get_str (reply, "client_secret"));
    pst_msg_destroy (&reply);
    pst_msg_destroy (&request);
    assert_int_equal (test_peer_serve (s_mfa, NULL, 300, NULL), -1);

    //  The first writer's secret authenticates the client: what is refused is
    //  the grant type, which comes after the client's authentication
    json_t *grant = json_pack ("{s:s, s:s, s:s, s:s}", "grant_type", "client_credentials",
        "client_id", client_id, "client_secret", "the-first-writer's-secret",
        "audience", s_audience_mgmt);
    reply = s_call ("token.grant", grant, NULL, NULL, NULL);
    s_assert_error (reply, PST_ERR_UNAUTHORIZED_CLIENT, NULL);
    pst_msg_destroy (&reply);
    free (client_id);
}

//  The rate_limit member the gateway turns into X-RateLimit-*: the limit of the
//  key that refused, none left, and the end of its window as Unix time.
static void
s_assert_rate_limit (pst_msg_t *reply, int limit)
{
    json_t *rate_limit = json_object_get (pst_msg_body (reply), "rate_limit");
    assert_true (json_is_object (rate_limit));
    assert_int_equal (json_integer_value (json_object_get (rate_limit, "limit")), limit);
    assert_true (json_is_integer (json_object_get (rate_limit, "remaining")));
    assert_int_equal (json_integer_value (json_object_get (rate_limit, "remaining")), 0);
    json_int_t reset = json_integer_value (json_object_get (rate_limit, "reset"));
    json_int_t expected = (json_int_t) s_clock () + pst_msg_get_int (reply, "retry_after", 0);
    assert_true (reset >= expected - 1 && reset <= expected + 1);
}

//  Brute force: a user and IP pair is blocked after 3 failures in the window,
//  even for the right password, without touching other users or other IPs; an
//  IP spraying many accounts is blocked after 6.
static void
test_login_throttle (void **state)
{
    (void) state;
    s_client_ip = "198.51.100.7";
    for (int attempt = 0; attempt < 3; attempt++) {
        pst_msg_t *reply = s_call ("token.grant", s_password_body ("wrong password!", "openid"),
                                   NULL, NULL, NULL);
        s_assert_error (reply, PST_ERR_INVALID_GRANT, "Wrong email or password.");
        pst_msg_destroy (&reply);
    }
    //  mfa is never asked: the block comes before the password check
    pst_msg_t *reply = s_call ("token.grant", s_password_body ("correct horse battery", "openid"),
                               NULL, NULL, NULL);
    s_assert_error (reply, PST_ERR_TOO_MANY_ATTEMPTS, NULL);
    int retry_after = (int) pst_msg_get_int (reply, "retry_after", 0);
    assert_true (retry_after > 890 && retry_after <= 900);
    assert_null (pst_msg_get_str (reply, "access_token"));
    s_assert_rate_limit (reply, 3);
    pst_msg_destroy (&reply);

    //  The same client written IPv4-mapped is the same address
    s_client_ip = "::ffff:198.51.100.7";
    reply = s_call ("token.grant", s_password_body ("correct horse battery", "openid"),
                    NULL, NULL, NULL);
    s_assert_error (reply, PST_ERR_TOO_MANY_ATTEMPTS, NULL);
    pst_msg_destroy (&reply);

    //  The same user from another address is not blocked
    s_client_ip = "203.0.113.9";
    reply = s_call ("token.grant", s_password_body ("correct horse battery", "openid"),
                    NULL, s_mfa_not_required, NULL);
    assert_false (pst_msg_is_error (reply));
    pst_msg_destroy (&reply);

    //  Unknown users count the same way (S11): same answers, same block
    json_t *body = s_password_body ("whatever pass", "openid");
    json_object_set_new (body, "username", json_string ("Nobody@Example.com"));
    for (int attempt = 0; attempt < 3; attempt++) {
        reply = s_call ("token.grant", json_deep_copy (body), NULL, NULL, NULL);
        s_assert_error (reply, PST_ERR_INVALID_GRANT, "Wrong email or password.");
        pst_msg_destroy (&reply);
    }
    //  Case does not make a new key
    json_object_set_new (body, "username", json_string ("nobody@example.com"));
    reply = s_call ("token.grant", body, NULL, NULL, NULL);
    s_assert_error (reply, PST_ERR_TOO_MANY_ATTEMPTS, NULL);
    pst_msg_destroy (&reply);

    //  Spraying from one IP: 3 failures above plus 3 more for other names = 6
    for (int attempt = 0; attempt < 3; attempt++) {
        json_t *spray = s_password_body ("Summer2026!", "openid");
        char name [64];
        snprintf (name, sizeof name, "victim%d@example.com", attempt);
        json_object_set_new (spray, "username", json_string (name));
        reply = s_call ("token.grant", spray, NULL, NULL, NULL);
        s_assert_error (reply, PST_ERR_INVALID_GRANT, NULL);
        pst_msg_destroy (&reply);
    }
    json_t *spray = s_password_body ("Summer2026!", "openid");
    json_object_set_new (spray, "username", json_string ("victim9@example.com"));
    reply = s_call ("token.grant", spray, NULL, NULL, NULL);
    s_assert_error (reply, PST_ERR_TOO_MANY_ATTEMPTS, NULL);
    s_assert_rate_limit (reply, 6);
    pst_msg_destroy (&reply);

    //  The window passes: the first address gets in again, and success forgets
    s_clock_offset = 901;
    s_client_ip = "198.51.100.7";
    reply = s_call ("token.grant", s_password_body ("correct horse battery", "openid"),
                    NULL, s_mfa_not_required, NULL);
    assert_false (pst_msg_is_error (reply));
    pst_msg_destroy (&reply);
    //  2 + 2 failures with a success between: never 3 in a row, never blocked
    for (int round = 0; round < 2; round++) {
        for (int attempt = 0; attempt < 2; attempt++) {
            reply = s_call ("token.grant", s_password_body ("wrong password!", "openid"),
                            NULL, NULL, NULL);
            s_assert_error (reply, PST_ERR_INVALID_GRANT, NULL);
            pst_msg_destroy (&reply);
        }
        reply = s_call ("token.grant", s_password_body ("correct horse battery", "openid"),
                        NULL, s_mfa_not_required, NULL);
        assert_false (pst_msg_is_error (reply));
        pst_msg_destroy (&reply);
    }
    s_clock_offset = 0;
    s_client_ip = NULL;
}

//  Sends bodies [0..count) as password grants at once and counts the answers:
//  wrong password tried, or refused with 429 (nothing else is expected)
static void
s_grants_at_once (json_t **bodies, int count, int *tried, int *refused)
{
    pst_msg_t *requests [16];
    assert_true (count <= 16);
    for (int index = 0; index < count; index++) {
        requests [index] = s_request ("token.grant", bodies [index], NULL);
        assert_int_equal (pst_bus_send (s_caller, NULL, requests [index]), 0);
    }
    *tried = *refused = 0;
    zsock_set_rcvtimeo (s_caller, 10000);
    for (int answered = 0; answered < count; ) {
        pst_msg_t *reply = pst_bus_recv_dealer (s_caller);
        assert_non_null (reply);
        int ours = 0;
        for (int index = 0; index < count; index++)
            ours |= streq (pst_msg_id (reply), pst_msg_id (requests [index]));
        if (ours) {
            answered++;
            assert_true (pst_msg_is_error (reply));
            if (streq (pst_msg_error (reply), PST_ERR_INVALID_GRANT))
                (*tried)++;
            else {
                s_assert_error (reply, PST_ERR_TOO_MANY_ATTEMPTS, NULL);
                (*refused)++;
            }
        }
        pst_msg_destroy (&reply);
    }
    for (int index = 0; index < count; index++)
        pst_msg_destroy (&requests [index]);
}

//  Parallel wrong passwords cannot overshoot the limits. Of 8 for one user
//  sent at once, exactly 3 are tried and 5 refused (they also take turns,
//  authn_attempts). Of 8 for 8 users from one new address, which race on the
//  address key in the 4 workers, exactly the address's 6 are tried and 2
//  refused: each attempt is counted before its password is checked.
static void
test_login_throttle_parallel (void **state)
{
    (void) state;
    json_t *bodies [8];
    int tried = 0, refused = 0;
    s_client_ip = "192.0.2.50";
    for (int index = 0; index < 8; index++)
        bodies [index] = s_password_body ("wrong password!", "openid");
    s_grants_at_once (bodies, 8, &tried, &refused);
    assert_int_equal (tried, 3);
    assert_int_equal (refused, 5);

    s_client_ip = "192.0.2.51";
    for (int index = 0; index < 8; index++) {
        bodies [index] = s_password_body ("wrong password!", "openid");
        char name [64];
        snprintf (name, sizeof name, "sprayed%d@example.com", index);
        json_object_set_new (bodies [index], "username", json_string (name));
    }
    s_grants_at_once (bodies, 8, &tried, &refused);
    assert_int_equal (tried, 6);
    assert_int_equal (refused, 2);
    s_client_ip = NULL;
}

//  A burst of right passwords for one user from one address, larger than the
//  limit and sent at once to more workers than the limit: none is refused.
//  Each attempt is counted until its password is checked, so without turns
//  (authn_attempts) the fourth in flight met a limit of 3 used up by three
//  right passwords, and got 429. mfa answers each mfa.begin as it comes.
static void
test_login_burst_of_right_passwords (void **state)
{
    (void) state;
    s_client_ip = "192.0.2.77";
    const int sent = 6;
    pst_msg_t *requests [6];
    for (int index = 0; index < sent; index++) {
        requests [index] = s_request ("token.grant",
                                      s_password_body ("correct horse battery", "openid"), NULL);
        assert_int_equal (pst_bus_send (s_caller, NULL, requests [index]), 0);
    }
    zpoller_t *poller = zpoller_new (s_caller, s_mfa, NULL);
    assert_non_null (poller);
    int answered = 0, granted = 0, asked = 0;
    while (answered < sent) {
        zsock_t *ready = (zsock_t *) zpoller_wait (poller, 10000);
        assert_non_null (ready);
        if (ready == s_mfa) {
            pst_msg_t *seen = NULL;
            s_serve_mfa_once (s_mfa_not_required, &seen);
            assert_string_equal (pst_msg_op (seen), "mfa.begin");
            pst_msg_destroy (&seen);
            asked++;
            continue;
        }
        pst_msg_t *reply = pst_bus_recv_dealer (s_caller);
        assert_non_null (reply);
        for (int index = 0; index < sent; index++)
            if (streq (pst_msg_id (reply), pst_msg_id (requests [index]))) {
                answered++;
                if (pst_msg_is_error (reply))
                    print_message ("refused: %s\n", pst_msg_error (reply));
                else
                if (pst_msg_get_str (reply, "access_token"))
                    granted++;
            }
        pst_msg_destroy (&reply);
    }
    zpoller_destroy (&poller);
    for (int index = 0; index < sent; index++)
        pst_msg_destroy (&requests [index]);
    assert_int_equal (asked, sent);
    assert_int_equal (granted, sent);
    s_client_ip = NULL;
}

//  An IPv6 client counts by its /64: it cannot leave a block by moving to
//  another of its own addresses, while the next /64 is someone else.
static void
test_login_throttle_ipv6 (void **state)
{
    (void) state;
    s_client_ip = "2001:db8:5:6::1";
    for (int attempt = 0; attempt < 3; attempt++) {
        pst_msg_t *reply = s_call ("token.grant", s_password_body ("wrong password!", "openid"),
                                   NULL, NULL, NULL);
        s_assert_error (reply, PST_ERR_INVALID_GRANT, NULL);
        pst_msg_destroy (&reply);
    }
    s_client_ip = "2001:db8:5:6:a:b:c:beef";
    pst_msg_t *reply = s_call ("token.grant", s_password_body ("correct horse battery", "openid"),
                               NULL, NULL, NULL);
    s_assert_error (reply, PST_ERR_TOO_MANY_ATTEMPTS, NULL);
    s_assert_rate_limit (reply, 3);
    pst_msg_destroy (&reply);

    s_client_ip = "2001:db8:5:7::1";
    reply = s_call ("token.grant", s_password_body ("correct horse battery", "openid"),
                    NULL, s_mfa_not_required, NULL);
    assert_false (pst_msg_is_error (reply));
    pst_msg_destroy (&reply);
    s_client_ip = NULL;
}

static void
s_mfa_wiped (const pst_msg_t *request, pst_msg_t *reply)
{
    assert_string_equal (pst_msg_op (request), "authentication_methods.delete_all");
    assert_string_equal (pst_msg_scopes (request), "delete:authentication_methods");
    assert_string_equal (pst_msg_caller (request), "test-admin@clients");
    (void) reply;
}

//  A user of the database connection; returns its user_id (caller frees)
static char *
s_create_user (const char *email)
{
    pst_msg_t *reply = s_call ("users.create", json_pack ("{s:{s:s, s:s, s:s}}", "data",
        "email", email, "password", "correct horse battery",
        "connection", "Username-Password-Authentication"), MGMT_SCOPES, NULL, NULL);
    assert_false (pst_msg_is_error (reply));
    char *user_id = strdup (pst_msg_get_str (reply, "user_id"));
    pst_msg_destroy (&reply);
    return user_id;
}

//  op sent as the gateway sends it for a verified access token: caller and scopes
static pst_msg_t *
s_call_as (const char *op, const char *caller, const char *scopes)
{
    pst_msg_t *request = pst_msg_new_request (op, 3000);
    pst_msg_set_caller (request, caller, scopes);
    assert_int_equal (pst_bus_send (s_caller, NULL, request), 0);
    pst_msg_t *reply = s_await (request);
    pst_msg_destroy (&request);
    return reply;
}

//  /userinfo: the caller's claims for the token's scopes; openid is required
//  before the handler runs; a user who is gone is an invalid token
static void
test_userinfo (void **state)
{
    (void) state;
    char *user_id = s_create_user ("Info.Person@example.com");
    pst_msg_t *reply = s_call_as ("userinfo.get", user_id, "openid");
    assert_false (pst_msg_is_error (reply));
    assert_string_equal (pst_msg_get_str (reply, "sub"), user_id);
    assert_int_equal (json_object_size (pst_msg_body (reply)), 1);
    pst_msg_destroy (&reply);

    reply = s_call_as ("userinfo.post", user_id, "openid email read:sample");
    assert_false (pst_msg_is_error (reply));
    assert_string_equal (pst_msg_get_str (reply, "email"), "Info.Person@example.com");
    assert_true (json_is_false (json_object_get (pst_msg_body (reply), "email_verified")));
    assert_null (pst_msg_get_str (reply, "name"));
    pst_msg_destroy (&reply);

    reply = s_call_as ("userinfo.get", user_id, "openid profile");
    assert_false (pst_msg_is_error (reply));
    assert_string_equal (pst_msg_get_str (reply, "name"), "Info.Person@example.com");
    assert_string_equal (pst_msg_get_str (reply, "nickname"), "Info.Person");
    assert_non_null (pst_msg_get_str (reply, "updated_at"));
    assert_null (pst_msg_get_str (reply, "email"));
    pst_msg_destroy (&reply);

    reply = s_call_as ("userinfo.get", user_id, "profile email");
    s_assert_error (reply, PST_ERR_INSUFFICIENT_SCOPE, "Insufficient scope, expected: openid");
    pst_msg_destroy (&reply);
    reply = s_call_as ("userinfo.get", "auth0|000000000000000000000000", "openid");
    s_assert_error (reply, PST_ERR_INVALID_TOKEN, NULL);
    pst_msg_destroy (&reply);
    free (user_id);
}

static int
s_array_has (const json_t *array, const char *word)
{
    size_t index;
    const json_t *item;
    json_array_foreach (array, index, item)
        if (json_is_string (item) && streq (json_string_value (item), word))
            return 1;
    return 0;
}

//  The discovery document lists what is served and nothing else
static void
test_discovery (void **state)
{
    (void) state;
    pst_msg_t *reply = s_call ("oidc.configuration", NULL, NULL, NULL, NULL);
    assert_false (pst_msg_is_error (reply));
    json_t *doc = pst_msg_body (reply);
    char url [256];
    assert_string_equal (pst_msg_get_str (reply, "issuer"), s_config->issuer);
    snprintf (url, sizeof url, "%s.well-known/jwks.json", s_config->issuer);
    assert_string_equal (pst_msg_get_str (reply, "jwks_uri"), url);
    snprintf (url, sizeof url, "%soauth/token", s_config->issuer);
    assert_string_equal (pst_msg_get_str (reply, "token_endpoint"), url);
    assert_string_equal (pst_msg_get_str (reply, "userinfo_endpoint"), s_config->userinfo);
    snprintf (url, sizeof url, "%smfa/challenge", s_config->issuer);
    assert_string_equal (pst_msg_get_str (reply, "mfa_challenge_endpoint"), url);
    //  Nothing that is not served
    assert_null (json_object_get (doc, "authorization_endpoint"));
    snprintf (url, sizeof url, "%soauth/revoke", s_config->issuer);
    assert_string_equal (pst_msg_get_str (reply, "revocation_endpoint"), url);
    assert_int_equal (json_array_size (json_object_get (doc, "response_types_supported")), 0);
    json_t *grants = json_object_get (doc, "grant_types_supported");
    assert_true (s_array_has (grants, "password"));
    assert_true (s_array_has (grants, "client_credentials"));
    assert_true (s_array_has (grants, "http://auth0.com/oauth/grant-type/mfa-oob"));
    assert_true (s_array_has (grants, "http://auth0.com/oauth/grant-type/mfa-recovery-code"));
    assert_true (s_array_has (grants, "http://auth0.com/oauth/grant-type/mfa-otp"));
    assert_true (s_array_has (grants, "refresh_token"));
    json_t *scopes = json_object_get (doc, "scopes_supported");
    assert_int_equal (json_array_size (scopes), 3);
    assert_true (s_array_has (scopes, "openid") && s_array_has (scopes, "profile")
              && s_array_has (scopes, "email"));
    assert_true (s_array_has (json_object_get (doc, "subject_types_supported"), "public"));
    assert_true (s_array_has (json_object_get (doc, "id_token_signing_alg_values_supported"), "RS256"));
    json_t *claims = json_object_get (doc, "claims_supported");
    assert_true (s_array_has (claims, "auth_time") && s_array_has (claims, "email_verified"));
    assert_false (s_array_has (claims, "picture"));
    pst_msg_destroy (&reply);
}

//  Deleting a user clears the user's MFA state in mfa first; when mfa cannot,
//  the user stays, so the deletion can be retried
static void
test_user_delete_clears_mfa (void **state)
{
    (void) state;
    char *user_id = s_create_user ("leaving@example.com");
    pst_msg_t *reply = NULL;

    reply = s_call ("users.delete", json_pack ("{s:s}", "id", user_id), "delete:users",
                    s_silent, NULL);
    s_assert_error (reply, PST_ERR_UNAVAILABLE, NULL);
    pst_msg_destroy (&reply);
    zclock_sleep (100);
    reply = s_call ("users.get", json_pack ("{s:s}", "id", user_id), "read:users", NULL, NULL);
    assert_false (pst_msg_is_error (reply));
    pst_msg_destroy (&reply);

    pst_msg_t *seen = NULL;
    reply = s_call ("users.delete", json_pack ("{s:s}", "id", user_id), "delete:users",
                    s_mfa_wiped, &seen);
    assert_false (pst_msg_is_error (reply));
    assert_string_equal (pst_msg_get_str (seen, "id"), user_id);
    pst_msg_destroy (&seen);
    pst_msg_destroy (&reply);
    reply = s_call ("users.get", json_pack ("{s:s}", "id", user_id), "read:users", NULL, NULL);
    s_assert_error (reply, PST_ERR_NOT_FOUND, NULL);
    pst_msg_destroy (&reply);
    //  Unknown users: 404 without asking mfa
    reply = s_call ("users.delete", json_pack ("{s:s}", "id", user_id), "delete:users", NULL, NULL);
    s_assert_error (reply, PST_ERR_NOT_FOUND, NULL);
    pst_msg_destroy (&reply);
    free (user_id);
}

static void
s_mfa_methods (const pst_msg_t *request, pst_msg_t *reply)
{
    (void) request;
    json_t *body = json_pack ("{s:[{s:s, s:s}]}", "result", "id", "recovery-code|dev_1",
                              "type", "recovery-code");
    pst_msg_set_body (reply, &body);
}

static void
s_mfa_not_found (const pst_msg_t *request, pst_msg_t *reply)
{
    (void) request;
    pst_msg_fail (reply, PST_ERR_NOT_FOUND, "Authenticator not found");
}

//  A user's authentication methods: an unknown user is 404 from authn, without
//  asking mfa; a known one goes to mfa as it came (same request id, so mfa's
//  replay of a retried id holds), and mfa's answer, success or error, comes back
static void
test_user_mfa_forwarded (void **state)
{
    (void) state;
    char *user_id = s_create_user ("methods@example.com");
    pst_msg_t *reply = NULL;

    static const char *ops [][2] = {
        { "authentication_methods.list",        "read:authentication_methods" },
        { "authentication_methods.delete",      "delete:authentication_methods" },
        { "authentication_methods.delete_all",  "delete:authentication_methods" },
        { "recovery_code.regenerate",           "update:users" },
    };
    for (size_t index = 0; index < sizeof ops / sizeof ops [0]; index++) {
        reply = s_call (ops [index][0], json_pack ("{s:s, s:s}", "id", "auth0|nobody",
                        "sub_id", "email|dev_1"), ops [index][1], NULL, NULL);
        s_assert_error (reply, PST_ERR_NOT_FOUND, "The user does not exist.");
        pst_msg_destroy (&reply);
    }
    //  The scope is checked before anything else
    reply = s_call ("authentication_methods.list", json_pack ("{s:s}", "id", user_id),
                    "read:users", NULL, NULL);
    s_assert_error (reply, PST_ERR_INSUFFICIENT_SCOPE, NULL);
    pst_msg_destroy (&reply);

    pst_msg_t *seen = NULL;
    reply = s_call ("authentication_methods.list", json_pack ("{s:s}", "id", user_id),
                    "read:authentication_methods", s_mfa_methods, &seen);
    assert_false (pst_msg_is_error (reply));
    assert_string_equal (pst_msg_op (seen), "authentication_methods.list");
    assert_string_equal (pst_msg_get_str (seen, "id"), user_id);
    assert_string_equal (pst_msg_caller (seen), "test-admin@clients");
    assert_string_equal (pst_msg_scopes (seen), "read:authentication_methods");
    assert_string_equal (pst_msg_id (seen), pst_msg_id (reply));
    json_t *result = json_object_get (pst_msg_body (reply), "result");
    assert_int_equal (json_array_size (result), 1);
    assert_string_equal (json_string_value (json_object_get (json_array_get (result, 0), "type")),
                         "recovery-code");
    pst_msg_destroy (&seen);
    pst_msg_destroy (&reply);

    reply = s_call ("authentication_methods.delete", json_pack ("{s:s, s:s}", "id", user_id,
                    "sub_id", "email|dev_gone"), "delete:authentication_methods",
                    s_mfa_not_found, NULL);
    s_assert_error (reply, PST_ERR_NOT_FOUND, "Authenticator not found");
    pst_msg_destroy (&reply);

    //  mfa silent: 503 within authn's own bus deadline
    reply = s_call ("recovery_code.regenerate", json_pack ("{s:s}", "id", user_id),
                    "update:users", s_silent, NULL);
    s_assert_error (reply, PST_ERR_UNAVAILABLE, NULL);
    pst_msg_destroy (&reply);
    zclock_sleep (100);
    free (user_id);
}

//  users.create with the caller's data.user_id, and what it answers
static pst_msg_t *
s_create_with_id (const char *email, json_t *user_id)
{
    json_t *data = json_pack ("{s:s, s:s, s:s}", "email", email, "password", "correct horse battery",
                              "connection", "Username-Password-Authentication");
    json_object_set_new (data, "user_id", user_id);
    return s_call ("users.create", json_pack ("{s:o}", "data", data), MGMT_SCOPES, NULL, NULL);
}

//  A migration keeps every sub: a caller's user_id becomes "auth0|" + it, as
//  Auth0 makes it; the user signs in under it; a taken id is a conflict, and an
//  id that is not one is refused before anything is stored.
static void
test_user_id_on_create (void **state)
{
    (void) state;
    pst_msg_t *reply = s_create_with_id ("migrated@example.com", json_string ("5f1a2b3c4d5e6f708192a3b4"));
    assert_false (pst_msg_is_error (reply));
    assert_string_equal (pst_msg_get_str (reply, "user_id"), "auth0|5f1a2b3c4d5e6f708192a3b4");
    json_t *identity = json_array_get (json_object_get (pst_msg_body (reply), "identities"), 0);
    assert_string_equal (json_string_value (json_object_get (identity, "user_id")),
                         "5f1a2b3c4d5e6f708192a3b4");
    assert_string_equal (json_string_value (json_object_get (identity, "provider")), "auth0");
    pst_msg_destroy (&reply);
    reply = s_call ("users.get", json_pack ("{s:s}", "id", "auth0|5f1a2b3c4d5e6f708192a3b4"),
                    "read:users", NULL, NULL);
    assert_string_equal (pst_msg_get_str (reply, "email"), "migrated@example.com");
    pst_msg_destroy (&reply);

    //  The tokens name the same sub as before the migration
    reply = s_call ("token.grant", json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s}",
        "grant_type", "password", "username", "migrated@example.com",
        "password", "correct horse battery", "audience", "https://someapi.com/api",
        "client_id", s_client_id, "client_secret", s_client_secret), NULL, s_mfa_not_required, NULL);
    assert_false (pst_msg_is_error (reply));
    json_t *claims = s_verify (pst_msg_get_str (reply, "access_token"), "https://someapi.com/api");
    assert_non_null (claims);
    assert_string_equal (json_string_value (json_object_get (claims, "sub")),
                         "auth0|5f1a2b3c4d5e6f708192a3b4");
    json_decref (claims);
    pst_msg_destroy (&reply);

    //  Taken: 409, whatever the address
    reply = s_create_with_id ("other@example.com", json_string ("5f1a2b3c4d5e6f708192a3b4"));
    s_assert_error (reply, PST_ERR_CONFLICT, "The user already exists.");
    pst_msg_destroy (&reply);

    //  Every character the id may hold, and its longest
    reply = s_create_with_id ("chars@example.com", json_string ("Az09-_.@+=:~"));
    assert_string_equal (pst_msg_get_str (reply, "user_id"), "auth0|Az09-_.@+=:~");
    pst_msg_destroy (&reply);
    char longest [251];
    memset (longest, 'a', 249);
    longest [249] = 0;
    reply = s_create_with_id ("longest@example.com", json_string (longest));
    assert_false (pst_msg_is_error (reply));
    assert_int_equal (strlen (pst_msg_get_str (reply, "user_id")), 255);
    pst_msg_destroy (&reply);

    //  Refused, and nothing stored: with its provider, empty, too long, a
    //  character outside the set, not a string
    reply = s_create_with_id ("refused@example.com", json_string ("auth0|abc"));
    s_assert_error (reply, PST_ERR_BAD_REQUEST, "Payload validation error: user_id is given "
                    "without its provider: \"abc\" becomes \"auth0|abc\"");
    pst_msg_destroy (&reply);
    longest [249] = 'a';
    longest [250] = 0;
    json_t *refused [] = { json_string (""), json_string (longest), json_string ("a b"),
                           json_string ("caf\xc3\xa9"), json_string ("a/b"), json_integer (42), json_null () };
    for (size_t index = 0; index < sizeof refused / sizeof refused [0]; index++) {
        reply = s_create_with_id ("refused@example.com", refused [index]);
        s_assert_error (reply, PST_ERR_BAD_REQUEST, "Payload validation error: user_id must be "
                        "1 to 249 characters of A-Z a-z 0-9 - _ . @ + = : ~");
        pst_msg_destroy (&reply);
    }
    reply = s_call ("users.list", json_pack ("{s:{s:s}}", "query", "email", "refused@example.com"),
                    MGMT_SCOPES, NULL, NULL);
    assert_int_equal (json_array_size (json_object_get (pst_msg_body (reply), "result")), 0);
    pst_msg_destroy (&reply);
}


//  ---------------------------------------------------------------------------
//  Client grants: what they may hold, and what deleting them stops

//  A machine application with client_credentials; returns its id and secret
static void
s_m2m_client (const char *name, char **client_id_p, char **secret_p)
{
    pst_msg_t *reply = s_call ("clients.create", json_pack ("{s:{s:s, s:[s]}}", "data",
        "name", name, "grant_types", "client_credentials"), MGMT_SCOPES, NULL, NULL);
    assert_false (pst_msg_is_error (reply));
    *client_id_p = strdup (pst_msg_get_str (reply, "client_id"));
    *secret_p = strdup (pst_msg_get_str (reply, "client_secret"));
    pst_msg_destroy (&reply);
}

static pst_msg_t *
s_create_grant (const char *client_id, const char *audience, json_t *scope, const char *caller_scopes)
{
    return s_call ("client_grants.create", json_pack ("{s:{s:s, s:s, s:o}}", "data",
        "client_id", client_id, "audience", audience, "scope", scope), caller_scopes, NULL, NULL);
}

static pst_msg_t *
s_m2m_token (const char *client_id, const char *secret, const char *audience)
{
    return s_call ("token.grant", json_pack ("{s:s, s:s, s:s, s:s}", "grant_type",
        "client_credentials", "client_id", client_id, "client_secret", secret,
        "audience", audience), NULL, NULL, NULL);
}

//  A grant holds only scopes its API defines, and a Management API grant only
//  scopes its creator holds: create:client_grants is not a way to delete:users
static void
test_client_grant_scopes (void **state)
{
    (void) state;
    char *client_id, *secret;
    s_m2m_client ("Grantee", &client_id, &secret);
    pst_msg_t *reply = s_create_grant (client_id, "https://someapi.com/api",
                                       json_pack ("[s, s]", "read:sample", "write:nothing"), MGMT_SCOPES);
    s_assert_error (reply, PST_ERR_BAD_REQUEST, "Payload validation error: scope \"write:nothing\" "
                    "is not defined by the resource server");
    pst_msg_destroy (&reply);
    reply = s_create_grant (client_id, s_audience_mgmt, json_pack ("[s, s]", "read:users", "admin:all"),
                            MGMT_SCOPES);
    s_assert_error (reply, PST_ERR_BAD_REQUEST, "Payload validation error: scope \"admin:all\" "
                    "is not defined by the resource server");
    pst_msg_destroy (&reply);

    //  The escalation: an administrator who may create clients and grants but not
    //  delete users cannot mint an application that may
    reply = s_create_grant (client_id, s_audience_mgmt, json_pack ("[s, s]", "read:users", "delete:users"),
                            "create:clients create:client_grants read:users");
    s_assert_error (reply, PST_ERR_INSUFFICIENT_SCOPE, "A client grant cannot give more than its "
                    "creator holds: the access token lacks delete:users");
    pst_msg_destroy (&reply);
    reply = s_call ("client_grants.list", json_pack ("{s:{s:s}}", "query", "client_id", client_id),
                    "read:client_grants", NULL, NULL);
    assert_int_equal (json_array_size (json_object_get (pst_msg_body (reply), "result")), 0);
    pst_msg_destroy (&reply);

    //  What the creator holds it may give; any defined scope on another API
    reply = s_create_grant (client_id, s_audience_mgmt, json_pack ("[s]", "read:users"),
                            "create:client_grants read:users");
    assert_false (pst_msg_is_error (reply));
    pst_msg_destroy (&reply);
    reply = s_create_grant (client_id, "https://someapi.com/api", json_pack ("[s]", "read:sample"),
                            "create:client_grants");
    assert_false (pst_msg_is_error (reply));
    pst_msg_destroy (&reply);
    reply = s_m2m_token (client_id, secret, s_audience_mgmt);
    assert_false (pst_msg_is_error (reply));
    assert_string_equal (pst_msg_get_str (reply, "scope"), "read:users");
    pst_msg_destroy (&reply);
    free (client_id);
    free (secret);
}

//  The revocation revocations.list shows for client_id and audience (NULL:
//  every audience): its revoked_at, or 0 when it lists none
static int64_t
s_listed_revocation (const char *client_id, const char *audience)
{
    int64_t found = 0, after = 0;
    int more = 1;
    while (more) {
        pst_msg_t *reply = s_call ("revocations.list", json_pack ("{s:I}", "after", (json_int_t) after),
                                   NULL, NULL, NULL);
        assert_false (pst_msg_is_error (reply));
        json_t *list = json_object_get (pst_msg_body (reply), "revocations");
        assert_true (json_is_array (list));
        size_t index;
        json_t *entry;
        json_array_foreach (list, index, entry) {
            json_t *entry_audience = json_object_get (entry, "audience");
            if (streq (json_string_value (json_object_get (entry, "client_id")), client_id)
            &&  (audience? json_is_string (entry_audience)
                           && streq (json_string_value (entry_audience), audience)
                         : json_is_null (entry_audience)))
                found = json_integer_value (json_object_get (entry, "revoked_at"));
        }
        more = json_is_true (json_object_get (pst_msg_body (reply), "more"));
        after = pst_msg_get_int (reply, "next", 0);
        pst_msg_destroy (&reply);
    }
    return found;
}

//  Now on authn's clock: the test's hook counts seconds, so whole ones
static int64_t
s_now_ms (void)
{
    //  authn's clock is s_clock: another clock's second can differ from it
    //  for a moment around each second's start
    return s_clock () * 1000;
}

//  The iat of an access token, in seconds
static int64_t
s_iat (const char *token, const char *audience)
{
    json_t *claims = s_verify (token, audience);
    assert_non_null (claims);
    int64_t iat = json_integer_value (json_object_get (claims, "iat"));
    json_decref (claims);
    return iat;
}

//  Deleting a grant or a client records the revocation the gateway reads: the
//  client's tokens for the grant's audience, or for every audience, issued until
//  then. A grant made again gives tokens issued after it; revocations go once no
//  token they cover can be valid.
static void
test_revocations (void **state)
{
    (void) state;
    char *client_id, *secret;
    s_m2m_client ("Revoked", &client_id, &secret);
    pst_msg_t *reply = s_create_grant (client_id, s_audience_mgmt, json_pack ("[s]", "read:users"),
                                       MGMT_SCOPES);
    assert_false (pst_msg_is_error (reply));
    char *grant_id = strdup (pst_msg_get_str (reply, "id"));
    pst_msg_destroy (&reply);
    reply = s_create_grant (client_id, "https://someapi.com/api", json_pack ("[s]", "read:sample"),
                            MGMT_SCOPES);
    assert_false (pst_msg_is_error (reply));
    pst_msg_destroy (&reply);
    reply = s_m2m_token (client_id, secret, s_audience_mgmt);
    assert_false (pst_msg_is_error (reply));
    int64_t old_iat = s_iat (pst_msg_get_str (reply, "access_token"), s_audience_mgmt);
    pst_msg_destroy (&reply);
    assert_int_equal (s_listed_revocation (client_id, s_audience_mgmt), 0);

    //  The grant goes: its tokens, issued before, are covered
    int64_t before_ms = s_now_ms ();
    reply = s_call ("client_grants.delete", json_pack ("{s:s}", "id", grant_id),
                    "delete:client_grants", NULL, NULL);
    assert_false (pst_msg_is_error (reply));
    pst_msg_destroy (&reply);
    int64_t revoked_at = s_listed_revocation (client_id, s_audience_mgmt);
    assert_true (revoked_at >= before_ms && revoked_at <= s_now_ms ());
    assert_true (old_iat * 1000 <= revoked_at);
    assert_int_equal (s_listed_revocation (client_id, NULL), 0);
    assert_int_equal (s_listed_revocation (client_id, "https://someapi.com/api"), 0);
    reply = s_m2m_token (client_id, secret, s_audience_mgmt);
    s_assert_error (reply, PST_ERR_ACCESS_DENIED, NULL);
    pst_msg_destroy (&reply);

    //  Made again at once, it waits for the next second: its tokens are not covered
    reply = s_create_grant (client_id, s_audience_mgmt, json_pack ("[s]", "read:users"), MGMT_SCOPES);
    assert_false (pst_msg_is_error (reply));
    pst_msg_destroy (&reply);
    reply = s_m2m_token (client_id, secret, s_audience_mgmt);
    assert_false (pst_msg_is_error (reply));
    assert_true (s_iat (pst_msg_get_str (reply, "access_token"), s_audience_mgmt) * 1000 > revoked_at);
    pst_msg_destroy (&reply);
    assert_int_equal (s_listed_revocation (client_id, s_audience_mgmt), revoked_at);

    //  The client goes: every audience
    before_ms = s_now_ms ();
    pst_msg_t *voided = NULL;
    reply = s_call ("clients.delete", json_pack ("{s:s}", "id", client_id), "delete:clients",
                    s_mfa_voided, &voided);
    assert_string_equal (pst_msg_get_str (voided, "client_id"), client_id);
    pst_msg_destroy (&voided);
    assert_false (pst_msg_is_error (reply));
    pst_msg_destroy (&reply);
    int64_t client_revoked_at = s_listed_revocation (client_id, NULL);
    assert_true (client_revoked_at >= before_ms && client_revoked_at <= s_now_ms ());
    //  Nothing of it is left to revoke by grant
    reply = s_call ("client_grants.list", json_pack ("{s:{s:s}}", "query", "client_id", client_id),
                    "read:client_grants", NULL, NULL);
    assert_int_equal (json_array_size (json_object_get (pst_msg_body (reply), "result")), 0);
    pst_msg_destroy (&reply);

    //  Paging: past the last page there is nothing; a bad cursor is refused
    reply = s_call ("revocations.list", NULL, NULL, NULL, NULL);
    assert_false (pst_msg_is_error (reply));
    assert_false (json_is_true (json_object_get (pst_msg_body (reply), "more")));
    json_int_t next = pst_msg_get_int (reply, "next", 0);
    assert_true (next > 0);
    pst_msg_destroy (&reply);
    reply = s_call ("revocations.list", json_pack ("{s:I}", "after", next), NULL, NULL, NULL);
    assert_int_equal (json_array_size (json_object_get (pst_msg_body (reply), "revocations")), 0);
    assert_int_equal (pst_msg_get_int (reply, "next", 0), next);
    pst_msg_destroy (&reply);
    reply = s_call ("revocations.list", json_pack ("{s:s}", "after", "3"), NULL, NULL, NULL);
    s_assert_error (reply, PST_ERR_INVALID_REQUEST, "Invalid parameter: after must be an integer");
    pst_msg_destroy (&reply);
    //  Only the gateway may ask: another peer's request is left unanswered
    zsock_t *mailer = test_keys_dealer ("mailer", "authn", s_endpoint);
    assert_non_null (mailer);
    pst_msg_t *request = s_request ("revocations.list", NULL, NULL);
    zclock_sleep (100);
    assert_int_equal (pst_bus_send (mailer, NULL, request), 0);
    zsock_set_rcvtimeo (mailer, 700);
    assert_null (pst_bus_recv_dealer (mailer));
    pst_msg_destroy (&request);
    zsock_destroy (&mailer);

    //  A day and the margin later no token they cover can be valid: not listed,
    //  and the next revocation prunes them
    s_clock_offset = 86400 + 301;
    assert_int_equal (s_listed_revocation (client_id, NULL), 0);
    assert_int_equal (s_listed_revocation (client_id, s_audience_mgmt), 0);
    char *other_id, *other_secret;
    s_m2m_client ("Pruner", &other_id, &other_secret);
    reply = s_call ("clients.delete", json_pack ("{s:s}", "id", other_id), "delete:clients",
                    s_mfa_voided, NULL);
    assert_false (pst_msg_is_error (reply));
    pst_msg_destroy (&reply);
    assert_true (s_listed_revocation (other_id, NULL) > 0);
    s_clock_offset = 0;
    assert_int_equal (s_listed_revocation (client_id, NULL), 0);
    assert_int_equal (s_listed_revocation (client_id, s_audience_mgmt), 0);
    free (other_id);
    free (other_secret);
    free (grant_id);
    free (client_id);
    free (secret);
}

//  A database made before POSTERN_MGMT_TOKEN_LIFETIME_S holds 86400 on the
//  Management API: the next start sets the configured lifetime, which the API
//  itself still cannot change
static void
test_mgmt_token_lifetime (void **state)
{
    (void) state;
    authn_store_t *store = authn_store_new (s_config->db_path);
    assert_non_null (store);
    json_t *old = json_pack ("{s:i}", "token_lifetime", 86400);
    assert_int_equal (authn_store_update (store, AUTHN_RESOURCE_SERVERS, s_audience_mgmt, old), 0);
    char *mfa_audience = NULL;
    assert_true (asprintf (&mfa_audience, "%smfa/", s_config->issuer) > 0);
    assert_int_equal (authn_store_update (store, AUTHN_RESOURCE_SERVERS, mfa_audience, old), 0);
    json_decref (old);
    authn_api_t *api = authn_store_api (store, s_audience_mgmt);
    assert_int_equal (api->token_lifetime, 86400);
    authn_api_destroy (&api);
    //  ... and its management application's grant lacks the scopes of the
    //  Management operations that came after it
    json_t *narrow = json_pack ("{s:[s]}", "scope", "read:users");
    assert_int_equal (authn_store_update (store, AUTHN_CLIENT_GRANTS, "cgr_management", narrow), 0);
    json_decref (narrow);
    authn_store_destroy (&store);

    s_config->mgmt_token_lifetime_s = 1800;
    assert_int_equal (authn_bootstrap_run (s_config, pst_catalogue_scopes (PST_SYSTEM_API_MGMT),
                                           pst_catalogue_scopes (PST_SYSTEM_API_MFA)), 0);
    pst_msg_t *reply = s_call ("resource_servers.get", json_pack ("{s:s}", "id", s_audience_mgmt),
                               "read:resource_servers", NULL, NULL);
    assert_false (pst_msg_is_error (reply));
    assert_int_equal (pst_msg_get_int (reply, "token_lifetime", 0), 1800);
    const char *const *scopes = pst_catalogue_scopes (PST_SYSTEM_API_MGMT);
    size_t count = 0;
    while (scopes [count])
        count++;
    assert_int_equal (json_array_size (json_object_get (pst_msg_body (reply), "scopes")), count);
    pst_msg_destroy (&reply);
    //  and the MFA API's ten minutes
    reply = s_call ("resource_servers.get", json_pack ("{s:s}", "id", mfa_audience),
                    "read:resource_servers", NULL, NULL);
    assert_false (pst_msg_is_error (reply));
    assert_int_equal (pst_msg_get_int (reply, "token_lifetime", 0), 600);
    pst_msg_destroy (&reply);
    free (mfa_audience);

    json_t *boot = json_load_file (s_config->bootstrap_path, 0, NULL);
    assert_non_null (boot);
    reply = s_m2m_token (json_string_value (json_object_get (boot, "client_id")),
                         json_string_value (json_object_get (boot, "client_secret")), s_audience_mgmt);
    assert_int_equal (pst_msg_get_int (reply, "expires_in", 0), 1800);
    json_t *claims = s_verify (pst_msg_get_str (reply, "access_token"), s_audience_mgmt);
    assert_non_null (claims);
    assert_int_equal (json_integer_value (json_object_get (claims, "exp"))
                    - json_integer_value (json_object_get (claims, "iat")), 1800);
    //  The start gave the grant every scope back: the token carries them all
    const char *granted = json_string_value (json_object_get (claims, "scope"));
    assert_non_null (granted);
    for (size_t index = 0; index < count; index++) {
        size_t length = strlen (scopes [index]);
        const char *at = granted;
        while ((at = strstr (at, scopes [index]))
           &&  ((at != granted && at [-1] != ' ') || (at [length] && at [length] != ' ')))
            at += length;
        assert_non_null (at);
    }
    json_decref (claims);
    json_decref (boot);
    pst_msg_destroy (&reply);

    reply = s_call ("resource_servers.update", json_pack ("{s:s, s:{s:i}}", "id", s_audience_mgmt,
                    "data", "token_lifetime", 86400), "update:resource_servers", NULL, NULL);
    s_assert_error (reply, PST_ERR_BAD_REQUEST, "System resource servers cannot be modified");
    pst_msg_destroy (&reply);
    s_config->mgmt_token_lifetime_s = 3600;
}

//  users.update of user_id with data (taken), and what it answers
static pst_msg_t *
s_update_user (const char *user_id, json_t *data)
{
    return s_call ("users.update", json_pack ("{s:s, s:o}", "id", user_id, "data", data),
                   "update:users", NULL, NULL);
}

//  A member of a reply's body as compact JSON, for comparison; caller frees
static char *
s_member_text (pst_msg_t *reply, const char *key)
{
    json_t *member = json_object_get (pst_msg_body (reply), key);
    return member? json_dumps (member, JSON_COMPACT | JSON_SORT_KEYS): strdup ("absent");
}

static void
s_assert_member (pst_msg_t *reply, const char *key, const char *expected)
{
    assert_false (pst_msg_is_error (reply));
    char *text = s_member_text (reply, key);
    assert_string_equal (text, expected);
    free (text);
}

//  app_metadata and user_metadata as Auth0 keeps them: stored on create and
//  shown by get, list and update; a PATCH merges top-level members (a member
//  replaces its namesake whole, null removes one, {} clears all), each of the
//  two on its own
static void
test_user_metadata (void **state)
{
    (void) state;
    pst_msg_t *reply = s_call ("users.create", json_pack ("{s:{s:s, s:s, s:s, s:{s:s, s:[s]}, s:{s:s, s:n}}}",
        "data", "email", "meta@example.com", "password", "correct horse battery",
        "connection", "Username-Password-Authentication",
        "app_metadata", "plan", "full", "roles", "admin",
        "user_metadata", "hobby", "surfing", "dropped", NULL), MGMT_SCOPES, NULL, NULL);
    s_assert_member (reply, "app_metadata", "{\"plan\":\"full\",\"roles\":[\"admin\"]}");
    s_assert_member (reply, "user_metadata", "{\"hobby\":\"surfing\"}");
    char *user_id = strdup (pst_msg_get_str (reply, "user_id"));
    pst_msg_destroy (&reply);

    reply = s_update_user (user_id, json_pack ("{s:{s:{s:s}}}", "user_metadata",
                           "addresses", "home", "123 Main Street"));
    s_assert_member (reply, "user_metadata",
                     "{\"addresses\":{\"home\":\"123 Main Street\"},\"hobby\":\"surfing\"}");
    s_assert_member (reply, "app_metadata", "{\"plan\":\"full\",\"roles\":[\"admin\"]}");
    pst_msg_destroy (&reply);
    //  Only the top level merges: a nested object is replaced whole
    reply = s_update_user (user_id, json_pack ("{s:{s:{s:s}, s:n}}", "user_metadata",
                           "addresses", "work", "100 Industrial Way", "hobby"));
    s_assert_member (reply, "user_metadata", "{\"addresses\":{\"work\":\"100 Industrial Way\"}}");
    pst_msg_destroy (&reply);
    //  An empty object clears one, and only that one; other members stay
    reply = s_update_user (user_id, json_pack ("{s:{}, s:b}", "app_metadata", "email_verified", 1));
    s_assert_member (reply, "app_metadata", "absent");
    s_assert_member (reply, "user_metadata", "{\"addresses\":{\"work\":\"100 Industrial Way\"}}");
    assert_true (json_is_true (json_object_get (pst_msg_body (reply), "email_verified")));
    pst_msg_destroy (&reply);
    reply = s_update_user (user_id, json_pack ("{s:{s:n}}", "user_metadata", "addresses"));
    s_assert_member (reply, "user_metadata", "absent");
    pst_msg_destroy (&reply);
    reply = s_update_user (user_id, json_pack ("{s:{s:i}}", "app_metadata", "tier", 2));
    pst_msg_destroy (&reply);
    reply = s_call ("users.get", json_pack ("{s:s}", "id", user_id), "read:users", NULL, NULL);
    s_assert_member (reply, "app_metadata", "{\"tier\":2}");
    pst_msg_destroy (&reply);
    reply = s_call ("users.list", json_pack ("{s:{s:s}}", "query", "email", "meta@example.com"),
                    MGMT_SCOPES, NULL, NULL);
    json_t *listed = json_array_get (json_object_get (pst_msg_body (reply), "result"), 0);
    assert_int_equal (json_integer_value (json_object_get (json_object_get (listed, "app_metadata"),
                      "tier")), 2);
    pst_msg_destroy (&reply);

    //  Two updates at once, of different members: both stand
    pst_msg_t *requests [2] = {
        s_request ("users.update", json_pack ("{s:s, s:{s:{s:s}}}", "id", user_id, "data",
                   "app_metadata", "first", "yes"), "update:users"),
        s_request ("users.update", json_pack ("{s:s, s:{s:{s:s}}}", "id", user_id, "data",
                   "app_metadata", "second", "yes"), "update:users"),
    };
    for (int index = 0; index < 2; index++)
        assert_int_equal (pst_bus_send (s_caller, NULL, requests [index]), 0);
    for (int answered = 0; answered < 2; ) {
        reply = pst_bus_recv_dealer (s_caller);
        assert_non_null (reply);
        if (streq (pst_msg_id (reply), pst_msg_id (requests [0]))
        ||  streq (pst_msg_id (reply), pst_msg_id (requests [1]))) {
            assert_false (pst_msg_is_error (reply));
            answered++;
        }
        pst_msg_destroy (&reply);
    }
    pst_msg_destroy (&requests [0]);
    pst_msg_destroy (&requests [1]);
    reply = s_call ("users.get", json_pack ("{s:s}", "id", user_id), "read:users", NULL, NULL);
    s_assert_member (reply, "app_metadata", "{\"first\":\"yes\",\"second\":\"yes\",\"tier\":2}");
    pst_msg_destroy (&reply);

    //  Refused, nothing changed: not an object, a key with '.' or '$' at any
    //  level, a name app_metadata may not hold, nested too deep, too big
    struct { json_t *data; const char *text; } refused [] = {
        { json_pack ("{s:s}", "user_metadata", "x"),
          "Payload validation error: user_metadata must be an object" },
        { json_pack ("{s:[]}", "app_metadata"),
          "Payload validation error: app_metadata must be an object" },
        { json_pack ("{s:n}", "app_metadata"),
          "Payload validation error: app_metadata must be an object" },
        { json_pack ("{s:{s:s}}", "user_metadata", "preference.color", "pink"),
          "Payload validation error: user_metadata keys cannot hold '.' or '$' (\"preference.color\")" },
        { json_pack ("{s:{s:[{s:i}]}}", "app_metadata", "list", "$where", 1),
          "Payload validation error: app_metadata keys cannot hold '.' or '$' (\"$where\")" },
        { json_pack ("{s:{s:s}}", "app_metadata", "email", "x@example.com"),
          "Payload validation error: app_metadata cannot hold \"email\"" },
        { json_pack ("{s:{s:{s:{s:{s:{}}}}}}", "user_metadata", "a", "b", "c", "d"),
          "Payload validation error: user_metadata is nested more than 4 deep" },
    };
    for (size_t index = 0; index < sizeof refused / sizeof refused [0]; index++) {
        reply = s_update_user (user_id, refused [index].data);
        s_assert_error (reply, PST_ERR_BAD_REQUEST, refused [index].text);
        pst_msg_destroy (&reply);
    }
    //  The same rule for "email" in user_metadata does not apply; a user's own
    //  data may name anything
    reply = s_update_user (user_id, json_pack ("{s:{s:{s:{s:{}}}}}", "user_metadata",
                           "email", "b", "c"));
    s_assert_member (reply, "user_metadata", "{\"email\":{\"b\":{\"c\":{}}}}");
    pst_msg_destroy (&reply);
    //  16 KiB each, as compact JSON: one change alone, or the merged whole
    char *big = malloc (16384);
    memset (big, 'x', 16383);
    big [16383] = 0;
    reply = s_update_user (user_id, json_pack ("{s:{s:s}}", "user_metadata", "big", big));
    s_assert_error (reply, PST_ERR_BAD_REQUEST, "Payload validation error: user_metadata exceeds 16384 bytes");
    pst_msg_destroy (&reply);
    big [9000] = 0;
    reply = s_update_user (user_id, json_pack ("{s:{s:s}}", "user_metadata", "half", big));
    assert_false (pst_msg_is_error (reply));
    pst_msg_destroy (&reply);
    reply = s_update_user (user_id, json_pack ("{s:{s:s}}", "user_metadata", "again", big));
    s_assert_error (reply, PST_ERR_BAD_REQUEST,
                    "Payload validation error: user_metadata would exceed 16384 bytes");
    pst_msg_destroy (&reply);
    free (big);
    reply = s_call ("users.get", json_pack ("{s:s}", "id", user_id), "read:users", NULL, NULL);
    s_assert_member (reply, "app_metadata", "{\"first\":\"yes\",\"second\":\"yes\",\"tier\":2}");
    assert_null (json_object_get (json_object_get (pst_msg_body (reply), "user_metadata"), "again"));
    pst_msg_destroy (&reply);
    //  On create too, before anything is stored
    reply = s_call ("users.create", json_pack ("{s:{s:s, s:s, s:s, s:{s:b}}}", "data",
        "email", "badmeta@example.com", "password", "correct horse battery",
        "connection", "Username-Password-Authentication", "app_metadata", "user_id", 1),
        MGMT_SCOPES, NULL, NULL);
    s_assert_error (reply, PST_ERR_BAD_REQUEST, "Payload validation error: app_metadata cannot hold \"user_id\"");
    pst_msg_destroy (&reply);
    reply = s_update_user ("auth0|nobody", json_pack ("{s:{s:i}}", "app_metadata", "x", 1));
    s_assert_error (reply, PST_ERR_NOT_FOUND, "The user does not exist.");
    pst_msg_destroy (&reply);
    free (user_id);
}

//  users.list with query (a JSON object of query string members, taken)
static pst_msg_t *
s_list_users (json_t *query)
{
    return s_call ("users.list", json_pack ("{s:o}", "query", query), "read:users", NULL, NULL);
}

//  How many users a users.list answer holds, as an array or with totals
static size_t
s_listed (pst_msg_t *reply)
{
    assert_false (pst_msg_is_error (reply));
    json_t *body = pst_msg_body (reply);
    json_t *users = json_object_get (body, "result");
    return json_array_size (users? users: json_object_get (body, "users"));
}

//  GET /api/v2/users as Auth0's user search: q with email (without case) or
//  user_id (exact), quoted or bare; page and per_page; include_totals; and
//  400 invalid_query_string for what Postern does not search
static void
test_user_search (void **state)
{
    (void) state;
    pst_msg_t *reply = s_create_with_id ("Search.One@Example.com", json_string ("search-one"));
    pst_msg_destroy (&reply);
    reply = s_create_with_id ("search-two@example.com", json_string ("search-two"));
    pst_msg_destroy (&reply);

    const char *one [] = {
        "email:\"search.one@example.com\"", "email:SEARCH.ONE@example.com",
        "  email:\"Search.One@Example.com\"  ", "user_id:\"auth0|search-one\"",
        "user_id:auth0|search-one", "email:\"search.one@\\example.com\"",
    };
    for (size_t index = 0; index < sizeof one / sizeof one [0]; index++) {
        reply = s_list_users (json_pack ("{s:s}", "q", one [index]));
        assert_int_equal (s_listed (reply), 1);
        assert_string_equal (json_string_value (json_object_get (json_array_get (json_object_get (
            pst_msg_body (reply), "result"), 0), "user_id")), "auth0|search-one");
        pst_msg_destroy (&reply);
    }
    const char *none [] = {
        "email:\"nobody@x.y\"", "user_id:\"AUTH0|SEARCH-ONE\"", "user_id:\"search-one\"",
        "email:\"a\\\"b@example.com\"",
    };
    for (size_t index = 0; index < sizeof none / sizeof none [0]; index++) {
        reply = s_list_users (json_pack ("{s:s}", "q", none [index]));
        assert_int_equal (s_listed (reply), 0);
        pst_msg_destroy (&reply);
    }
    //  The email parameter as before, also with a q that agrees
    reply = s_list_users (json_pack ("{s:s, s:s}", "email", "search-two@EXAMPLE.com",
                                     "q", "user_id:\"auth0|search-two\""));
    assert_int_equal (s_listed (reply), 1);
    pst_msg_destroy (&reply);
    reply = s_list_users (json_pack ("{s:s, s:s}", "email", "search-two@example.com",
                                     "q", "user_id:\"auth0|search-one\""));
    assert_int_equal (s_listed (reply), 0);
    pst_msg_destroy (&reply);
    //  users-by-email without case
    reply = s_call ("users.by_email", json_pack ("{s:{s:s}}", "query", "email", "SEARCH.ONE@example.COM"),
                    "read:users", NULL, NULL);
    assert_int_equal (s_listed (reply), 1);
    pst_msg_destroy (&reply);

    //  Pages, and totals as Auth0 gives them
    reply = s_list_users (json_pack ("{s:s}", "include_totals", "true"));
    json_t *body = pst_msg_body (reply);
    json_int_t total = json_integer_value (json_object_get (body, "total"));
    assert_true (total >= 4);
    assert_int_equal (json_integer_value (json_object_get (body, "start")), 0);
    assert_int_equal (json_integer_value (json_object_get (body, "limit")), 50);
    assert_int_equal (json_integer_value (json_object_get (body, "length")), total);
    assert_int_equal (json_array_size (json_object_get (body, "users")), total);
    char *second = strdup (json_string_value (json_object_get (json_array_get (
        json_object_get (body, "users"), 1), "user_id")));
    pst_msg_destroy (&reply);
    reply = s_list_users (json_pack ("{s:s, s:s, s:s, s:s}", "page", "1", "per_page", "1",
                                     "include_totals", "true", "search_engine", "v3"));
    body = pst_msg_body (reply);
    assert_int_equal (json_integer_value (json_object_get (body, "start")), 1);
    assert_int_equal (json_integer_value (json_object_get (body, "limit")), 1);
    assert_int_equal (json_integer_value (json_object_get (body, "length")), 1);
    assert_int_equal (json_integer_value (json_object_get (body, "total")), total);
    assert_string_equal (json_string_value (json_object_get (json_array_get (
        json_object_get (body, "users"), 0), "user_id")), second);
    assert_null (json_object_get (body, "result"));
    pst_msg_destroy (&reply);
    free (second);
    reply = s_list_users (json_pack ("{s:s, s:s, s:s}", "q", "email:\"search-two@example.com\"",
                                     "include_totals", "true", "per_page", "0"));
    body = pst_msg_body (reply);
    assert_int_equal (json_integer_value (json_object_get (body, "total")), 1);
    assert_int_equal (json_array_size (json_object_get (body, "users")), 0);
    pst_msg_destroy (&reply);
    reply = s_list_users (json_pack ("{s:s, s:s, s:s}", "page", "1000", "per_page", "100",
                                     "include_totals", "false"));
    assert_int_equal (s_listed (reply), 0);
    assert_true (json_is_array (json_object_get (pst_msg_body (reply), "result")));
    pst_msg_destroy (&reply);

    //  What Postern does not search, or values that are none
    struct { const char *key, *value, *text; } refused [] = {
        { "q", "name:\"Jane\"", "q searches one field, email or user_id "
                                 "(email:\"jane@example.com\", user_id:\"auth0|abc\")" },
        { "q", "jane@example.com", NULL },
        { "q", "Email:\"jane@example.com\"", NULL },
        { "q", "email:jane*", "q's value holds Lucene syntax Postern does not search with "
                              "(wildcards, ranges, operators); quote it to find it as written" },
        { "q", "email:[a TO z]", NULL },
        { "q", "email:-jane@example.com", NULL },
        { "q", "email:\"jane@example.com", "q opens a quote it does not close" },
        { "q", "email:\"a@example.com\" AND user_id:\"auth0|b\"",
               "q is one term, field:value; Postern does not combine terms" },
        { "q", "email:a@example.com OR email:b@example.com", NULL },
        { "q", "email:", "q names no value" },
        { "q", "email:\"\"", "q names no value" },
        { "per_page", "101", "per_page must be an integer from 0 to 100" },
        { "per_page", "-1", NULL },
        { "per_page", "ten", NULL },
        { "page", "-1", "page must be an integer from 0" },
        { "page", "1e3", NULL },
        { "include_totals", "yes", "include_totals must be true or false" },
        { "search_engine", "v2", "search_engine must be v3, the only one Postern speaks" },
    };
    for (size_t index = 0; index < sizeof refused / sizeof refused [0]; index++) {
        reply = s_list_users (json_pack ("{s:s}", refused [index].key, refused [index].value));
        s_assert_error (reply, PST_ERR_INVALID_QUERY_STRING, NULL);
        assert_true (strncmp (pst_msg_error_text (reply), "Query validation error: ", 24) == 0);
        if (refused [index].text)
            assert_string_equal (pst_msg_error_text (reply) + 24, refused [index].text);
        pst_msg_destroy (&reply);
    }
    reply = s_list_users (json_pack ("{s:s, s:s}", "email", "search-two@example.com",
                                     "q", "email:\"search.one@example.com\""));
    s_assert_error (reply, PST_ERR_INVALID_QUERY_STRING,
                    "Query validation error: email and q name two addresses; no user has both");
    pst_msg_destroy (&reply);

    //  A page must fit one answer: too big is said so, never cut short
    char *big = malloc (16001);
    memset (big, 'x', 16000);
    big [16000] = 0;
    char email [64];
    for (int index = 0; index < 9; index++) {
        snprintf (email, sizeof email, "heavy%d@example.com", index);
        reply = s_call ("users.create", json_pack ("{s:{s:s, s:s, s:s, s:{s:s}, s:{s:s}}}", "data",
            "email", email, "password", "correct horse battery",
            "connection", "Username-Password-Authentication",
            "app_metadata", "blob", big, "user_metadata", "blob", big), MGMT_SCOPES, NULL, NULL);
        assert_false (pst_msg_is_error (reply));
        pst_msg_destroy (&reply);
    }
    free (big);
    reply = s_list_users (json_pack ("{s:s}", "per_page", "100"));
    s_assert_error (reply, PST_ERR_INVALID_QUERY_STRING, "Query validation error: the users of this "
        "page are more than one answer carries (256 KiB); ask for a smaller per_page");
    pst_msg_destroy (&reply);
    reply = s_list_users (json_pack ("{s:s, s:s}", "per_page", "5", "page", "1"));
    assert_int_equal (s_listed (reply), 5);
    pst_msg_destroy (&reply);
}

//  The kid of a compact JWS (caller frees)
static char *
s_kid (const char *token)
{
    json_t *header = s_jose_header (token);
    char *kid = strdup (json_string_value (json_object_get (header, "kid")));
    json_decref (header);
    return kid;
}

//  count client_credentials grants of the management application sent at
//  once, so that every worker takes some; each reply's token's kid must be kid
static void
s_tokens_all_signed_by (const char *kid, int count)
{
    json_t *boot = json_load_file (s_config->bootstrap_path, 0, NULL);
    assert_non_null (boot);
    pst_msg_t *requests [16];
    assert_true (count <= 16);
    for (int i = 0; i < count; i++) {
        requests [i] = s_request ("token.grant", json_pack ("{s:s, s:O, s:O, s:s}",
            "grant_type", "client_credentials", "client_id", json_object_get (boot, "client_id"),
            "client_secret", json_object_get (boot, "client_secret"), "audience", s_audience_mgmt),
            NULL);
        assert_int_equal (pst_bus_send (s_caller, NULL, requests [i]), 0);
    }
    zsock_set_rcvtimeo (s_caller, 5000);
    for (int answered = 0; answered < count; answered++) {
        pst_msg_t *reply = pst_bus_recv_dealer (s_caller);
        assert_non_null (reply);
        assert_false (pst_msg_is_error (reply));
        char *token_kid = s_kid (pst_msg_get_str (reply, "access_token"));
        assert_string_equal (token_kid, kid);
        free (token_kid);
        pst_msg_destroy (&reply);
    }
    for (int i = 0; i < count; i++)
        pst_msg_destroy (&requests [i]);
    json_decref (boot);
}

static json_t *
s_jwks_keys (void)
{
    pst_msg_t *reply = s_call ("keys.jwks", NULL, NULL, NULL, NULL);
    json_t *keys = json_incref (json_object_get (pst_msg_body (reply), "keys"));
    pst_msg_destroy (&reply);
    return keys;
}

//  The JWKS publishes the current and the next key with their certificates;
//  the Management API lists and rotates them; after a rotation every worker
//  signs with the new key and the JWKS keeps the previous one
static void
test_signing_keys (void **state)
{
    (void) state;
    json_t *keys = s_jwks_keys ();
    assert_int_equal (json_array_size (keys), 2);
    size_t index;
    json_t *jwk;
    json_array_foreach (keys, index, jwk) {
        assert_int_equal (json_array_size (json_object_get (jwk, "x5c")), 1);
        assert_int_equal (strlen (json_string_value (json_object_get (jwk, "x5t"))), 27);
    }
    char *first = strdup (json_string_value (json_object_get (json_array_get (keys, 0), "kid")));
    char *second = strdup (json_string_value (json_object_get (json_array_get (keys, 1), "kid")));
    json_decref (keys);
    s_tokens_all_signed_by (first, 8);

    pst_msg_t *reply = s_call ("signing_keys.list", NULL, "read:signing_keys", NULL, NULL);
    assert_false (pst_msg_is_error (reply));
    json_t *list = json_object_get (pst_msg_body (reply), "result");
    assert_int_equal (json_array_size (list), 2);
    json_t *current = json_array_get (list, 0);
    assert_string_equal (json_string_value (json_object_get (current, "kid")), first);
    assert_true (json_is_true (json_object_get (current, "current")));
    assert_true (json_is_false (json_object_get (current, "next")));
    assert_true (json_is_true (json_object_get (json_array_get (list, 1), "next")));
    assert_non_null (strstr (json_string_value (json_object_get (current, "cert")), "BEGIN CERTIFICATE"));
    assert_non_null (strstr (json_string_value (json_object_get (current, "pkcs7")), "BEGIN PKCS7"));
    const char *thumbprint = json_string_value (json_object_get (current, "thumbprint"));
    const char *fingerprint = json_string_value (json_object_get (current, "fingerprint"));
    assert_int_equal (strlen (thumbprint), 40);
    assert_int_equal (strspn (thumbprint, "0123456789ABCDEF"), 40);
    assert_int_equal (strlen (fingerprint), 59);
    assert_int_equal (fingerprint [2], ':');
    assert_memory_equal (fingerprint, thumbprint, 2);
    assert_int_equal (strlen (json_string_value (json_object_get (current, "current_since"))),
                      strlen ("2026-01-01T00:00:00.000Z"));
    assert_null (json_object_get (current, "revoked_at"));
    pst_msg_destroy (&reply);

    //  Rotating wants create:signing_keys or update:signing_keys
    reply = s_call ("signing_keys.rotate", NULL, "read:signing_keys", NULL, NULL);
    s_assert_error (reply, PST_ERR_INSUFFICIENT_SCOPE, NULL);
    pst_msg_destroy (&reply);
    reply = s_call ("signing_keys.rotate", NULL, "update:signing_keys", NULL, NULL);
    assert_false (pst_msg_is_error (reply));
    char *third = strdup (pst_msg_get_str (reply, "kid"));
    assert_non_null (strstr (pst_msg_get_str (reply, "cert"), "BEGIN CERTIFICATE"));
    pst_msg_destroy (&reply);

    //  Every worker signs with the key that was next, at once
    s_tokens_all_signed_by (second, 8);
    keys = s_jwks_keys ();
    assert_int_equal (json_array_size (keys), 3);
    assert_string_equal (json_string_value (json_object_get (json_array_get (keys, 0), "kid")), second);
    assert_string_equal (json_string_value (json_object_get (json_array_get (keys, 1), "kid")), third);
    assert_string_equal (json_string_value (json_object_get (json_array_get (keys, 2), "kid")), first);
    json_decref (keys);
    reply = s_call ("signing_keys.get", json_pack ("{s:s}", "id", first), "read:signing_keys",
                    NULL, NULL);
    assert_false (pst_msg_is_error (reply));
    assert_true (json_is_true (json_object_get (pst_msg_body (reply), "previous")));
    assert_non_null (pst_msg_get_str (reply, "current_until"));
    pst_msg_destroy (&reply);
    reply = s_call ("signing_keys.get", json_pack ("{s:s}", "id", "no-such-kid"),
                    "read:signing_keys", NULL, NULL);
    s_assert_error (reply, PST_ERR_NOT_FOUND, NULL);
    pst_msg_destroy (&reply);

    //  The next rotation revokes the first key: no longer published
    reply = s_call ("signing_keys.rotate", NULL, "create:signing_keys", NULL, NULL);
    assert_false (pst_msg_is_error (reply));
    pst_msg_destroy (&reply);
    s_tokens_all_signed_by (third, 8);
    keys = s_jwks_keys ();
    assert_int_equal (json_array_size (keys), 3);
    json_array_foreach (keys, index, jwk)
        assert_string_not_equal (json_string_value (json_object_get (jwk, "kid")), first);
    json_decref (keys);
    reply = s_call ("signing_keys.get", json_pack ("{s:s}", "id", first), "read:signing_keys",
                    NULL, NULL);
    assert_true (json_is_true (json_object_get (pst_msg_body (reply), "revoked")));
    assert_non_null (pst_msg_get_str (reply, "revoked_at"));
    pst_msg_destroy (&reply);
    free (first);
    free (second);
    free (third);
}

int
main (void)
{
    zsys_init ();
    pst_crypto_init ();
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_bootstrap_management_token),
        cmocka_unit_test (test_management_validation),
        cmocka_unit_test (test_password_grant),
        cmocka_unit_test (test_grant_rules),
        cmocka_unit_test (test_mfa_grants),
        cmocka_unit_test (test_mfa_grants_rechecked),
        cmocka_unit_test (test_client_made_confidential),
        cmocka_unit_test (test_client_updates_take_turns),
        cmocka_unit_test (test_client_changed_during_sign_in),
        cmocka_unit_test (test_login_throttle),
        cmocka_unit_test (test_login_throttle_parallel),
        cmocka_unit_test (test_login_burst_of_right_passwords),
        cmocka_unit_test (test_login_throttle_ipv6),
        cmocka_unit_test (test_user_delete_clears_mfa),
        cmocka_unit_test (test_userinfo),
        cmocka_unit_test (test_discovery),
        cmocka_unit_test (test_signing_keys),
        cmocka_unit_test (test_user_mfa_forwarded),
        cmocka_unit_test (test_user_id_on_create),
        cmocka_unit_test (test_user_metadata),
        cmocka_unit_test (test_user_search),
        cmocka_unit_test (test_client_grant_scopes),
        cmocka_unit_test (test_mgmt_token_lifetime),
        cmocka_unit_test (test_revocations),
    };
    int rc = cmocka_run_group_tests (tests, s_setup, s_teardown);
    free (s_client_id);
    free (s_client_secret);
    free (s_public_id);
    return rc;
}
