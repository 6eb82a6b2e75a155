#include "gw_auth.h"
#include "gw_body.h"
#include "gw_response.h"
#include "pst_error.h"
#include "pst_json.h"
#include "pst_log.h"
#include "pst_scope.h"
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_CREDENTIAL_SIZE 8192
#define MAX_CALLER_SIZE     256     //  the envelope's limits (docs/protocol.md)
#define MAX_SCOPES_SIZE     4096

struct _gw_auth_context_t {
    gw_keys_t *keys;
    gw_revocations_t *revocations;  //  or NULL
    char *issuer;               //  https://{domain}/
    char *mgmt_audience;        //  https://{domain}/api/v2/
    char *mfa_audience;         //  https://{domain}/mfa/
    char *userinfo_audience;    //  https://{domain}/userinfo
};

static char *
s_url (const char *domain, const char *path)
{
    char *url = NULL;
    if (asprintf (&url, "https://%s/%s", domain, path) < 0)
        return NULL;
    return url;
}

gw_auth_context_t *
gw_auth_context_new (gw_keys_t *keys, gw_revocations_t *revocations, const char *domain)
{
    gw_auth_context_t *self = (gw_auth_context_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->keys = keys;
    self->revocations = revocations;
    self->issuer = s_url (domain, "");
    self->mgmt_audience = s_url (domain, "api/v2/");
    self->mfa_audience = s_url (domain, "mfa/");
    self->userinfo_audience = s_url (domain, "userinfo");
    if (!self->issuer || !self->mgmt_audience || !self->mfa_audience || !self->userinfo_audience)
        gw_auth_context_destroy (&self);
    return self;
}

void
gw_auth_context_destroy (gw_auth_context_t **self_p)
{
    if (self_p && *self_p) {
        gw_auth_context_t *self = *self_p;
        free (self->issuer);
        free (self->mgmt_audience);
        free (self->mfa_audience);
        free (self->userinfo_audience);
        free (self);
        *self_p = NULL;
    }
}

void
gw_auth_verdict_clear (gw_auth_verdict_t *verdict)
{
    free (verdict->caller);
    free (verdict->scopes);
    free (verdict->caller_client);
    memset (verdict, 0, sizeof *verdict);
}

//  ---------------------------------------------------------------------------
//  Authorization headers

int
gw_auth_basic_credentials (const char *header, char **client_id_p, char **client_secret_p)
{
    *client_id_p = NULL;
    *client_secret_p = NULL;
    if (!header || strncasecmp (header, "Basic ", 6) != 0)
        return -1;
    const char *encoded = header + 6;
    while (*encoded == ' ')
        encoded++;
    size_t size = strlen (encoded);
    while (size > 0 && encoded [size - 1] == ' ')
        size--;
    if (size == 0 || size > MAX_CREDENTIAL_SIZE)
        return -1;
    unsigned char *decoded = (unsigned char *) malloc (size);
    size_t decoded_size = 0;
    int rc = decoded? 0: -1;
    if (rc == 0
    &&  sodium_base642bin (decoded, size, encoded, size, NULL, &decoded_size, NULL,
                           sodium_base64_VARIANT_ORIGINAL) != 0
    &&  sodium_base642bin (decoded, size, encoded, size, NULL, &decoded_size, NULL,
                           sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0)
        rc = -1;
    const unsigned char *colon = rc == 0? memchr (decoded, ':', decoded_size): NULL;
    if (colon) {
        size_t id_size = (size_t) (colon - decoded);
        *client_id_p = gw_body_form_decode ((const char *) decoded, id_size, NULL);
        *client_secret_p = gw_body_form_decode ((const char *) colon + 1,
                                                decoded_size - id_size - 1, NULL);
    }
    if (!*client_id_p || !**client_id_p || !*client_secret_p) {
        free (*client_id_p);
        if (*client_secret_p)
            sodium_memzero (*client_secret_p, strlen (*client_secret_p));
        free (*client_secret_p);
        *client_id_p = NULL;
        *client_secret_p = NULL;
        rc = -1;
    }
    if (decoded)
        sodium_memzero (decoded, size);
    free (decoded);
    return rc;
}

char *
gw_auth_bearer_token (const char *header)
{
    if (!header || strncasecmp (header, "Bearer ", 7) != 0)
        return NULL;
    const char *token = header + 7;
    while (*token == ' ')
        token++;
    size_t size = strlen (token);
    while (size > 0 && token [size - 1] == ' ')
        size--;
    //  Wider than RFC 6750's b64token on purpose: Auth0's own mfa_tokens
    //  ("Fe26.2**...") hold '*'. Visible ASCII cannot hurt the JSON it goes into.
    for (size_t i = 0; i < size; i++)
        if (token [i] < 0x21 || token [i] > 0x7e)
            return NULL;
    if (size == 0 || size > MAX_CREDENTIAL_SIZE)
        return NULL;
    return strndup (token, size);
}

//  ---------------------------------------------------------------------------
//  Verdicts

static gw_verdict_t
s_refuse (gw_auth_verdict_t *verdict, int status, const char *code, const char *challenge,
          const char *format, ...)
{
    gw_auth_verdict_clear (verdict);
    verdict->outcome = GW_VERDICT_REFUSED;
    verdict->status = status;
    verdict->code = code;
    verdict->challenge = challenge;
    va_list args;
    va_start (args, format);
    vsnprintf (verdict->message, sizeof verdict->message, format, args);
    va_end (args);
    return verdict->outcome;
}

//  401 with the RFC 6750 challenge, so clients know a bearer token is wanted.
static gw_verdict_t
s_refuse_bearer (gw_auth_verdict_t *verdict, const char *message)
{
    return s_refuse (verdict, 401, PST_ERR_INVALID_TOKEN, GW_RESPONSE_CHALLENGE_BEARER,
                     "%s", message);
}

//  Takes sub, scope and azp from verified claims; scope may be a string or an
//  array. azp is only told on (the audit's client_id): without one, or with one
//  the envelope cannot carry, the request goes on without it.
static int
s_set_caller (gw_auth_verdict_t *verdict, json_t *claims)
{
    const char *sub = json_string_value (json_object_get (claims, "sub"));
    json_t *scope = json_object_get (claims, "scope");
    if (!sub || !*sub || strlen (sub) > MAX_CALLER_SIZE)
        return -1;
    char scopes [MAX_SCOPES_SIZE + 1] = "";
    size_t used = 0;
    if (json_is_string (scope))
        used = (size_t) snprintf (scopes, sizeof scopes, "%s", json_string_value (scope));
    else {
        size_t index;
        json_t *item;
        json_array_foreach (scope, index, item) {
            if (json_is_string (item) && used < sizeof scopes)
                used += (size_t) snprintf (scopes + used, sizeof scopes - used, "%s%s",
                                           used? " ": "", json_string_value (item));
        }
    }
    if (used > MAX_SCOPES_SIZE)
        return -1;
    verdict->caller = strdup (sub);
    verdict->scopes = strdup (scopes);
    const char *azp = json_string_value (json_object_get (claims, "azp"));
    verdict->caller_client = azp && *azp && strlen (azp) <= MAX_CALLER_SIZE? strdup (azp): NULL;
    return verdict->caller && verdict->scopes? 0: -1;
}

//  1 when a revocation covers the verified claims: their client is azp and,
//  for a machine token, sub without "@clients" too; a token without a usable
//  iat counts as issued before any revocation.
static int
s_revoked (gw_auth_context_t *self, json_t *claims, const char *audience)
{
    json_t *iat_claim = json_object_get (claims, "iat");
    double iat_value = json_is_number (iat_claim)? json_number_value (iat_claim): 0;
    int64_t iat = iat_value > 0 && iat_value < 1e15? (int64_t) iat_value: 0;
    const char *azp = json_string_value (json_object_get (claims, "azp"));
    if (gw_revocations_covers (self->revocations, azp, audience, iat))
        return 1;
    const char *sub = json_string_value (json_object_get (claims, "sub"));
    const char *suffix = "@clients";
    size_t length = sub? strlen (sub): 0, suffix_length = strlen (suffix);
    if (length <= suffix_length || strcmp (sub + length - suffix_length, suffix) != 0)
        return 0;
    char *client_id = strndup (sub, length - suffix_length);
    //  Out of memory: the token is refused rather than let through unchecked
    int revoked = !client_id || gw_revocations_covers (self->revocations, client_id, audience, iat);
    free (client_id);
    return revoked;
}

//  Verifies token for audience and takes its caller, then the route's scope.
//  machine says which tokens may act here: client-credentials ones (the
//  Management API administers the tenant) or user ones (the MFA API acts for
//  a user, and a machine token has none to act for). An unknown kid waits for
//  fresh keys once; a good token waits once for the first revocation list.
static gw_verdict_t
s_token_caller (gw_auth_context_t *self, const gw_route_t *route, const char *token,
                const char *audience, int machine, const char *invalid, int may_wait,
                const char *client_ip, gw_auth_verdict_t *verdict)
{
    const char *reason = NULL;
    int unknown_kid = 0;
    json_t *claims = gw_keys_verify (self->keys, token, self->issuer, audience,
                                     &reason, &unknown_kid);
    if (!claims && unknown_kid && (may_wait & GW_AUTH_WAIT_KEYS))
        return verdict->outcome = GW_VERDICT_WAIT_KEYS;
    if (!claims)
        pst_log (PST_LOG_INFO, "bearer_rejected", "reason", reason, "ip", client_ip, NULL);
    const char *grant = json_string_value (json_object_get (claims, "gty"));
    int is_machine = grant && strcmp (grant, "client-credentials") == 0;
    int accepted = claims && is_machine == machine && s_set_caller (verdict, claims) == 0;
    int unknown = accepted && self->revocations && !gw_revocations_loaded (self->revocations);
    int revoked = accepted && !unknown && self->revocations && s_revoked (self, claims, audience);
    json_decref (claims);
    if (!accepted)
        return s_refuse_bearer (verdict, invalid);
    if (unknown && (may_wait & GW_AUTH_WAIT_REVOCATIONS)) {
        gw_auth_verdict_clear (verdict);
        return verdict->outcome = GW_VERDICT_WAIT_REVOCATIONS;
    }
    //  Fail closed: without the list a deleted client's token would pass
    if (unknown)
        return s_refuse (verdict, 503, PST_ERR_UNAVAILABLE, NULL,
                         "The list of revoked tokens has not been received from authn yet");
    if (revoked) {
        pst_log (PST_LOG_INFO, "bearer_revoked", "client_id", verdict->caller_client,
                 "caller", verdict->caller, "ip", client_ip, NULL);
        return s_refuse_bearer (verdict, "The access token was revoked");
    }
    if (route->scope && !pst_scope_has_any (verdict->scopes, route->scope))
        return s_refuse (verdict, 403, PST_ERR_INSUFFICIENT_SCOPE, NULL,
                         "Insufficient scope, expected any of: %s", route->scope);
    return verdict->outcome = GW_VERDICT_OK;
}

//  ---------------------------------------------------------------------------
//  The auth kinds

//  HTTP Basic client credentials join the body (RFC 6749 §2.3.1); a client
//  must use one method only, so conflicting credentials are refused.
static gw_verdict_t
s_client (const char *authorization, json_t *params, gw_auth_verdict_t *verdict)
{
    if (!authorization || strncasecmp (authorization, "Basic ", 6) != 0)
        return verdict->outcome = GW_VERDICT_OK;
    char *client_id = NULL, *client_secret = NULL;
    if (gw_auth_basic_credentials (authorization, &client_id, &client_secret) != 0)
        return s_refuse (verdict, 401, PST_ERR_INVALID_CLIENT, NULL,
                         "Malformed Basic authorization header");
    const char *body_id = pst_json_str (params, "client_id");
    if (body_id && strcmp (body_id, client_id) != 0)
        s_refuse (verdict, 400, PST_ERR_INVALID_REQUEST, NULL,
                  "client_id does not match the Authorization header");
    else
    if (pst_json_str (params, "client_secret"))
        s_refuse (verdict, 400, PST_ERR_INVALID_REQUEST, NULL,
                  "Client credentials sent twice: use HTTP Basic or the body, not both");
    else {
        json_object_set_new (params, "client_id", json_string (client_id));
        if (*client_secret)
            json_object_set_new (params, "client_secret", json_string (client_secret));
        verdict->outcome = GW_VERDICT_OK;
    }
    free (client_id);
    sodium_memzero (client_secret, strlen (client_secret));
    free (client_secret);
    return verdict->outcome;
}

static gw_verdict_t
s_mgmt (gw_auth_context_t *self, const gw_route_t *route, const char *authorization,
        int may_wait, const char *client_ip, gw_auth_verdict_t *verdict)
{
    char *token = gw_auth_bearer_token (authorization);
    if (!token)
        return s_refuse_bearer (verdict, "Missing authentication");
    //  Only machine tokens administer the tenant, whatever their audience says
    s_token_caller (self, route, token, self->mgmt_audience, 1, "Invalid token",
                    may_wait, client_ip, verdict);
    free (token);
    return verdict->outcome;
}

//  An mfa_token (opaque) travels to mfa in the body when the route takes one;
//  an access token for the /mfa/ audience is verified here and becomes the caller.
static gw_verdict_t
s_mfa_bearer (gw_auth_context_t *self, const gw_route_t *route, const char *authorization,
              json_t *params, int may_wait, const char *client_ip, gw_auth_verdict_t *verdict)
{
    char *token = gw_auth_bearer_token (authorization);
    if (!token)
        return s_refuse_bearer (verdict, "Missing Authorization: Bearer token");
    int jwt = gw_keys_is_jwt (token);
    if (route->auth == GW_AUTH_MFA_TOKEN && jwt)
        //  Said plainly, so nobody mistakes a valid access token for a bad one
        s_refuse (verdict, 403, PST_ERR_ACCESS_DENIED, NULL,
                  "Enrolling with an access token is not supported yet: use the mfa_token "
                  "from the mfa_required error");
    else
    if (!jwt && route->auth == GW_AUTH_MFA_ACCESS)
        //  Routes that change a user's authenticators want proof of a finished
        //  sign-in (contract §5): an mfa_token only shows a password was right
        s_refuse_bearer (verdict, "An access token for the MFA API is required");
    else
    if (!jwt) {
        json_object_set_new (params, "mfa_token", json_string (token));
        verdict->outcome = GW_VERDICT_OK;
    }
    else
    if (s_token_caller (self, route, token, self->mfa_audience, 0,
                        "Invalid or expired access token", may_wait, client_ip,
                        verdict) == GW_VERDICT_OK)
        //  One credential per request: the verified token, not a body mfa_token
        json_object_del (params, "mfa_token");
    free (token);
    return verdict->outcome;
}

//  /userinfo wants a user's access token that names it among its audiences
//  (Auth0's, when openid was asked) and holds openid; an mfa_token proves no
//  sign-in, and a machine token has no user to describe.
static gw_verdict_t
s_userinfo (gw_auth_context_t *self, const gw_route_t *route, const char *authorization,
            int may_wait, const char *client_ip, gw_auth_verdict_t *verdict)
{
    char *token = gw_auth_bearer_token (authorization);
    if (!token)
        return s_refuse_bearer (verdict, "Missing authentication");
    s_token_caller (self, route, token, self->userinfo_audience, 0, "Invalid token",
                    may_wait, client_ip, verdict);
    free (token);
    if (verdict->outcome == GW_VERDICT_REFUSED && verdict->status == 403)
        verdict->challenge = GW_RESPONSE_CHALLENGE_OPENID;
    return verdict->outcome;
}

gw_verdict_t
gw_auth_check (gw_auth_context_t *self, const gw_route_t *route, const char *authorization,
               json_t *params, int may_wait, const char *client_ip, gw_auth_verdict_t *verdict)
{
    gw_auth_verdict_clear (verdict);
    switch (route->auth) {
        case GW_AUTH_CLIENT:
            return s_client (authorization, params, verdict);
        case GW_AUTH_MGMT:
            return s_mgmt (self, route, authorization, may_wait, client_ip, verdict);
        case GW_AUTH_MFA:
        case GW_AUTH_MFA_ACCESS:
        case GW_AUTH_MFA_TOKEN:
            return s_mfa_bearer (self, route, authorization, params, may_wait, client_ip,
                                 verdict);
        case GW_AUTH_USERINFO:
            return s_userinfo (self, route, authorization, may_wait, client_ip, verdict);
        case GW_AUTH_NONE:
        default:
            return verdict->outcome = GW_VERDICT_OK;
    }
}
