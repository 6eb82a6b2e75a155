/*  pst_jwt - RS256 JSON Web Tokens (RFC 7519) and key sets (RFC 7517).

    Signing keys are RSA 2048 PEM strings. The algorithm is pinned: a token whose
    header says anything but {"alg":"RS256"} with a known kid is refused (RFC 8725).
*/
#ifndef PST_JWT_H_INCLUDED
#define PST_JWT_H_INCLUDED

#include <jansson.h>
#include <stdint.h>

//  A new RSA private key in PEM (PKCS#8); caller frees. NULL on failure.
char *
    pst_jwt_generate_key_pem (int bits);

//  Key id: base64url of the SHA-256 of the public key's DER, truncated to 16 bytes.
//  Caller frees.
char *
    pst_jwt_key_id (const char *private_pem);

//  Public JWK of a private key: {"kty":"RSA","use":"sig","alg":"RS256","kid","n","e"}.
json_t *
    pst_jwt_public_jwk (const char *private_pem, const char *kid);

//  Signs claims into a compact JWS with header {"alg":"RS256","typ":typ,"kid":kid}.
//  Caller frees. NULL on failure.
char *
    pst_jwt_sign (const char *private_pem, const char *kid, const char *typ,
                  const json_t *claims);

//  A signing key loaded once, for a service that signs many tokens: loading
//  the PEM costs more than a signature. kid NULL: derived as pst_jwt_key_id does.
//  NULL when the PEM is not an RSA private key of 2048 to 8192 bits.
typedef struct _pst_jwt_signer_t pst_jwt_signer_t;

pst_jwt_signer_t *
    pst_jwt_signer_new (const char *private_pem, const char *kid);
void
    pst_jwt_signer_destroy (pst_jwt_signer_t **self_p);
const char *
    pst_jwt_signer_kid (const pst_jwt_signer_t *self);
//  The public JWK, as pst_jwt_public_jwk gives it; owned by the signer.
const json_t *
    pst_jwt_signer_jwk (const pst_jwt_signer_t *self);
//  As pst_jwt_sign, with the signer's key and kid. Caller frees. NULL on failure.
char *
    pst_jwt_signer_sign (const pst_jwt_signer_t *self, const char *typ, const json_t *claims);

//  Verification key set, built from a JWKS document ({"keys":[...]}).
typedef struct _pst_jwks_t pst_jwks_t;

pst_jwks_t *
    pst_jwks_new (const json_t *jwks);
void
    pst_jwks_destroy (pst_jwks_t **self_p);
size_t
    pst_jwks_size (pst_jwks_t *self);

//  Verifies signature, pinned alg, kid, no `crit` header, then exp (required, with
//  leeway_s), nbf when present, iss and aud
//  (aud may be a string or array in the token). Returns the claims (caller owns)
//  or NULL; *reason_p (if given) gets a short static reason for logs.
json_t *
    pst_jwt_verify (pst_jwks_t *keys, const char *token, const char *issuer,
                    const char *audience, int64_t now, int leeway_s,
                    const char **reason_p);

#endif
