#include "authn_token.h"
#include "authn_audit.h"
#include "authn_clientauth.h"
#include "authn_mfa.h"
#include "authn_oidc.h"
#include "authn_refresh.h"
#include "authn_store.h"
#include "authn_throttle.h"
#include "authn_worker.h"
#include "pst_catalogue.h"
#include "pst_crypto.h"
#include "pst_error.h"
#include "pst_json.h"
#include "pst_jwt.h"
#include "pst_log.h"
#include "pst_scope.h"
#include <stdlib.h>
#include <string.h>

#define GRANT_PASSWORD          "password"
#define GRANT_PASSWORD_REALM    "http://auth0.com/oauth/grant-type/password-realm"
#define GRANT_CLIENT_CREDS      "client_credentials"
#define GRANT_MFA_OOB           "http://auth0.com/oauth/grant-type/mfa-oob"
#define GRANT_MFA_OTP           "http://auth0.com/oauth/grant-type/mfa-otp"
#define GRANT_MFA_RECOVERY      "http://auth0.com/oauth/grant-type/mfa-recovery-code"
#define GRANT_REFRESH           "refresh_token"

#define DEFAULT_TOKEN_LIFETIME  86400

//  Everything a grant handler needs, resolved once by the dispatcher.
typedef struct {
    authn_worker_t *worker;
    const pst_msg_t *request;
    pst_msg_t *reply;
    authn_client_t *client;
    const char *grant_type;
    const char *gty;            //  the access token's gty claim (Auth0's name of the grant)
    //  The tokens' iat: when the request began, before anything was read, so
    //  that a deletion committed after the grant was read always covers them
    //  (authn_revoke)
    int64_t issued_at;
    authn_audit_note_t audit;   //  what the audit row says beside the reply
} grant_ctx_t;

typedef int (grant_fn) (grant_ctx_t *ctx);

static const char *
s_param (const pst_msg_t *request, const char *name)
{
    return pst_json_str (pst_msg_body (request), name);
}

//  The access token's claims in Auth0's default profile: a user token that
//  asked for openid names /userinfo beside its API (aud an array, as Auth0's),
//  any other a single audience
static json_t *
s_access_claims (grant_ctx_t *ctx, const char *subject, int user, const char *audience,
                 const char *scope, int lifetime)
{
    const authn_config_t *config = ctx->worker->config;
    json_t *aud = user && pst_scope_has (scope, "openid") && strcmp (audience, config->userinfo) != 0
                ? json_pack ("[s, s]", audience, config->userinfo): json_string (audience);
    char jti [33];
    pst_random_hex (jti, sizeof jti, 16);
    return json_pack ("{s:s, s:s, s:o, s:I, s:I, s:s, s:s, s:s, s:s}",
        "iss", config->issuer, "sub", subject, "aud", aud,
        "iat", (json_int_t) ctx->issued_at, "exp", (json_int_t) (ctx->issued_at + lifetime),
        "scope", scope, "gty", ctx->gty, "azp", ctx->client->client_id, "jti", jti);
}

//  The id_token: the user's OpenID Connect claims for the scope, and when the
//  sign-in checked the password (auth_time; 0 when unknown)
static json_t *
s_id_claims (grant_ctx_t *ctx, const authn_user_t *user, const char *scope, int64_t auth_time)
{
    const authn_config_t *config = ctx->worker->config;
    json_t *claims = json_pack ("{s:s, s:s, s:s, s:I, s:I}",
        "iss", config->issuer, "sub", user->user_id, "aud", ctx->client->client_id,
        "iat", (json_int_t) ctx->issued_at,
        "exp", (json_int_t) (ctx->issued_at + config->id_token_lifetime_s));
    int rc = claims? 0: -1;
    if (rc == 0 && auth_time > 0)
        rc = json_object_set_new (claims, "auth_time", json_integer ((json_int_t) auth_time));
    if (rc == 0)
        rc = authn_oidc_user_claims (claims, user, scope);
    if (rc) {
        json_decref (claims);
        claims = NULL;
    }
    return claims;
}

//  Signs the access token (and an id_token when openid was asked for a user) and
//  fills the success body.
static int
s_issue_tokens (grant_ctx_t *ctx, const authn_user_t *user, const char *audience,
                const char *scope, int lifetime, int64_t auth_time)
{
    authn_worker_t *worker = ctx->worker;
    char *subject = NULL;
    if (user)
        subject = strdup (user->user_id);
    else
    if (asprintf (&subject, "%s@clients", ctx->client->client_id) < 0)
        subject = NULL;
    if (!subject)
        return pst_msg_fail (ctx->reply, PST_ERR_INTERNAL, "Out of memory");

    int with_id_token = user && pst_scope_has (scope, "openid");
    json_t *claims = s_access_claims (ctx, subject, user != NULL, audience, scope, lifetime);
    json_t *id_claims = with_id_token? s_id_claims (ctx, user, scope, auth_time): NULL;
    //  The key that is current now, should another worker have rotated it
    const pst_jwt_signer_t *signer = authn_signer_refresh (worker->keys, worker->store) == 0
                                   ? authn_signer_current (worker->keys): NULL;
    //  typ JWT as Auth0's default profile: at+jwt (RFC 9068) is refused by
    //  verifiers that expect Auth0's tokens (Spring Security, Nimbus)
    char *access_token = claims && signer? pst_jwt_signer_sign (signer, "JWT", claims): NULL;
    char *id_token = id_claims && signer? pst_jwt_signer_sign (signer, "JWT", id_claims): NULL;
    json_decref (claims);
    json_decref (id_claims);
    free (subject);
    if (!access_token || (with_id_token && !id_token)) {
        free (access_token);
        free (id_token);
        return pst_msg_fail (ctx->reply, PST_ERR_INTERNAL, "Could not sign the token");
    }
    json_t *body = pst_msg_body (ctx->reply);
    json_object_set_new (body, "access_token", json_string (access_token));
    if (id_token)
        json_object_set_new (body, "id_token", json_string (id_token));
    json_object_set_new (body, "scope", json_string (scope));
    json_object_set_new (body, "expires_in", json_integer (lifetime));
    json_object_set_new (body, "token_type", json_string ("Bearer"));
    free (access_token);
    free (id_token);
    pst_log (PST_LOG_INFO, "token_issued", "client_id", ctx->client->client_id,
             "user_id", user? user->user_id: NULL, "audience", audience,
             "grant_type", ctx->grant_type, NULL);
    return 0;
}

//  Resolves an audience to (identifier, lifetime) and, when api_p is given, the API
//  itself (NULL for the userinfo audience). No audience means the userinfo audience,
//  as with Auth0 when no default audience is set.
static int
s_resolve_audience (grant_ctx_t *ctx, const char *audience, char **resolved_p, int *lifetime_p,
                    authn_api_t **api_p)
{
    if (api_p)
        *api_p = NULL;
    if (!audience) {
        if (!(*resolved_p = strdup (ctx->worker->config->userinfo)))
            return pst_msg_fail (ctx->reply, PST_ERR_INTERNAL, "Out of memory");
        *lifetime_p = DEFAULT_TOKEN_LIFETIME;
        return 0;
    }
    authn_api_t *api = authn_store_api (ctx->worker->store, audience);
    if (!api)
        return pst_msg_fail (ctx->reply, PST_ERR_ACCESS_DENIED, "Service not found: %s", audience);
    *resolved_p = strdup (api->identifier);
    if (!*resolved_p) {
        authn_api_destroy (&api);
        return pst_msg_fail (ctx->reply, PST_ERR_INTERNAL, "Out of memory");
    }
    *lifetime_p = api->token_lifetime > 0? api->token_lifetime: DEFAULT_TOKEN_LIFETIME;
    if (api_p)
        *api_p = api;
    else
        authn_api_destroy (&api);
    return 0;
}

//  1 when api is the system API at issuer + path
static int
s_is_system_api (grant_ctx_t *ctx, const authn_api_t *api, const char *path)
{
    const char *issuer = ctx->worker->config->issuer;
    size_t length = strlen (issuer);
    return api && api->is_system
        && strncmp (api->identifier, issuer, length) == 0
        && strcmp (api->identifier + length, path) == 0;
}

//  The Management API answers to machine tokens only: a user who can sign in to
//  any application must never hold a token that administers the tenant.
static int
s_is_management_api (grant_ctx_t *ctx, const authn_api_t *api)
{
    return s_is_system_api (ctx, api, "api/v2/");
}

//  A user token carries the OpenID Connect scopes asked for plus those the API
//  defines, and offline_access when a refresh token comes with it; anything
//  else the caller asks for is dropped, never granted.
static char *
s_user_scope (const authn_api_t *api, const char *requested, int offline)
{
    const char *const *oidc = pst_catalogue_scopes (PST_SYSTEM_API_USERINFO);
    char *normalised = pst_scope_normalise (requested);
    char *result = normalised? (char *) calloc (1, strlen (normalised) + 1): NULL;
    if (!result) {
        free (normalised);
        return NULL;
    }
    char *saveptr = NULL;
    for (char *word = strtok_r (normalised, " ", &saveptr); word;
         word = strtok_r (NULL, " ", &saveptr)) {
        int keep = (api && authn_api_defines_scope (api, word))
                || (offline && strcmp (word, "offline_access") == 0);
        for (const char *const *name = oidc; !keep && *name; name++)
            keep = strcmp (word, *name) == 0;
        if (!keep)
            continue;
        if (*result)
            strcat (result, " ");
        strcat (result, word);
    }
    free (normalised);
    return result;
}

//  What a user token may be for: the audience resolved (none: userinfo), never
//  the Management API, and the scope cut down to the OpenID scopes and those the
//  API defines. The password grant asks it of the request; the MFA grants ask it
//  again of what mfa hands back, whatever that is. 0, or -1 after failing reply.
typedef struct {
    char *audience;
    char *scope;
    int lifetime;
    int step_up;                //  the MFA API: an enrolled user needs MFA whatever the policy
    int offline_allowed;        //  the API allows offline access and the client refresh tokens
    int offline;                //  ... and offline_access was asked: a refresh token comes too
} user_target_t;

static void
s_user_target_free (user_target_t *target)
{
    free (target->audience);
    free (target->scope);
    memset (target, 0, sizeof *target);
}

static int
s_user_target (grant_ctx_t *ctx, const char *audience, const char *scope, user_target_t *target)
{
    memset (target, 0, sizeof *target);
    authn_api_t *api = NULL;
    //  The audience of a token asked for without one, as mfa may hand it back
    int is_userinfo = audience && strcmp (audience, ctx->worker->config->userinfo) == 0;
    if (s_resolve_audience (ctx, is_userinfo? NULL: audience, &target->audience,
                            &target->lifetime, &api))
        return -1;
    if (s_is_management_api (ctx, api)) {
        authn_api_destroy (&api);
        s_user_target_free (target);
        return pst_msg_fail (ctx->reply, PST_ERR_ACCESS_DENIED,
            "The Management API accepts machine tokens only: use client_credentials");
    }
    //  As Auth0: offline_access that cannot be honoured is dropped, not refused
    target->offline_allowed = api && api->allow_offline_access
                           && authn_client_allows (ctx->client, GRANT_REFRESH);
    target->offline = target->offline_allowed && scope && pst_scope_has (scope, "offline_access");
    target->scope = s_user_scope (api, scope, target->offline);
    target->step_up = s_is_system_api (ctx, api, "mfa/");
    authn_api_destroy (&api);
    if (!target->audience || !target->scope) {
        s_user_target_free (target);
        return pst_msg_fail (ctx->reply, PST_ERR_INTERNAL, "Out of memory");
    }
    return 0;
}

//  A user's tokens, and a refresh token when target allows one and it was asked for
static int
s_issue_user_tokens (grant_ctx_t *ctx, const authn_user_t *user, const char *audience,
                     const char *scope, int lifetime, int64_t auth_time, int offline)
{
    int rc = s_issue_tokens (ctx, user, audience, scope, lifetime, auth_time);
    if (rc == 0 && offline)
        rc = authn_refresh_issue (ctx->worker, user->user_id, ctx->client->client_id, audience,
                                  scope, auth_time, ctx->issued_at, ctx->reply);
    return rc;
}

//  The mfa_token mfa just made keeps the client's credentials as this grant read
//  them, before its hash. An administrator who changed them since (or deleted
//  the client) had mfa void the client's tokens, perhaps before this one
//  existed: so look again, and if they changed, keep the token to ourselves (no
//  one else has it, so nothing needs voiding). Whichever of the two comes second
//  sees the other. 0, or -1 after failing reply.
static int
s_client_still (grant_ctx_t *ctx)
{
    if (authn_clientauth_unchanged (ctx->worker, ctx->client))
        return 0;
    return pst_msg_fail (ctx->reply, PST_ERR_INVALID_CLIENT,
                         "The application's credentials changed or it was deleted. Sign in again.");
}

static int
s_grant_password (grant_ctx_t *ctx)
{
    if (strcmp (ctx->grant_type, GRANT_PASSWORD_REALM) == 0
    &&  strcmp (s_param (ctx->request, "realm"), AUTHN_CONNECTION) != 0)
        return pst_msg_fail (ctx->reply, PST_ERR_INVALID_REQUEST, "Unknown realm: %s",
                             s_param (ctx->request, "realm"));
    user_target_t target;
    if (s_user_target (ctx, s_param (ctx->request, "audience"), s_param (ctx->request, "scope"),
                       &target))
        return -1;
    char *audience = target.audience, *scope = target.scope;
    int lifetime = target.lifetime, step_up = target.step_up, offline = target.offline;

    const char *username = s_param (ctx->request, "username");
    const char *password = s_param (ctx->request, "password");
    authn_throttle_keys_t keys;
    authn_throttle_keys (&keys, username, pst_msg_client_ip (ctx->request));
    if (authn_throttle_reserve (ctx->worker, &keys, ctx->request, ctx->reply,
                                ctx->client->client_id)) {
        free (audience);
        free (scope);
        return -1;
    }
    authn_user_t *user = strlen (username) <= 254? authn_store_user_by_email (ctx->worker->store, username): NULL;
    //  Unknown users cost one argon2id verification too: same answer, same time (S11)
    int ok = 0;
    if (user)
        ok = pst_password_verify (user->password_hash, password) == 0;
    else
        pst_password_burn (password);
    snprintf (ctx->audit.user_id, sizeof ctx->audit.user_id, "%s", user? user->user_id: "");
    snprintf (ctx->audit.user_name, sizeof ctx->audit.user_name, "%.254s", user? user->email: username);
    if (!ok) {
        authn_throttle_failed (ctx->worker, &keys);
        ctx->audit.type = user? "fp": "fu";
        pst_log (PST_LOG_INFO, "login_failed", "client_id", ctx->client->client_id,
                 "user_id", user? user->user_id: NULL, "ip", pst_msg_client_ip (ctx->request), NULL);
        authn_user_destroy (&user);
        free (audience);
        free (scope);
        return pst_msg_fail (ctx->reply, PST_ERR_INVALID_GRANT, "Wrong email or password.");
    }
    authn_throttle_succeeded (ctx->worker, &keys);
    int64_t auth_time = authn_config_now (ctx->worker->config);
    char *rehash = pst_password_needs_rehash (user->password_hash)? pst_password_hash (password): NULL;
    authn_store_user_login (ctx->worker->store, user->user_id, rehash,
                            authn_config_now (ctx->worker->config));
    free (rehash);

    //  The client's credentials go with the token: /mfa/challenge is mfa's alone
    json_t *begin = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s*}",
        "user_id", user->user_id, "email", user->email, "client_id", ctx->client->client_id,
        "client_name", ctx->client->name, "audience", audience, "scope", scope,
        "step_up", step_up, "client_auth_method", ctx->client->auth_method,
        "client_secret_hash", ctx->client->secret_hash);
    pst_msg_t *answer = authn_mfa_call (ctx->worker, ctx->request, ctx->reply, "mfa.begin", &begin);
    int rc = -1;
    if (answer && pst_msg_is_error (answer))
        authn_mfa_relay_error (ctx->reply, answer);
    else
    if (answer) {
        //  Fail closed: tokens without MFA only on an explicit "not required"
        json_t *required = json_object_get (pst_msg_body (answer), "mfa_required");
        const char *mfa_token = pst_msg_get_str (answer, "mfa_token");
        if (json_is_false (required))
            rc = s_issue_user_tokens (ctx, user, audience, scope, lifetime, auth_time, offline);
        else
        if (json_is_true (required) && mfa_token && *mfa_token) {
            if (s_client_still (ctx) == 0) {
                pst_msg_fail (ctx->reply, PST_ERR_MFA_REQUIRED, "Multifactor authentication required");
                json_object_set_new (pst_msg_body (ctx->reply), "mfa_token", json_string (mfa_token));
                json_t *requirements = json_object_get (pst_msg_body (answer), "mfa_requirements");
                if (json_is_object (requirements))
                    json_object_set (pst_msg_body (ctx->reply), "mfa_requirements", requirements);
            }
        }
        else
            pst_msg_fail (ctx->reply, PST_ERR_INTERNAL, "The MFA service gave an unreadable answer");
    }
    pst_msg_destroy (&answer);
    free (scope);
    free (audience);
    authn_user_destroy (&user);
    return rc;
}

static int
s_grant_client_credentials (grant_ctx_t *ctx)
{
    if (authn_client_is_public (ctx->client))
        return pst_msg_fail (ctx->reply, PST_ERR_UNAUTHORIZED_CLIENT,
                             "Public clients cannot use the client_credentials grant.");
    const char *audience = s_param (ctx->request, "audience");
    char *resolved = NULL;
    int lifetime = 0;
    if (s_resolve_audience (ctx, audience, &resolved, &lifetime, NULL))
        return -1;
    json_t *granted = authn_store_client_grant_scopes (ctx->worker->store, ctx->client->client_id, resolved);
    if (!granted) {
        free (resolved);
        return pst_msg_fail (ctx->reply, PST_ERR_ACCESS_DENIED,
            "Client is not authorized to access \"%s\". You need to create a \"client-grant\" "
            "associated to this API.", audience);
    }
    //  Requested scopes are cut down to the granted ones; none requested = all granted
    const char *requested = s_param (ctx->request, "scope");
    size_t index, size = 1;
    json_t *value;
    json_array_foreach (granted, index, value)
        size += json_string_length (value) + 1;
    char *scope = (char *) calloc (1, size);
    size_t used = 0;
    json_array_foreach (granted, index, value) {
        const char *word = json_string_value (value);
        if (!scope || !word || (requested && !pst_scope_has (requested, word)))
            continue;
        used += (size_t) snprintf (scope + used, size - used, "%s%s", used? " ": "", word);
    }
    int rc = scope? s_issue_tokens (ctx, NULL, resolved, scope, lifetime, 0)
                  : pst_msg_fail (ctx->reply, PST_ERR_INTERNAL, "Out of memory");
    free (scope);
    json_decref (granted);
    free (resolved);
    return rc;
}

//  mfa-oob, mfa-otp and mfa-recovery-code: mfa verifies, authn issues for the audience and
//  scope bound to the mfa_token by the original password request.
static int
s_grant_mfa (grant_ctx_t *ctx, const char *op, const char *const *passed)
{
    json_t *body = json_object ();
    json_object_set_new (body, "client_id", json_string (ctx->client->client_id));
    for (const char *const *name = passed; *name; name++)
        json_object_set_new (body, *name, json_string (s_param (ctx->request, *name)));
    pst_msg_t *answer = authn_mfa_call (ctx->worker, ctx->request, ctx->reply, op, &body);
    if (!answer)
        return -1;
    if (pst_msg_is_error (answer)) {
        authn_mfa_relay_error (ctx->reply, answer);
        pst_msg_destroy (&answer);
        return -1;
    }
    const char *user_id = pst_msg_get_str (answer, "user_id");
    const char *client_id = pst_msg_get_str (answer, "client_id");
    authn_user_t *user = user_id? authn_store_user_by_id (ctx->worker->store, user_id): NULL;
    snprintf (ctx->audit.user_id, sizeof ctx->audit.user_id, "%s", user_id? user_id: "");
    user_target_t target = { NULL, NULL, 0, 0, 0, 0 };
    int rc = -1;
    //  Defence in depth: the audience and scope bound to the mfa_token are checked
    //  again here as for a password grant, whatever mfa says, and the token was
    //  the client's own
    if (!user)
        pst_msg_fail (ctx->reply, PST_ERR_INVALID_GRANT, "User not found.");
    else
    if (client_id && strcmp (client_id, ctx->client->client_id) != 0)
        pst_msg_fail (ctx->reply, PST_ERR_INVALID_GRANT, "mfa_token was not issued to this client");
    else
    if (s_user_target (ctx, pst_msg_get_str (answer, "audience"), pst_msg_get_str (answer, "scope"),
                       &target) == 0)
        rc = s_issue_user_tokens (ctx, user, target.audience, target.scope, target.lifetime,
                                  pst_msg_get_int (answer, "auth_time", 0), target.offline);
    s_user_target_free (&target);
    const char *recovery_code = pst_msg_get_str (answer, "recovery_code");
    if (rc == 0 && recovery_code)
        json_object_set_new (pst_msg_body (ctx->reply), "recovery_code", json_string (recovery_code));
    authn_user_destroy (&user);
    pst_msg_destroy (&answer);
    return rc;
}

static int
s_grant_mfa_oob (grant_ctx_t *ctx)
{
    static const char *const passed [] = { "mfa_token", "oob_code", "binding_code", NULL };
    return s_grant_mfa (ctx, "mfa.verify_oob", passed);
}

static int
s_grant_mfa_recovery (grant_ctx_t *ctx)
{
    static const char *const passed [] = { "mfa_token", "recovery_code", NULL };
    return s_grant_mfa (ctx, "mfa.verify_recovery", passed);
}

//  The words of asked that granted holds (all of granted when nothing is
//  asked): a refresh narrows the scope, never widens it. Caller frees.
static char *
s_narrowed (const char *granted, const char *asked)
{
    if (!asked)
        return strdup (granted);
    char *words = pst_scope_normalise (asked);
    char *result = words? (char *) calloc (1, strlen (words) + 1): NULL;
    char *saveptr = NULL;
    for (char *word = result? strtok_r (words, " ", &saveptr): NULL; word;
         word = strtok_r (NULL, " ", &saveptr))
        if (pst_scope_has (granted, word)) {
            if (*result)
                strcat (result, " ");
            strcat (result, word);
        }
    free (words);
    return result;
}

//  The refresh token's user, audience and scope are checked again as for a
//  password grant (the user may be gone, the API may no longer allow offline
//  access); the new tokens are signed before the exchange commits, so a
//  failure leaves the presented token as it was.
static int
s_grant_refresh (grant_ctx_t *ctx)
{
    const char *presented = s_param (ctx->request, "refresh_token");
    authn_refresh_token_t *token = NULL;
    if (authn_refresh_take (ctx->worker, ctx->client->client_id, presented, ctx->issued_at,
                            ctx->reply, &token))
        return -1;
    authn_user_t *user = authn_store_user_by_id (ctx->worker->store, token->user_id);
    snprintf (ctx->audit.user_id, sizeof ctx->audit.user_id, "%s", token->user_id);
    char *scope = s_narrowed (token->scope, s_param (ctx->request, "scope"));
    user_target_t target = { NULL, NULL, 0, 0, 0, 0 };
    int rc = -1;
    if (!scope)
        pst_msg_fail (ctx->reply, PST_ERR_INTERNAL, "Out of memory");
    else
    if (user && s_user_target (ctx, token->audience, scope, &target) == 0) {
        if (target.offline_allowed)
            rc = s_issue_tokens (ctx, user, target.audience, target.scope, target.lifetime,
                                 token->auth_time);
        else
            pst_msg_fail (ctx->reply, PST_ERR_INVALID_GRANT, "Unknown or invalid refresh token.");
    }
    else
    if (!user)
        pst_msg_fail (ctx->reply, PST_ERR_INVALID_GRANT, "Unknown or invalid refresh token.");
    if (rc == 0)
        rc = authn_refresh_rotate (ctx->worker, presented, token, ctx->issued_at, ctx->reply);
    else
        authn_refresh_abandon (ctx->worker);
    s_user_target_free (&target);
    free (scope);
    authn_user_destroy (&user);
    authn_refresh_token_destroy (&token);
    return rc;
}

static int
s_grant_mfa_otp (grant_ctx_t *ctx)
{
    static const char *const passed [] = { "mfa_token", "otp", NULL };
    return s_grant_mfa (ctx, "mfa.verify_otp", passed);
}

static int
s_grant_not_built (grant_ctx_t *ctx)
{
    return pst_msg_fail (ctx->reply, PST_ERR_UNSUPPORTED_GRANT_TYPE,
                         "Unsupported grant type: %s", ctx->grant_type);
}

//  The grants of token.grant, as its catalogue row's sub-table: each grant's
//  required params (pst_catalogue.h's grammar) are checked once the client is
//  known and allowed the grant, before its handler runs.
typedef struct {
    const char *name;
    grant_fn *handler;
    int secret_optional;        //  mfa_token binds the client (contract §2, decided)
    const char *params;
    //  The access token's gty: Auth0 documents "password" and "client-credentials";
    //  after MFA it documents none, so the MFA grant's own name
    const char *gty;
} grant_entry_t;

static const grant_entry_t s_grants [] = {
    { GRANT_PASSWORD,       s_grant_password,           0, "username password", "password" },
    { GRANT_PASSWORD_REALM, s_grant_password,           0, "username password realm", "password" },
    { GRANT_CLIENT_CREDS,   s_grant_client_credentials, 0, "audience", "client-credentials" },
    { GRANT_MFA_OOB,        s_grant_mfa_oob,            1, "mfa_token oob_code binding_code",
      "mfa-oob" },
    { GRANT_MFA_RECOVERY,   s_grant_mfa_recovery,       1, "mfa_token recovery_code",
      "mfa-recovery-code" },
    { GRANT_MFA_OTP,        s_grant_mfa_otp,            1, "mfa_token otp", "mfa-otp" },
    { GRANT_REFRESH,        s_grant_refresh,            0, "refresh_token", "refresh_token" },
    { NULL, NULL, 0, NULL, NULL }
};

json_t *
authn_token_grant_types (void)
{
    json_t *types = json_array ();
    for (const grant_entry_t *entry = s_grants; types && entry->name; entry++)
        if (entry->handler != s_grant_not_built
        &&  json_array_append_new (types, json_string (entry->name))) {
            json_decref (types);
            types = NULL;
        }
    return types;
}

int
authn_token_grant (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    //  Present: the catalogue's row requires it
    const char *grant_type = s_param (request, "grant_type");
    const grant_entry_t *entry = s_grants;
    while (entry->name && strcmp (entry->name, grant_type) != 0)
        entry++;
    if (!entry->name || entry->handler == s_grant_not_built)
        return pst_msg_fail (reply, PST_ERR_UNSUPPORTED_GRANT_TYPE,
                             "Unsupported grant type: %.200s", grant_type);

    grant_ctx_t ctx = { (authn_worker_t *) worker, request, reply, NULL, grant_type, entry->gty,
                        authn_config_now (((authn_worker_t *) worker)->config), { NULL, "", "", "" } };
    ctx.client = authn_clientauth_check (ctx.worker, request, reply, entry->secret_optional);
    int rc = -1;
    if (ctx.client && !authn_client_allows (ctx.client, grant_type))
        pst_msg_fail (reply, PST_ERR_UNAUTHORIZED_CLIENT,
                      "Grant type '%s' not allowed for the client.", grant_type);
    else
    if (ctx.client
    &&  pst_catalogue_check_params (grant_type, PST_API_AUTH, entry->params, request, reply) == 0)
        rc = entry->handler (&ctx);
    //  Every outcome once the grant is known, a failed client authentication too
    if (ctx.client)
        snprintf (ctx.audit.client_id, sizeof ctx.audit.client_id, "%s", ctx.client->client_id);
    authn_audit_grant (ctx.worker->audit, request, reply, grant_type, &ctx.audit,
                       authn_config_now_ms (ctx.worker->config));
    authn_client_destroy (&ctx.client);
    return rc;
}
