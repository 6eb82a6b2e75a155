#include "authn_attempts.h"
#include "pst_clock.h"
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

//  A throttle key is "user:" + 64 hex digits
#define ATTEMPT_KEY_MAX     80

//  One attempt: waiting for its turn, or holding its key. A worker has at
//  most one, so the table never needs more entries than workers.
typedef struct {
    char key [ATTEMPT_KEY_MAX];     //  "" where the entry is free
    uint64_t ticket;                //  the order attempts came in: turns are first come, first served
    int holding;
    //  Each waiter sleeps on its own condition, so an attempt that ends wakes
    //  only the waiters whose turn it gives, not every waiter in the process
    //  (with 16 workers on one user's key, a broadcast woke 14 threads for
    //  each hash, and each went back to sleep but one)
    pthread_cond_t turn;
} s_attempt_t;

struct _authn_attempts_t {
    pthread_mutex_t lock;
    size_t capacity;
    size_t per_key;
    uint64_t tickets;           //  the last ticket given
    s_attempt_t *entries;
};

authn_attempts_t *
authn_attempts_new (size_t capacity, size_t per_key)
{
    authn_attempts_t *self = (authn_attempts_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->capacity = capacity? capacity: 1;
    self->per_key = per_key? per_key: 1;
    self->entries = (s_attempt_t *) calloc (self->capacity, sizeof *self->entries);
    pthread_condattr_t attributes;
    int ready = self->entries && pthread_condattr_init (&attributes) == 0;
    //  The wait is bounded by a request's deadline, which a step of the wall
    //  clock must not stretch or cut
    size_t conditions = 0;
    if (ready) {
        ready = pthread_condattr_setclock (&attributes, CLOCK_MONOTONIC) == 0;
        while (ready && conditions < self->capacity) {
            ready = pthread_cond_init (&self->entries [conditions].turn, &attributes) == 0;
            if (ready)
                conditions++;
        }
        pthread_condattr_destroy (&attributes);
    }
    if (ready && pthread_mutex_init (&self->lock, NULL) != 0)
        ready = 0;
    if (!ready) {
        while (conditions > 0)
            pthread_cond_destroy (&self->entries [--conditions].turn);
        free (self->entries);
        free (self);
        return NULL;
    }
    return self;
}

void
authn_attempts_destroy (authn_attempts_t **self_p)
{
    if (self_p && *self_p) {
        authn_attempts_t *self = *self_p;
        for (size_t index = 0; index < self->capacity; index++)
            pthread_cond_destroy (&self->entries [index].turn);
        pthread_mutex_destroy (&self->lock);
        free (self->entries);
        free (self);
        *self_p = NULL;
    }
}

//  An attempt's turn has come when its key's attempts holding it, and those
//  waiting for it since before this one, leave room for it
static int
s_turn_came (authn_attempts_t *self, const s_attempt_t *attempt)
{
    size_t ahead = 0;
    for (size_t index = 0; index < self->capacity; index++) {
        const s_attempt_t *other = &self->entries [index];
        if (other != attempt && other->key [0] && strcmp (other->key, attempt->key) == 0
        &&  (other->holding || other->ticket < attempt->ticket))
            ahead++;
    }
    return ahead < self->per_key;
}

//  Wakes the waiters under key whose turn has come, after an attempt under
//  it ended or gave up; only that key's turns can have moved. Called with
//  the lock held.
static void
s_wake_turns (authn_attempts_t *self, const char *key)
{
    for (size_t index = 0; index < self->capacity; index++) {
        s_attempt_t *waiter = &self->entries [index];
        if (waiter->key [0] && !waiter->holding && strcmp (waiter->key, key) == 0
        &&  s_turn_came (self, waiter))
            pthread_cond_signal (&waiter->turn);
    }
}

int
authn_attempts_hold (authn_attempts_t *self, const char *key, int64_t wait_ms)
{
    if (!key || !*key || strlen (key) >= ATTEMPT_KEY_MAX)
        return -2;
    struct timespec until = pst_clock_mono_after (wait_ms);
    pthread_mutex_lock (&self->lock);
    s_attempt_t *attempt = NULL;
    for (size_t index = 0; index < self->capacity && !attempt; index++)
        if (self->entries [index].key [0] == '\0')
            attempt = &self->entries [index];
    if (!attempt) {
        pthread_mutex_unlock (&self->lock);
        return -2;
    }
    strcpy (attempt->key, key);
    attempt->ticket = ++self->tickets;
    attempt->holding = 0;
    int timed_out = 0;
    while (!s_turn_came (self, attempt) && !timed_out)
        timed_out = pthread_cond_timedwait (&attempt->turn, &self->lock, &until) == ETIMEDOUT;
    //  Its turn may have come just as the wait ran out
    int rc = s_turn_came (self, attempt)? 0: -1;
    if (rc == 0)
        attempt->holding = 1;
    else {
        //  One that gives up was ahead of others, who may now go
        attempt->key [0] = '\0';
        s_wake_turns (self, key);
    }
    pthread_mutex_unlock (&self->lock);
    return rc;
}

size_t
authn_attempts_waiting (authn_attempts_t *self, const char *key)
{
    size_t count = 0;
    pthread_mutex_lock (&self->lock);
    for (size_t index = 0; key && index < self->capacity; index++) {
        const s_attempt_t *attempt = &self->entries [index];
        if (attempt->key [0] && !attempt->holding && strcmp (attempt->key, key) == 0)
            count++;
    }
    pthread_mutex_unlock (&self->lock);
    return count;
}

void
authn_attempts_release (authn_attempts_t *self, const char *key)
{
    if (!key || !*key)
        return;
    pthread_mutex_lock (&self->lock);
    int found = 0;
    for (size_t index = 0; index < self->capacity && !found; index++) {
        s_attempt_t *attempt = &self->entries [index];
        if (attempt->holding && strcmp (attempt->key, key) == 0) {
            attempt->key [0] = '\0';
            attempt->holding = 0;
            found = 1;
        }
    }
    if (found)
        s_wake_turns (self, key);
    pthread_mutex_unlock (&self->lock);
}

size_t
authn_attempts_per_key (long cores, int max_failures)
{
    size_t per_key = cores > 0? (size_t) cores: 1;
    size_t half = max_failures > 1? (size_t) (max_failures / 2): 1;
    if (per_key > half)
        per_key = half;
    return per_key? per_key: 1;
}
