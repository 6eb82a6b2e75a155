/*  gw_keys - the token verification keys, shared by the gateway's requests.

    The gateway's loop fetches authn's JWKS and installs it here; requests verify
    bearer tokens against whatever set is current, and serve the document itself
    (GET /.well-known/jwks.json costs no bus round trip). A token naming a kid the set
    does not hold is reported, so the caller can ask for a refresh (key rotation).
*/
#ifndef GW_KEYS_H_INCLUDED
#define GW_KEYS_H_INCLUDED

#include <jansson.h>
#include <stddef.h>

#define GW_KEYS_LEEWAY_S    30

typedef struct _gw_keys_t gw_keys_t;

gw_keys_t *
    gw_keys_new (void);
void
    gw_keys_destroy (gw_keys_t **self_p);

//  Installs the keys of a JWKS document. 0, or -1 when it is unusable (the
//  previous set stays).
int
    gw_keys_update (gw_keys_t *self, const json_t *jwks);

//  The JWKS document of the current set, as the gateway serves it (compact
//  JSON; caller frees), or NULL before the first set.
char *
    gw_keys_document (gw_keys_t *self);

//  Keys in the current set.
size_t
    gw_keys_size (gw_keys_t *self);

//  Verifies token (RS256, exp, iss, aud); claims (caller owns) or NULL with a
//  static *reason_p. *unknown_kid_p is 1 when the token's kid is not in the set.
json_t *
    gw_keys_verify (gw_keys_t *self, const char *token, const char *issuer,
                    const char *audience, const char **reason_p, int *unknown_kid_p);

//  True when token has the shape of a compact JWS: three base64url parts.
int
    gw_keys_is_jwt (const char *token);

//  The kid of a compact JWS header; caller frees; NULL when absent or unreadable.
char *
    gw_keys_token_kid (const char *token);

#endif
