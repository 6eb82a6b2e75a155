#include "authn_discovery.h"
#include "authn_token.h"
#include "authn_worker.h"
#include "pst_catalogue.h"
#include "pst_error.h"
#include <stdio.h>

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
authn_discovery_document (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    (void) request;
    const authn_config_t *config = ((authn_worker_t *) worker)->config;
    const char *issuer = config->issuer;
    char token [512], jwks [512], challenge [512], revoke [512];
    snprintf (token, sizeof token, "%soauth/token", issuer);
    snprintf (revoke, sizeof revoke, "%soauth/revoke", issuer);
    snprintf (jwks, sizeof jwks, "%s.well-known/jwks.json", issuer);
    snprintf (challenge, sizeof challenge, "%smfa/challenge", issuer);
    //  No authorization_endpoint: no grant served here uses one, and RFC 8414
    //  asks for it only then; a client that followed a listed one would meet a
    //  404. So response_types_supported, which names what that endpoint
    //  answers, is empty. revocation_endpoint revokes refresh tokens (the
    //  SDKs find it here). mfa_challenge_endpoint is Auth0's own member.
    json_t *body = json_pack (
        "{s:s, s:s, s:s, s:s, s:s, s:s,"
        " s:o, s:o, s:[], s:[s], s:[s], s:[s,s,s], s:[s,s,s,s,s,s,s,s,s,s,s]}",
        "issuer", issuer, "jwks_uri", jwks, "token_endpoint", token,
        "userinfo_endpoint", config->userinfo, "mfa_challenge_endpoint", challenge,
        "revocation_endpoint", revoke,
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
