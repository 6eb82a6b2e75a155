/*  gw_fetch - what the gateway keeps fetching from authn for its requests:
    the key set (gw_keys), the revoked tokens (gw_revocations) and the CORS
    origins (gw_cors).

    It lives in the gateway's loop and sends on the loop's authn socket: the
    key set at start, every 5 minutes, and when asked (a token with an unknown
    kid, at most every keys_min_interval_ms unless no key set was ever loaded;
    or a rotation, which waits for a fetch that starts after it); the
    revocation list and the origin set at start and a second after each fetch
    ends, page by page, installed whole once the last page is in. A fetch that
    fails (authn down or silent) keeps what the gateway has. At most one
    request per kind is in flight; whoever waits on a fetch hears when it is
    over, whatever came of it.
*/
#ifndef GW_FETCH_H_INCLUDED
#define GW_FETCH_H_INCLUDED

#include "gw_cors.h"
#include "gw_keys.h"
#include "gw_revocations.h"
#include "pst_msg.h"
#include <czmq.h>
#include <stdbool.h>

#define GW_FETCH_KEYS_REFRESH_MS        (5 * 60 * 1000)
#define GW_FETCH_REVOCATIONS_POLL_MS    1000
#define GW_FETCH_ORIGINS_POLL_MS        1000

typedef struct _gw_fetch_t gw_fetch_t;

//  What a waiter hears, once, when its fetch is over (or the fetcher ends).
typedef void (gw_fetch_done_fn) (void *arg);

//  What a waiter waits for
typedef enum {
    GW_FETCH_KEYS,              //  a fresh key set (an unknown kid)
    GW_FETCH_KEYS_RENEW,        //  a key fetch that starts after this call
    GW_FETCH_REVOCATIONS        //  the first revocation list
} gw_fetch_wait_t;

//  A fetcher sending on authn (borrowed: the loop's DEALER, which must
//  outlive it), each request with timeout_ms, keeping keys, revocations and
//  cors (borrowed) current. NULL when out of memory.
gw_fetch_t *
    gw_fetch_new (zsock_t *authn, int timeout_ms, int keys_min_interval_ms,
                  gw_keys_t *keys, gw_revocations_t *revocations, gw_cors_t *cors);

//  Ends the fetches: their waiters hear, what they hold is freed.
void
    gw_fetch_destroy (gw_fetch_t **self_p);

//  Starts every fetch: at the loop's start.
void
    gw_fetch_start (gw_fetch_t *self);

//  done (arg) once what is waited for is there or its fetch is over; at once
//  when nothing needs fetching (a recent key fetch, a list already installed).
//  0, or -1 when out of memory (done is not called).
int
    gw_fetch_wait (gw_fetch_t *self, gw_fetch_wait_t what, gw_fetch_done_fn *done, void *arg);

//  1 when reply (from authn) answers a fetch, which then takes it; else 0.
int
    gw_fetch_reply (gw_fetch_t *self, pst_msg_t **reply_p);

//  The fetches' deadlines, retries and next starts at now (monotonic ms);
//  returns the sooner of next and the ms until a fetch needs a look again.
int64_t
    gw_fetch_tick (gw_fetch_t *self, int64_t now, int64_t next);

//  Whether a fetch sent on authn since the last call: the loop then reads
//  authn before it waits, since a send may take the socket's commands.
bool
    gw_fetch_sent (gw_fetch_t *self);

#endif
