/*  authn_attempts - the sign-in attempts this process has in flight, one per
    throttle key at a time.

    The throttle counts an attempt from before its password is checked
    (authn_throttle), so parallel attempts of one user from one address could
    use up the limit while all of them held the right password: with more
    workers than POSTERN_LOGIN_MAX_FAILURES, a burst of correct sign-ins got
    429. Attempts under the same key here take turns instead, so how many are
    counted at once no longer depends on the worker count. It also keeps a
    guesser from spending more than one argon2id hash at a time on one user.
*/
#ifndef AUTHN_ATTEMPTS_H_INCLUDED
#define AUTHN_ATTEMPTS_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

typedef struct _authn_attempts_t authn_attempts_t;

//  Room for capacity attempts at once: one per worker, since a worker holds at
//  most one. NULL on failure.
authn_attempts_t *
    authn_attempts_new (size_t capacity);
void
    authn_attempts_destroy (authn_attempts_t **self_p);

//  Waits until no other attempt holds key, for at most wait_ms, then holds it.
//  0, or -1 when the wait ran out, key is too long, or (a caller's bug) the
//  table is full.
int
    authn_attempts_hold (authn_attempts_t *self, const char *key, int64_t wait_ms);

//  Ends the attempt that holds key, and wakes those waiting for it.
void
    authn_attempts_release (authn_attempts_t *self, const char *key);

#endif
