/*  authn_keys - the signing keys: made (with their certificates) at the
    bootstrap, published (the JWKS), listed and rotated (the Management API's
    /api/v2/keys/signing, as Auth0's).

    A key is RSA 2048 with a self-signed certificate (CN the domain, valid ten
    years) that the JWKS carries as x5c, with its SHA-1 thumbprint as x5t.
    Rotation follows Auth0: the next key, published since it was made, becomes
    current and signs from then on; the current one stays published as the
    previous; the previous one is revoked; a new next key is made.
*/
#ifndef AUTHN_KEYS_H_INCLUDED
#define AUTHN_KEYS_H_INCLUDED

#include "authn_config.h"
#include "authn_store.h"
#include "pst_msg.h"

//  Before any worker: makes the current and next keys that are missing, and
//  certificates for published keys made before there were any. 0 or -1.
int
    authn_keys_prepare (authn_store_t *store, const authn_config_t *config);

//  keys.jwks: the published keys, {"keys": [...]}.
int
    authn_keys_jwks (void *worker, const pst_msg_t *request, pst_msg_t *reply);

//  signing_keys.list, signing_keys.get (id = kid), signing_keys.rotate.
int
    authn_keys_list (void *worker, const pst_msg_t *request, pst_msg_t *reply);
int
    authn_keys_get (void *worker, const pst_msg_t *request, pst_msg_t *reply);
int
    authn_keys_rotate (void *worker, const pst_msg_t *request, pst_msg_t *reply);

#endif
