/*  authn_attempts - the sign-in attempts this process has in flight, at most
    a few per throttle key at a time.

    The throttle counts an attempt from before its password is checked
    (authn_throttle), so parallel attempts of one user from one address could
    use up the limit while all of them held the right password: with more
    workers than POSTERN_LOGIN_MAX_FAILURES, a burst of correct sign-ins got
    429. Here the attempts under one key beyond per_key wait for one of them to
    end, so how many are counted at once no longer depends on the worker count.
*/
#ifndef AUTHN_ATTEMPTS_H_INCLUDED
#define AUTHN_ATTEMPTS_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

typedef struct _authn_attempts_t authn_attempts_t;

//  Room for capacity attempts at once (one per worker, since a worker holds at
//  most one), of which at most per_key (at least 1) under one key. NULL on
//  failure.
authn_attempts_t *
    authn_attempts_new (size_t capacity, size_t per_key);
void
    authn_attempts_destroy (authn_attempts_t **self_p);

//  Waits its turn, for at most wait_ms, then holds key: turns are first come,
//  first served, and an attempt's turn comes when fewer than per_key attempts
//  hold key or wait for it since before this one. 0; -1 when the wait ran out;
//  -2 when key is empty or too long or (a caller's bug) the table is full.
int
    authn_attempts_hold (authn_attempts_t *self, const char *key, int64_t wait_ms);

//  How many attempts wait for their turn under key (for tests: a waiter has
//  reached its wait)
size_t
    authn_attempts_waiting (authn_attempts_t *self, const char *key);

//  Ends one attempt that holds key, and wakes those waiting for it.
void
    authn_attempts_release (authn_attempts_t *self, const char *key);

//  How many attempts of one user key may be in flight in one authn process:
//  one per core (argon2id runs no more at once), but never more than half of
//  max_failures, so that a burst of right passwords cannot use up the limit
//  before any failure was counted. At least 1.
size_t
    authn_attempts_per_key (long cores, int max_failures);

#endif
