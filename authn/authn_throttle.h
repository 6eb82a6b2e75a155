/*  authn_throttle - sign-in throttling for the password grants (authn/README.md).

    Each attempt counts under two keys: the username (case-folded) with the
    client address, and the address alone, against one password sprayed over
    many accounts. Both are hashed, so unknown usernames are never kept in
    clear. An attempt is counted before its password is checked, and refused
    with 429 too_many_attempts while either key is at its limit. Attempts
    under one user key take turns within a process, a few at once
    (authn_attempts), so a burst of correct sign-ins is not refused for the
    attempts in flight.
*/
#ifndef AUTHN_THROTTLE_H_INCLUDED
#define AUTHN_THROTTLE_H_INCLUDED

#include "authn_worker.h"
#include "pst_msg.h"
#include <stddef.h>
#include <stdint.h>

//  One sign-in attempt's keys
typedef struct {
    char user [80];             //  "user:" + SHA-256 of username and address
    char ip [80];               //  "ip:" + SHA-256 of the address
    int64_t ip_window;          //  start of the window the address attempt was counted in
} authn_throttle_keys_t;

//  Fills keys for username signing in from ip (as the gateway reports it).
void
    authn_throttle_keys (authn_throttle_keys_t *keys, const char *username, const char *ip);

//  Begins an attempt: once its turn under the user key has come in this
//  process (authn_attempts: a few at once, in arrival order), counts it under
//  both keys, or refuses it when either is at its limit. 0 counted, and the
//  attempt must then end with authn_throttle_succeeded or
//  authn_throttle_failed; or -1 after failing reply (429 with retry_after and
//  rate_limit; 503 when half the request's remaining time passed before its
//  turn came; 500). client_id is for the log.
int
    authn_throttle_reserve (authn_worker_t *worker, authn_throttle_keys_t *keys,
                            const pst_msg_t *request, pst_msg_t *reply, const char *client_id);

//  The right password: forgets the user key, gives the address its attempt
//  back, and ends the attempt.
void
    authn_throttle_succeeded (authn_worker_t *worker, const authn_throttle_keys_t *keys);

//  The wrong password (or an unknown user): ends the attempt; the count stands
//  as the failure.
void
    authn_throttle_failed (authn_worker_t *worker, const authn_throttle_keys_t *keys);

//  The client address the keys count under, written to address: an IPv4
//  address as itself, also when written IPv4-mapped (::ffff:a.b.c.d), and an
//  IPv6 address as its /64 network ("2001:db8:1:2::/64"), since one host is
//  commonly given a whole /64 and could rotate through it. Anything else (no
//  address, one with a zone) is copied unchanged. 0, or -1 when it does not fit
//  in size.
int
    authn_throttle_address (const char *ip, char *address, size_t size);

#endif
