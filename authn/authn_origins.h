/*  authn_origins - the origins browsers may call the Authentication API from,
    for the gateway's CORS (gw_cors).

    Each application lists them in web_origins and allowed_origins (Auth0's
    "Allowed Web Origins" and "Allowed Origins (CORS)"); authn_admin checks
    them when they are written. The gateway answers preflights and adds
    Access-Control-Allow-Origin by itself, so it reads the whole set with
    origins.list about once a second, a page at a time, as it reads the
    revocations: no request waits on the bus for CORS.
*/
#ifndef AUTHN_ORIGINS_H_INCLUDED
#define AUTHN_ORIGINS_H_INCLUDED

#include "pst_msg.h"

//  Clients per origins.list answer at most, and the text their origins may
//  reach before a page ends: a client holds at most 2 × 100 origins of 256
//  bytes, so a page stays far under the bus's 256 KiB frame limit
#define AUTHN_ORIGINS_PAGE          500
#define AUTHN_ORIGINS_PAGE_BYTES    (96 * 1024)

//  origins.list: {"after": client_id (optional; "" or absent: from the
//  first)} -> {"clients": [{client_id, origins: [...]}], "next": the last
//  client_id listed, "more": true when another page follows}. Only clients
//  that list origins are listed.
int
    authn_origins_list (void *worker, const pst_msg_t *request, pst_msg_t *reply);

#endif
