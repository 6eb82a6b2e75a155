#include "authn_keys.h"
#include "authn_worker.h"
#include "pst_error.h"
#include "pst_jwt.h"

int
authn_keys_jwks (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    (void) request;
    authn_worker_t *self = (authn_worker_t *) worker;
    //  A copy: the reply may outlive this call in another thread
    json_t *body = json_pack ("{s:[o]}", "keys", json_deep_copy (pst_jwt_signer_jwk (self->signer)));
    if (!body)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Out of memory");
    pst_msg_set_body (reply, &body);
    return 0;
}

int
authn_keys_discovery (void *worker, const pst_msg_t *request, pst_msg_t *reply)
{
    (void) request;
    const char *issuer = ((authn_worker_t *) worker)->config->issuer;
    //  Only endpoints that answer are advertised: no userinfo or authorize yet
    char token [512], jwks [512], challenge [512];
    snprintf (token, sizeof token, "%soauth/token", issuer);
    snprintf (jwks, sizeof jwks, "%s.well-known/jwks.json", issuer);
    snprintf (challenge, sizeof challenge, "%smfa/challenge", issuer);
    json_t *body = json_pack (
        "{s:s, s:s, s:s, s:s,"
        " s:[s,s,s,s,s], s:[s], s:[s], s:[s], s:[s,s,s], s:[s,s,s], s:[s,s,s,s,s,s,s,s]}",
        "issuer", issuer, "token_endpoint", token, "jwks_uri", jwks,
        "mfa_challenge_endpoint", challenge,
        "grant_types_supported", "password", "http://auth0.com/oauth/grant-type/password-realm",
            "client_credentials", "http://auth0.com/oauth/grant-type/mfa-oob",
            "http://auth0.com/oauth/grant-type/mfa-recovery-code",
        "response_types_supported", "token",
        "subject_types_supported", "public",
        "id_token_signing_alg_values_supported", "RS256",
        "token_endpoint_auth_methods_supported", "client_secret_basic", "client_secret_post", "none",
        "scopes_supported", "openid", "profile", "email",
        "claims_supported", "aud", "email", "email_verified", "exp", "iat", "iss", "sub", "azp");
    if (!body)
        return pst_msg_fail (reply, PST_ERR_INTERNAL, "Could not build the discovery document");
    pst_msg_set_body (reply, &body);
    return 0;
}
