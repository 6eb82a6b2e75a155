#include "authn_oidc.h"
#include "authn_token.h"
#include "authn_worker.h"
#include "pst_catalogue.h"
#include "pst_error.h"
#include "pst_scope.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
authn_oidc_user_claims (json_t *claims, const authn_user_t *user, const char *scope)
{
    int rc = 0;
    if (pst_scope_has (scope, "profile")) {
        //  Auth0's nickname for a database user: the address up to its '@'
        const char *at = strchr (user->email, '@');
        char *nickname = strndup (user->email, at? (size_t) (at - user->email): strlen (user->email));
        rc |= nickname? 0: -1;
        rc |= json_object_set_new (claims, "nickname", json_string (nickname));
        rc |= json_object_set_new (claims, "name", json_string (user->email));
        if (user->updated_at)
            rc |= json_object_set_new (claims, "updated_at", json_string (user->updated_at));
        free (nickname);
    }
    if (pst_scope_has (scope, "email")) {
        rc |= json_object_set_new (claims, "email", json_string (user->email));
        rc |= json_object_set_new (claims, "email_verified", json_boolean (user->email_verified));
    }
    return rc? -1: 0;
}

int
authn_oidc_userinfo (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    authn_worker_t *self = (authn_worker_t *) worker;
    //  The catalogue's row required openid of the caller's scopes: a caller is there
    const char *user_id = pst_msg_caller (request);
    authn_user_t *user = user_id? authn_store_user_by_id (self->store, user_id): NULL;
    if (!user)
        return pst_msg_fail (reply, PST_ERR_INVALID_TOKEN, "The user of the access token does not exist");
    json_t *claims = json_pack ("{s:s}", "sub", user->user_id);
    int rc = claims? authn_oidc_user_claims (claims, user, pst_msg_scopes (request)): -1;
    authn_user_destroy (&user);
    if (rc) {
        json_decref (claims);
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Out of memory");
    }
    pst_msg_set_body (reply, &claims);
    return 0;
}

//  The members of the scopes list, as a JSON array
static json_t *
s_array_of (const char *const *words)
{
    json_t *array = json_array ();
    for (; array && *words; words++)
        if (json_array_append_new (array, json_string (*words))) {
            json_decref (array);
            array = NULL;
        }
    return array;
}

int
authn_oidc_discovery (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    (void) request;
    const authn_config_t *config = ((authn_worker_t *) worker)->config;
    const char *issuer = config->issuer;
    char token [512], jwks [512], challenge [512];
    snprintf (token, sizeof token, "%soauth/token", issuer);
    snprintf (jwks, sizeof jwks, "%s.well-known/jwks.json", issuer);
    snprintf (challenge, sizeof challenge, "%smfa/challenge", issuer);
    //  No authorization_endpoint: no grant served here uses one, and RFC 8414
    //  asks for it only then; a client that followed a listed one would meet a
    //  404. So response_types_supported, which names what that endpoint
    //  answers, is empty. No revocation_endpoint either: /oauth/revoke is not
    //  served. mfa_challenge_endpoint is Auth0's own member.
    json_t *body = json_pack (
        "{s:s, s:s, s:s, s:s, s:s,"
        " s:o, s:o, s:[], s:[s], s:[s], s:[s,s,s], s:[s,s,s,s,s,s,s,s,s,s,s]}",
        "issuer", issuer, "jwks_uri", jwks, "token_endpoint", token,
        "userinfo_endpoint", config->userinfo, "mfa_challenge_endpoint", challenge,
        "grant_types_supported", authn_token_grant_types (),
        "scopes_supported", s_array_of (pst_catalogue_scopes (PST_SYSTEM_API_USERINFO)),
        "response_types_supported",
        "subject_types_supported", "public",
        "id_token_signing_alg_values_supported", "RS256",
        "token_endpoint_auth_methods_supported", "client_secret_basic", "client_secret_post", "none",
        "claims_supported", "sub", "iss", "aud", "exp", "iat", "auth_time",
        "name", "nickname", "updated_at", "email", "email_verified");
    if (!body)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Could not build the discovery document");
    pst_msg_set_body (reply, &body);
    return 0;
}
