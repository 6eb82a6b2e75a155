/*  authn_oidc - OpenID Connect: what a user's claims are for the scopes a
    token holds (the id_token's and /userinfo's), and GET|POST /userinfo.

    Claims are only what authn.db holds of a database user, named and derived
    as Auth0 does for one: `profile` gives `name` (the address, Auth0's
    default for a database user), `nickname` (the address's local part) and
    `updated_at` (ISO 8601, as Auth0 writes it); `email` gives `email` and
    `email_verified`. Nothing is made up: Postern keeps no picture, so there
    is no `picture`.
*/
#ifndef AUTHN_OIDC_H_INCLUDED
#define AUTHN_OIDC_H_INCLUDED

#include "authn_store.h"
#include "pst_msg.h"

//  Adds to claims the claims of user that scope (space separated) asks for,
//  as above; `sub` and `openid` are the caller's business. 0, or -1 when out
//  of memory.
int
    authn_oidc_user_claims (json_t *claims, const authn_user_t *user, const char *scope);

//  userinfo.get and userinfo.post: the claims of the caller (the envelope's
//  sub, whose token the gateway verified for /userinfo) for its scopes;
//  invalid_token when that user is gone.
int
    authn_oidc_userinfo (void *worker, const pst_msg_t *request, pst_msg_t *reply);

#endif
