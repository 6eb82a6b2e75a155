/*  gw_auth: the Authorization header parsers (RFC 7617 / RFC 6749 §2.3.1, RFC 6750),
    and the verdict of each auth kind, without a daemon: keys from gw_keys, routes
    written here (not the route table), tokens signed by pst_jwt. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "gw_auth.h"
#include "gw_response.h"
#include "pst_crypto.h"
#include "pst_error.h"
#include "pst_jwt.h"

static void
s_basic_ok (const char *header, const char *id, const char *secret)
{
    char *client_id = NULL, *client_secret = NULL;
    assert_int_equal (gw_auth_basic_credentials (header, &client_id, &client_secret), 0);
    assert_string_equal (client_id, id);
    assert_string_equal (client_secret, secret);
    free (client_id);
    free (client_secret);
}

static void
s_basic_fails (const char *header)
{
    char *client_id = (char *) "x", *client_secret = (char *) "y";
    assert_int_equal (gw_auth_basic_credentials (header, &client_id, &client_secret), -1);
    assert_null (client_id);
    assert_null (client_secret);
}

static void
test_basic (void **state)
{
    (void) state;
    s_basic_ok ("Basic Y2xpZW50OnNlY3JldA==", "client", "secret");       //  client:secret
    s_basic_ok ("basic   Y2xpZW50OnNlY3JldA==  ", "client", "secret");
    s_basic_ok ("Basic Y2xpZW50OnNlY3JldA", "client", "secret");         //  unpadded
    //  RFC 6749 §2.3.1: both halves are form-urlencoded; "a%3Ab:p%2Bq+r"
    s_basic_ok ("Basic YSUzQWI6cCUyQnErcg==", "a:b", "p+q r");
    //  Only the first colon splits: "id:sec:ret"
    s_basic_ok ("Basic aWQ6c2VjOnJldA==", "id", "sec:ret");
    s_basic_ok ("Basic aWQ6", "id", "");                                  //  "id:" public client
    s_basic_fails ("Bearer Y2xpZW50OnNlY3JldA==");
    s_basic_fails ("Basic");
    s_basic_fails ("Basic !!!!");
    s_basic_fails ("Basic bm9jb2xvbg==");                                 //  "nocolon"
    s_basic_fails ("Basic OnNlY3JldA==");                                 //  ":secret"
    s_basic_fails ("Basic aWQ6JXp6");                                     //  "id:%zz"
    s_basic_fails (NULL);
}

static void
test_bearer (void **state)
{
    (void) state;
    char *token = gw_auth_bearer_token ("Bearer abc.def-ghi_jkl");
    assert_string_equal (token, "abc.def-ghi_jkl");
    free (token);
    token = gw_auth_bearer_token ("bearer  Fe26.2**05abc==  ");
    assert_string_equal (token, "Fe26.2**05abc==");
    free (token);
    assert_null (gw_auth_bearer_token ("Bearer "));
    assert_null (gw_auth_bearer_token ("Bearer a b"));
    assert_null (gw_auth_bearer_token ("Bearer a\tb"));
    assert_null (gw_auth_bearer_token ("Basic abc"));
    assert_null (gw_auth_bearer_token ("Bearerabc"));
    assert_null (gw_auth_bearer_token ("Bearer \xc3\xa9"));
    assert_null (gw_auth_bearer_token (NULL));
}

//  ---------------------------------------------------------------------------
//  Verdicts

#define DOMAIN          "localhost:8443"
#define ISSUER          "https://" DOMAIN "/"
#define MGMT_AUDIENCE   "https://" DOMAIN "/api/v2/"
#define MFA_AUDIENCE    "https://" DOMAIN "/mfa/"

static const gw_route_t s_client_route = {
    .method = "POST", .path = "/oauth/token", .service = GW_SERVICE_AUTHN,
    .op = "token.grant", .auth = GW_AUTH_CLIENT, .status = 200, .family = GW_FAMILY_AUTH };
static const gw_route_t s_open_route = {
    .method = "GET", .path = "/.well-known/jwks.json", .service = GW_SERVICE_AUTHN,
    .op = "keys.jwks", .auth = GW_AUTH_NONE, .status = 200, .family = GW_FAMILY_AUTH,
    .cacheable = 1 };
static const gw_route_t s_mgmt_route = {
    .method = "GET", .path = "/api/v2/clients", .service = GW_SERVICE_AUTHN,
    .op = "clients.list", .scope = "read:clients", .auth = GW_AUTH_MGMT, .status = 200,
    .family = GW_FAMILY_MGMT };
static const gw_route_t s_mfa_route = {
    .method = "GET", .path = "/mfa/authenticators", .service = GW_SERVICE_MFA,
    .op = "authenticators.list", .scope = "read:authenticators", .auth = GW_AUTH_MFA,
    .status = 200, .family = GW_FAMILY_AUTH };
static const gw_route_t s_mfa_access_route = {
    .method = "DELETE", .path = "/mfa/authenticators/{id}", .service = GW_SERVICE_MFA,
    .op = "authenticators.delete", .scope = "remove:authenticators",
    .auth = GW_AUTH_MFA_ACCESS, .status = 204, .family = GW_FAMILY_AUTH };
static const gw_route_t s_mfa_token_route = {
    .method = "POST", .path = "/mfa/associate", .service = GW_SERVICE_MFA,
    .op = "mfa.associate", .auth = GW_AUTH_MFA_TOKEN, .status = 200,
    .family = GW_FAMILY_AUTH };

static const gw_route_t s_userinfo_route = {
    .method = "GET", .path = "/userinfo", .service = GW_SERVICE_AUTHN,
    .op = "userinfo.get", .scope = "openid", .auth = GW_AUTH_USERINFO, .status = 200,
    .family = GW_FAMILY_AUTH };
#define USERINFO_AUDIENCE   "https://" DOMAIN "/userinfo"

typedef struct {
    char *pem;
    char *kid;
    char *other_pem;            //  a key the set does not hold
    char *other_kid;
    gw_keys_t *keys;
    gw_auth_context_t *auth;
} fixture_t;

static fixture_t s_fx;

static int
s_setup (void **state)
{
    (void) state;
    if (pst_crypto_init () != 0)
        return -1;
    s_fx.pem = pst_jwt_generate_key_pem (2048);
    s_fx.kid = s_fx.pem? pst_jwt_key_id (s_fx.pem): NULL;
    s_fx.other_pem = pst_jwt_generate_key_pem (2048);
    s_fx.other_kid = s_fx.other_pem? pst_jwt_key_id (s_fx.other_pem): NULL;
    if (!s_fx.kid || !s_fx.other_kid)
        return -1;
    s_fx.keys = gw_keys_new ();
    json_t *jwks = json_pack ("{s:[o]}", "keys", pst_jwt_public_jwk (s_fx.pem, s_fx.kid));
    int rc = s_fx.keys && jwks? gw_keys_update (s_fx.keys, jwks): -1;
    json_decref (jwks);
    s_fx.auth = gw_auth_context_new (s_fx.keys, NULL, DOMAIN);
    return rc == 0 && s_fx.auth? 0: -1;
}

static int
s_teardown (void **state)
{
    (void) state;
    gw_auth_context_destroy (&s_fx.auth);
    gw_keys_destroy (&s_fx.keys);
    free (s_fx.pem);
    free (s_fx.kid);
    free (s_fx.other_pem);
    free (s_fx.other_kid);
    return 0;
}

typedef struct {
    const char *audience;
    json_t *audience_array;     //  or an array claim (taken), as Auth0's with openid
    const char *grant;          //  gty, NULL for a user's token
    const char *scope;          //  a string claim
    json_t *scope_array;        //  or an array claim (taken)
    const char *sub;            //  NULL: "caller@clients"
    const char *azp;            //  NULL: "app-1"
    long long expires_in;       //  0: 600
    int other_key;              //  signed by the key the set does not hold
    long long issued_at;        //  iat, Unix seconds; 0: now
} token_t;

//  "Bearer <jwt>"; caller frees
static char *
s_bearer (token_t token)
{
    long long now = (long long) time (NULL);
    json_t *claims = json_pack ("{s:s, s:o, s:s, s:s, s:I, s:I}", "iss", ISSUER,
        "aud", token.audience_array? token.audience_array: json_string (token.audience),
        "sub", token.sub? token.sub: "caller@clients",
        "azp", token.azp? token.azp: "app-1", "iat", token.issued_at? token.issued_at: now,
        "exp", now + (token.expires_in? token.expires_in: 600));
    assert_non_null (claims);
    if (token.grant)
        json_object_set_new (claims, "gty", json_string (token.grant));
    if (token.scope)
        json_object_set_new (claims, "scope", json_string (token.scope));
    if (token.scope_array)
        json_object_set_new (claims, "scope", token.scope_array);
    char *jwt = pst_jwt_sign (token.other_key? s_fx.other_pem: s_fx.pem,
                              token.other_key? s_fx.other_kid: s_fx.kid, "JWT", claims);
    json_decref (claims);
    assert_non_null (jwt);
    char *header = NULL;
    assert_true (asprintf (&header, "Bearer %s", jwt) > 0);
    free (jwt);
    return header;
}

static gw_verdict_t
s_check (const gw_route_t *route, const char *authorization, json_t *params, int may_wait,
         gw_auth_verdict_t *verdict)
{
    return gw_auth_check (s_fx.auth, route, authorization, params, may_wait, "192.0.2.1",
                          verdict);
}

static void
s_assert_refused (gw_auth_verdict_t *verdict, int status, const char *code,
                  const char *challenge, const char *message)
{
    assert_int_equal (verdict->outcome, GW_VERDICT_REFUSED);
    assert_int_equal (verdict->status, status);
    assert_string_equal (verdict->code, code);
    //  The gateway's refusals are in the vocabulary, with the status it says
    assert_int_equal (pst_error_http_status (verdict->code), status);
    if (challenge) {
        assert_non_null (verdict->challenge);
        assert_string_equal (verdict->challenge, challenge);
    }
    else
        assert_null (verdict->challenge);
    if (message)
        assert_string_equal (verdict->message, message);
    assert_null (verdict->caller);
    assert_null (verdict->scopes);
    assert_null (verdict->caller_client);
}

static void
s_assert_caller (gw_auth_verdict_t *verdict, const char *caller, const char *scopes,
                 const char *caller_client)
{
    assert_int_equal (verdict->outcome, GW_VERDICT_OK);
    assert_string_equal (verdict->caller, caller);
    assert_string_equal (verdict->scopes, scopes);
    if (caller_client)
        assert_string_equal (verdict->caller_client, caller_client);
    else
        assert_null (verdict->caller_client);
}

static void
test_no_auth (void **state)
{
    (void) state;
    gw_auth_verdict_t verdict = { 0 };
    json_t *params = json_object ();
    assert_int_equal (s_check (&s_open_route, "Bearer whatever", params, 1, &verdict),
                      GW_VERDICT_OK);
    assert_null (verdict.caller);
    assert_int_equal (json_object_size (params), 0);
    json_decref (params);
    gw_auth_verdict_clear (&verdict);
}

static void
test_client_credentials (void **state)
{
    (void) state;
    gw_auth_verdict_t verdict = { 0 };
    //  Without Basic the body speaks for itself (and a Bearer header is no concern here)
    json_t *params = json_pack ("{s:s}", "client_id", "app");
    assert_int_equal (s_check (&s_client_route, NULL, params, 1, &verdict), GW_VERDICT_OK);
    assert_int_equal (s_check (&s_client_route, "Bearer x", params, 1, &verdict),
                      GW_VERDICT_OK);
    assert_int_equal (json_object_size (params), 1);
    json_decref (params);

    //  "my%20client:s3cr%2Bt" joins the parameters decoded
    params = json_object ();
    assert_int_equal (s_check (&s_client_route, "Basic bXklMjBjbGllbnQ6czNjciUyQnQ=", params, 1,
                               &verdict), GW_VERDICT_OK);
    assert_null (verdict.caller);
    assert_string_equal (json_string_value (json_object_get (params, "client_id")), "my client");
    assert_string_equal (json_string_value (json_object_get (params, "client_secret")), "s3cr+t");
    json_decref (params);

    //  A public client ("id:"): no secret; the same client_id in the body is fine
    params = json_pack ("{s:s}", "client_id", "id");
    assert_int_equal (s_check (&s_client_route, "Basic aWQ6", params, 1, &verdict),
                      GW_VERDICT_OK);
    assert_string_equal (json_string_value (json_object_get (params, "client_id")), "id");
    assert_null (json_object_get (params, "client_secret"));
    json_decref (params);

    //  Refusals
    params = json_object ();
    s_check (&s_client_route, "Basic !!!!", params, 1, &verdict);
    s_assert_refused (&verdict, 401, PST_ERR_INVALID_CLIENT, NULL,
                      "Malformed Basic authorization header");
    assert_int_equal (json_object_size (params), 0);
    json_decref (params);
    params = json_pack ("{s:s}", "client_id", "someone-else");
    s_check (&s_client_route, "Basic aWQ6", params, 1, &verdict);
    s_assert_refused (&verdict, 400, PST_ERR_INVALID_REQUEST, NULL,
                      "client_id does not match the Authorization header");
    json_decref (params);
    params = json_pack ("{s:s}", "client_secret", "again");
    s_check (&s_client_route, "Basic aWQ6", params, 1, &verdict);
    s_assert_refused (&verdict, 400, PST_ERR_INVALID_REQUEST, NULL,
                      "Client credentials sent twice: use HTTP Basic or the body, not both");
    json_decref (params);
    gw_auth_verdict_clear (&verdict);
}

static void
test_management (void **state)
{
    (void) state;
    gw_auth_verdict_t verdict = { 0 };
    token_t machine = { .audience = MGMT_AUDIENCE, .grant = "client-credentials",
                        .scope = "read:users read:clients" };
    char *authorization = s_bearer (machine);
    assert_int_equal (s_check (&s_mgmt_route, authorization, NULL, 1, &verdict), GW_VERDICT_OK);
    s_assert_caller (&verdict, "caller@clients", "read:users read:clients", "app-1");
    free (authorization);

    //  A scope claim may be an array; an azp the envelope cannot carry is left out
    char long_azp [300];
    memset (long_azp, 'a', sizeof long_azp - 1);
    long_azp [sizeof long_azp - 1] = 0;
    token_t array = machine;
    array.scope = NULL;
    array.scope_array = json_pack ("[s, s]", "read:clients", "update:clients");
    array.azp = long_azp;
    authorization = s_bearer (array);
    assert_int_equal (s_check (&s_mgmt_route, authorization, NULL, 1, &verdict), GW_VERDICT_OK);
    s_assert_caller (&verdict, "caller@clients", "read:clients update:clients", NULL);
    free (authorization);

    //  aud may be an array that holds the Management API (Auth0's shape)
    token_t several = machine;
    several.audience = NULL;
    several.audience_array = json_pack ("[s, s]", "https://other.example/api", MGMT_AUDIENCE);
    authorization = s_bearer (several);
    assert_int_equal (s_check (&s_mgmt_route, authorization, NULL, 1, &verdict), GW_VERDICT_OK);
    s_assert_caller (&verdict, "caller@clients", "read:users read:clients", "app-1");
    free (authorization);

    //  Missing, malformed, for another audience, a user's, expired, without sub
    s_check (&s_mgmt_route, NULL, NULL, 1, &verdict);
    s_assert_refused (&verdict, 401, PST_ERR_INVALID_TOKEN, GW_RESPONSE_CHALLENGE_BEARER,
                      "Missing authentication");
    s_check (&s_mgmt_route, "Basic aWQ6", NULL, 1, &verdict);
    s_assert_refused (&verdict, 401, PST_ERR_INVALID_TOKEN, GW_RESPONSE_CHALLENGE_BEARER,
                      "Missing authentication");
    s_check (&s_mgmt_route, "Bearer not.a.token", NULL, 1, &verdict);
    s_assert_refused (&verdict, 401, PST_ERR_INVALID_TOKEN, GW_RESPONSE_CHALLENGE_BEARER,
                      "Invalid token");
    token_t refused [] = {
        { .audience = MFA_AUDIENCE, .grant = "client-credentials", .scope = "read:clients" },
        { .audience = MGMT_AUDIENCE, .scope = "read:clients" },
        { .audience = MGMT_AUDIENCE, .grant = "password", .scope = "read:clients" },
        { .audience = MGMT_AUDIENCE, .grant = "client-credentials", .scope = "read:clients",
          .expires_in = -3600 },
        { .audience = MGMT_AUDIENCE, .grant = "client-credentials", .scope = "read:clients",
          .sub = "" },
        { .audience_array = json_pack ("[s, s]", MFA_AUDIENCE, "https://" DOMAIN "/userinfo"),
          .grant = "client-credentials", .scope = "read:clients" },
        { .audience_array = json_array (), .grant = "client-credentials", .scope = "read:clients" },
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused [0]; i++) {
        authorization = s_bearer (refused [i]);
        s_check (&s_mgmt_route, authorization, NULL, 1, &verdict);
        s_assert_refused (&verdict, 401, PST_ERR_INVALID_TOKEN, GW_RESPONSE_CHALLENGE_BEARER,
                          "Invalid token");
        free (authorization);
    }

    //  A good token without the route's scope
    token_t narrow = machine;
    narrow.scope = "read:users read:clientsx";
    authorization = s_bearer (narrow);
    s_check (&s_mgmt_route, authorization, NULL, 1, &verdict);
    s_assert_refused (&verdict, 403, PST_ERR_INSUFFICIENT_SCOPE, NULL,
                      "Insufficient scope, expected any of: read:clients");
    free (authorization);

    //  An unknown kid waits for fresh keys once; after the refresh it is refused
    token_t rotated = machine;
    rotated.other_key = 1;
    authorization = s_bearer (rotated);
    assert_int_equal (s_check (&s_mgmt_route, authorization, NULL, 1, &verdict),
                      GW_VERDICT_WAIT_KEYS);
    assert_null (verdict.caller);
    s_check (&s_mgmt_route, authorization, NULL, 0, &verdict);
    s_assert_refused (&verdict, 401, PST_ERR_INVALID_TOKEN, GW_RESPONSE_CHALLENGE_BEARER,
                      "Invalid token");
    free (authorization);
    gw_auth_verdict_clear (&verdict);
}

static void
test_mfa_bearer (void **state)
{
    (void) state;
    gw_auth_verdict_t verdict = { 0 };
    //  An opaque mfa_token travels to mfa in the body
    json_t *params = json_object ();
    assert_int_equal (s_check (&s_mfa_route, "Bearer Fe26.2**05abc", params, 1, &verdict),
                      GW_VERDICT_OK);
    assert_null (verdict.caller);
    assert_string_equal (json_string_value (json_object_get (params, "mfa_token")),
                         "Fe26.2**05abc");
    json_decref (params);

    //  A user's /mfa/ access token becomes the caller, and wins over a body mfa_token
    params = json_pack ("{s:s}", "mfa_token", "from-the-body");
    token_t user = { .audience = MFA_AUDIENCE, .scope = "openid read:authenticators",
                     .sub = "auth0|u1" };
    char *authorization = s_bearer (user);
    assert_int_equal (s_check (&s_mfa_route, authorization, params, 1, &verdict),
                      GW_VERDICT_OK);
    s_assert_caller (&verdict, "auth0|u1", "openid read:authenticators", "app-1");
    assert_null (json_object_get (params, "mfa_token"));
    free (authorization);

    //  A token asked for with openid names /userinfo beside the MFA API
    json_decref (params);
    params = json_object ();
    token_t with_openid = user;
    with_openid.audience = NULL;
    with_openid.audience_array = json_pack ("[s, s]", MFA_AUDIENCE, "https://" DOMAIN "/userinfo");
    authorization = s_bearer (with_openid);
    assert_int_equal (s_check (&s_mfa_route, authorization, params, 1, &verdict),
                      GW_VERDICT_OK);
    s_assert_caller (&verdict, "auth0|u1", "openid read:authenticators", "app-1");
    free (authorization);

    //  Refusals: none, a machine token, another audience, an expired one, no scope
    s_check (&s_mfa_route, NULL, params, 1, &verdict);
    s_assert_refused (&verdict, 401, PST_ERR_INVALID_TOKEN, GW_RESPONSE_CHALLENGE_BEARER,
                      "Missing Authorization: Bearer token");
    token_t refused [] = {
        { .audience = MFA_AUDIENCE, .grant = "client-credentials",
          .scope = "read:authenticators" },
        { .audience = MGMT_AUDIENCE, .scope = "read:authenticators" },
        { .audience = MFA_AUDIENCE, .scope = "read:authenticators", .expires_in = -3600 },
        { .audience_array = json_pack ("[s, s]", "https://other.example/api",
                                       "https://" DOMAIN "/userinfo"),
          .scope = "read:authenticators" },
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused [0]; i++) {
        authorization = s_bearer (refused [i]);
        s_check (&s_mfa_route, authorization, params, 1, &verdict);
        s_assert_refused (&verdict, 401, PST_ERR_INVALID_TOKEN, GW_RESPONSE_CHALLENGE_BEARER,
                          "Invalid or expired access token");
        free (authorization);
    }
    token_t narrow = user;
    narrow.scope = "remove:authenticators";
    authorization = s_bearer (narrow);
    s_check (&s_mfa_route, authorization, params, 1, &verdict);
    s_assert_refused (&verdict, 403, PST_ERR_INSUFFICIENT_SCOPE, NULL,
                      "Insufficient scope, expected any of: read:authenticators");
    free (authorization);

    //  The unknown kid of a user's token waits too
    token_t rotated = user;
    rotated.other_key = 1;
    authorization = s_bearer (rotated);
    assert_int_equal (s_check (&s_mfa_route, authorization, params, 1, &verdict),
                      GW_VERDICT_WAIT_KEYS);
    s_check (&s_mfa_route, authorization, params, 0, &verdict);
    s_assert_refused (&verdict, 401, PST_ERR_INVALID_TOKEN, GW_RESPONSE_CHALLENGE_BEARER,
                      "Invalid or expired access token");
    free (authorization);
    json_decref (params);
    gw_auth_verdict_clear (&verdict);
}

static void
test_mfa_access_only (void **state)
{
    (void) state;
    gw_auth_verdict_t verdict = { 0 };
    json_t *params = json_object ();
    s_check (&s_mfa_access_route, "Bearer opaque-mfa-token", params, 1, &verdict);
    s_assert_refused (&verdict, 401, PST_ERR_INVALID_TOKEN, GW_RESPONSE_CHALLENGE_BEARER,
                      "An access token for the MFA API is required");
    assert_null (json_object_get (params, "mfa_token"));
    token_t user = { .audience = MFA_AUDIENCE, .scope = "remove:authenticators" };
    char *authorization = s_bearer (user);
    assert_int_equal (s_check (&s_mfa_access_route, authorization, params, 1, &verdict),
                      GW_VERDICT_OK);
    s_assert_caller (&verdict, "caller@clients", "remove:authenticators", "app-1");
    free (authorization);
    json_decref (params);
    gw_auth_verdict_clear (&verdict);
}

static void
test_mfa_token_only (void **state)
{
    (void) state;
    gw_auth_verdict_t verdict = { 0 };
    json_t *params = json_object ();
    assert_int_equal (s_check (&s_mfa_token_route, "Bearer MFA_TOKEN", params, 1, &verdict),
                      GW_VERDICT_OK);
    assert_null (verdict.caller);
    assert_string_equal (json_string_value (json_object_get (params, "mfa_token")), "MFA_TOKEN");
    //  Enrolling with an access token is refused in words that say so, valid or not
    token_t user = { .audience = MFA_AUDIENCE, .scope = "enroll" };
    char *authorization = s_bearer (user);
    s_check (&s_mfa_token_route, authorization, params, 1, &verdict);
    s_assert_refused (&verdict, 403, PST_ERR_ACCESS_DENIED, NULL, NULL);
    assert_non_null (strstr (verdict.message, "not supported yet"));
    free (authorization);
    s_check (&s_mfa_token_route, NULL, params, 1, &verdict);
    s_assert_refused (&verdict, 401, PST_ERR_INVALID_TOKEN, GW_RESPONSE_CHALLENGE_BEARER,
                      "Missing Authorization: Bearer token");
    json_decref (params);
    gw_auth_verdict_clear (&verdict);
}

//  /userinfo: a user's token that names it (alone, or beside an API) and holds
//  openid; the scope refusal carries OpenID Connect's challenge
static void
test_userinfo (void **state)
{
    (void) state;
    gw_auth_verdict_t verdict = { 0 };
    json_t *params = json_object ();
    token_t user = { .audience_array = json_pack ("[s, s]", "https://api.example.com/",
                                                  USERINFO_AUDIENCE),
                     .scope = "openid profile", .sub = "auth0|u1", .grant = "password" };
    char *authorization = s_bearer (user);
    assert_int_equal (s_check (&s_userinfo_route, authorization, params, 1, &verdict),
                      GW_VERDICT_OK);
    s_assert_caller (&verdict, "auth0|u1", "openid profile", "app-1");
    free (authorization);
    token_t alone = { .audience = USERINFO_AUDIENCE, .scope = "openid", .sub = "auth0|u1" };
    authorization = s_bearer (alone);
    assert_int_equal (s_check (&s_userinfo_route, authorization, params, 1, &verdict),
                      GW_VERDICT_OK);
    free (authorization);

    token_t narrow = { .audience = USERINFO_AUDIENCE, .scope = "profile email" };
    authorization = s_bearer (narrow);
    s_check (&s_userinfo_route, authorization, params, 1, &verdict);
    s_assert_refused (&verdict, 403, PST_ERR_INSUFFICIENT_SCOPE, GW_RESPONSE_CHALLENGE_OPENID,
                      "Insufficient scope, expected any of: openid");
    free (authorization);

    s_check (&s_userinfo_route, NULL, params, 1, &verdict);
    s_assert_refused (&verdict, 401, PST_ERR_INVALID_TOKEN, GW_RESPONSE_CHALLENGE_BEARER,
                      "Missing authentication");
    s_check (&s_userinfo_route, "Bearer opaque-mfa-token", params, 1, &verdict);
    s_assert_refused (&verdict, 401, PST_ERR_INVALID_TOKEN, GW_RESPONSE_CHALLENGE_BEARER,
                      "Invalid token");
    token_t refused [] = {
        { .audience = "https://api.example.com/", .scope = "openid" },
        { .audience = MFA_AUDIENCE, .scope = "openid" },
        { .audience = USERINFO_AUDIENCE, .grant = "client-credentials", .scope = "openid" },
        { .audience = USERINFO_AUDIENCE, .scope = "openid", .expires_in = -3600 },
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused [0]; i++) {
        authorization = s_bearer (refused [i]);
        s_check (&s_userinfo_route, authorization, params, 1, &verdict);
        s_assert_refused (&verdict, 401, PST_ERR_INVALID_TOKEN, GW_RESPONSE_CHALLENGE_BEARER,
                          "Invalid token");
        free (authorization);
    }
    //  The body is never a way to pass a token
    assert_int_equal (json_object_size (params), 0);
    json_decref (params);
    gw_auth_verdict_clear (&verdict);
}

//  A token whose client, or whose client's grant for its audience, was deleted
//  once it had been issued is refused as revoked; its client is azp, and for a
//  machine token sub too. Before the first list a good token waits for it once,
//  then is 503; a bad one is refused without waiting.
static void
test_revoked (void **state)
{
    (void) state;
    gw_revocations_t *revocations = gw_revocations_new ();
    gw_auth_context_t *auth = gw_auth_context_new (s_fx.keys, revocations, DOMAIN);
    assert_non_null (auth);
    gw_auth_verdict_t verdict = { 0 };
    //  Every token is issued in one second and the revocations are set from it,
    //  not from the clock when each is made: a slow run must not carry a token
    //  into the next second, past a revocation it should fall under
    long long issued_at = (long long) time (NULL);
    token_t machine = { .audience = MGMT_AUDIENCE, .grant = "client-credentials",
                        .scope = "read:clients", .issued_at = issued_at };
    char *authorization = s_bearer (machine);
    int both = GW_AUTH_WAIT_KEYS | GW_AUTH_WAIT_REVOCATIONS;
    assert_int_equal (gw_auth_check (auth, &s_mgmt_route, authorization, NULL, both, "192.0.2.1",
                                     &verdict), GW_VERDICT_WAIT_REVOCATIONS);
    assert_null (verdict.caller);
    gw_auth_check (auth, &s_mgmt_route, authorization, NULL, GW_AUTH_WAIT_KEYS, "192.0.2.1", &verdict);
    s_assert_refused (&verdict, 503, PST_ERR_UNAVAILABLE, NULL,
                      "The list of revoked tokens has not been received from authn yet");
    gw_auth_check (auth, &s_mgmt_route, "Bearer not.a.token", NULL, both, "192.0.2.1", &verdict);
    s_assert_refused (&verdict, 401, PST_ERR_INVALID_TOKEN, GW_RESPONSE_CHALLENGE_BEARER,
                      "Invalid token");

    json_t *empty = json_array ();
    assert_int_equal (gw_revocations_update (revocations, empty), 0);
    json_decref (empty);
    assert_int_equal (gw_auth_check (auth, &s_mgmt_route, authorization, NULL, both, "192.0.2.1",
                                     &verdict), GW_VERDICT_OK);

    //  app-1's Management API grant went when its tokens had been issued;
    //  app-2 went whole a minute before its token was
    long long now_ms = issued_at * 1000;
    json_t *list = json_pack ("[{s:s, s:s, s:I}, {s:s, s:n, s:I}]",
        "client_id", "app-1", "audience", MGMT_AUDIENCE, "revoked_at", now_ms + 500,
        "client_id", "app-2", "audience", "revoked_at", now_ms - 60000);
    assert_int_equal (gw_revocations_update (revocations, list), 0);
    json_decref (list);
    gw_auth_check (auth, &s_mgmt_route, authorization, NULL, both, "192.0.2.1", &verdict);
    s_assert_refused (&verdict, 401, PST_ERR_INVALID_TOKEN, GW_RESPONSE_CHALLENGE_BEARER,
                      "The access token was revoked");
    free (authorization);
    //  Its client named by sub alone
    token_t by_sub = machine;
    by_sub.azp = "another-app";
    by_sub.sub = "app-1@clients";
    authorization = s_bearer (by_sub);
    gw_auth_check (auth, &s_mgmt_route, authorization, NULL, both, "192.0.2.1", &verdict);
    s_assert_refused (&verdict, 401, PST_ERR_INVALID_TOKEN, GW_RESPONSE_CHALLENGE_BEARER,
                      "The access token was revoked");
    free (authorization);
    //  Another client's token; app-1's user token for the MFA API (only its
    //  Management API grant went); app-2's token issued after it went
    token_t other = machine;
    other.azp = "app-3";
    other.sub = "app-3@clients";
    token_t user = { .audience = MFA_AUDIENCE, .scope = "read:authenticators", .sub = "auth0|u1",
                     .issued_at = issued_at };
    token_t later = other;
    later.azp = "app-2";
    later.sub = "app-2@clients";
    token_t good [] = { other, user, later };
    const gw_route_t *routes [] = { &s_mgmt_route, &s_mfa_route, &s_mgmt_route };
    for (size_t i = 0; i < 3; i++) {
        authorization = s_bearer (good [i]);
        json_t *params = json_object ();
        assert_int_equal (gw_auth_check (auth, routes [i], authorization, params, both,
                                         "192.0.2.1", &verdict), GW_VERDICT_OK);
        gw_auth_verdict_clear (&verdict);
        json_decref (params);
        free (authorization);
    }
    //  A user's MFA API token of a client that went whole
    list = json_pack ("[{s:s, s:n, s:I}]", "client_id", "app-1", "audience", "revoked_at", now_ms);
    assert_int_equal (gw_revocations_update (revocations, list), 0);
    json_decref (list);
    authorization = s_bearer (user);
    json_t *params = json_object ();
    gw_auth_check (auth, &s_mfa_route, authorization, params, both, "192.0.2.1", &verdict);
    s_assert_refused (&verdict, 401, PST_ERR_INVALID_TOKEN, GW_RESPONSE_CHALLENGE_BEARER,
                      "The access token was revoked");
    json_decref (params);
    free (authorization);
    gw_auth_context_destroy (&auth);
    gw_revocations_destroy (&revocations);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_basic),
        cmocka_unit_test (test_bearer),
        cmocka_unit_test (test_no_auth),
        cmocka_unit_test (test_client_credentials),
        cmocka_unit_test (test_management),
        cmocka_unit_test (test_mfa_bearer),
        cmocka_unit_test (test_mfa_access_only),
        cmocka_unit_test (test_mfa_token_only),
        cmocka_unit_test (test_userinfo),
        cmocka_unit_test (test_revoked),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
