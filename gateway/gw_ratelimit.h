/*  gw_ratelimit - the Management API's rate limit: a token bucket per caller,
    shared by the gateway's requests, behind Auth0's x-ratelimit-* headers.

    Every request to /api/v2/ takes one token from one bucket: its client's
    (the verified access token's azp, else its sub) once the token verifies,
    else its client address's, so that requests without a good token are
    limited too. A bucket holds up to limit tokens and gains per_second tokens
    a second; an empty bucket refuses the request (429 too_many_requests), and
    a refused request takes nothing.

    What a take reports is what the headers say, for the bucket the request
    was counted against: x-ratelimit-limit the bucket's size,
    x-ratelimit-remaining the whole tokens left after this request, and
    x-ratelimit-reset the Unix second by which the bucket is full again; a
    refusal adds Retry-After, the seconds until a token is there (Auth0's SDKs
    wait that long before they retry).

    Buckets live in this process only: each gateway counts for itself, so N
    gateways admit N times the rate. A bucket back at full size is the same as
    none, and is dropped when room is needed; past max_keys buckets that are
    not full, new callers share one overflow bucket rather than grow memory.
*/
#ifndef GW_RATELIMIT_H_INCLUDED
#define GW_RATELIMIT_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

typedef struct _gw_ratelimit_t gw_ratelimit_t;

typedef struct {
    int refused;                //  1: the bucket was empty, the request is not served
    int limit;                  //  x-ratelimit-limit
    int remaining;              //  x-ratelimit-remaining
    int64_t reset;              //  x-ratelimit-reset, Unix seconds
    int retry_after;            //  seconds, when refused
} gw_ratelimit_take_t;

//  Buckets of limit tokens filling at per_second tokens a second (both at
//  least 1), at most max_keys of them. NULL when out of memory or given
//  values out of range.
gw_ratelimit_t *
    gw_ratelimit_new (int limit, int per_second, size_t max_keys);

void
    gw_ratelimit_destroy (gw_ratelimit_t **self_p);

//  Takes a token from key's bucket and reports it in *take. Buckets fill on
//  mono_ms, a monotonic clock (one that goes back adds nothing), so that a
//  wall clock stepped back does not stop them filling for as long; unix_ms,
//  the wall clock, only dates x-ratelimit-reset. Thread-safe.
void
    gw_ratelimit_take (gw_ratelimit_t *self, const char *key, int64_t mono_ms, int64_t unix_ms,
                       gw_ratelimit_take_t *take);

//  Buckets held (for tests).
size_t
    gw_ratelimit_size (gw_ratelimit_t *self);

#endif
