/*  authn_keys - the public side of the signing keys: the JWKS.
*/
#ifndef AUTHN_KEYS_H_INCLUDED
#define AUTHN_KEYS_H_INCLUDED

#include "pst_msg.h"

int
    authn_keys_jwks (void *worker, const pst_msg_t *request, pst_msg_t *reply);

#endif
