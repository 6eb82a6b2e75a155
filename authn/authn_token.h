/*  authn_token - POST /oauth/token (every grant) and the client authentication
    in front of POST /mfa/challenge.
*/
#ifndef AUTHN_TOKEN_H_INCLUDED
#define AUTHN_TOKEN_H_INCLUDED

#include "pst_msg.h"
#include <stddef.h>

int
    authn_token_grant (void *worker, const pst_msg_t *request, pst_msg_t *reply);
int
    authn_token_mfa_challenge (void *worker, const pst_msg_t *request, pst_msg_t *reply);

//  The client address sign-in throttling counts under, written to address: an
//  IPv4 address as itself, also when written IPv4-mapped (::ffff:a.b.c.d), and
//  an IPv6 address as its /64 network ("2001:db8:1:2::/64"), since one host is
//  commonly given a whole /64 and could rotate through it. Anything else (no
//  address, one with a zone) is copied unchanged. 0, or -1 when it does not fit
//  in size.
int
    authn_token_login_address (const char *ip, char *address, size_t size);

#endif
