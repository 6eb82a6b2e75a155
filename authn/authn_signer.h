/*  authn_signer - a worker's signing key and key set, kept in step with the
    store.

    Loading a key costs more than a signature with it, so a worker keeps the
    current key loaded, and the JWKS built, and asks the store before each use
    only for the keys' generation (one row read). When a rotation, by any
    worker or process, has moved it, the worker loads the new current key and
    key set: every worker signs with the new key from its next token on. A
    reload that fails keeps what the worker had, which is still published.
*/
#ifndef AUTHN_SIGNER_H_INCLUDED
#define AUTHN_SIGNER_H_INCLUDED

#include "authn_store.h"
#include "pst_jwt.h"

typedef struct _authn_signer_t authn_signer_t;

//  An empty signer; the first refresh loads it. NULL when out of memory.
authn_signer_t *
    authn_signer_new (void);
void
    authn_signer_destroy (authn_signer_t **self_p);

//  Reloads from store when the keys' generation moved since the last load.
//  0 when a current key is held, -1 when none could ever be loaded.
int
    authn_signer_refresh (authn_signer_t *self, authn_store_t *store);

//  The current key as of the last refresh; NULL before one succeeded.
const pst_jwt_signer_t *
    authn_signer_current (const authn_signer_t *self);

//  The published keys as of the last refresh, {"keys": [current, next,
//  previous?]} with their certificates (x5c, x5t); owned by the signer.
const json_t *
    authn_signer_jwks (const authn_signer_t *self);

//  The generation of what the signer holds (-1 before the first load).
int64_t
    authn_signer_generation (const authn_signer_t *self);

#endif
