#include "authn_attempts.h"
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

//  A throttle key is "user:" + 64 hex digits
#define ATTEMPT_KEY_MAX     80

struct _authn_attempts_t {
    pthread_mutex_t lock;
    pthread_cond_t ended;       //  an attempt was released: waiters look again
    size_t capacity;
    char (*keys) [ATTEMPT_KEY_MAX];     //  "" where the slot is free
};

authn_attempts_t *
authn_attempts_new (size_t capacity)
{
    authn_attempts_t *self = (authn_attempts_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->capacity = capacity? capacity: 1;
    self->keys = calloc (self->capacity, sizeof *self->keys);
    pthread_condattr_t attributes;
    int ready = self->keys && pthread_condattr_init (&attributes) == 0;
    //  The wait is bounded by a request's deadline, which a step of the wall
    //  clock must not stretch or cut
    if (ready) {
        ready = pthread_condattr_setclock (&attributes, CLOCK_MONOTONIC) == 0
             && pthread_cond_init (&self->ended, &attributes) == 0;
        pthread_condattr_destroy (&attributes);
    }
    if (ready && pthread_mutex_init (&self->lock, NULL) != 0) {
        pthread_cond_destroy (&self->ended);
        ready = 0;
    }
    if (!ready) {
        free (self->keys);
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
        pthread_cond_destroy (&self->ended);
        pthread_mutex_destroy (&self->lock);
        free (self->keys);
        free (self);
        *self_p = NULL;
    }
}

//  The slot holding key, or NULL
static char *
s_slot_of (authn_attempts_t *self, const char *key)
{
    for (size_t index = 0; index < self->capacity; index++)
        if (self->keys [index][0] && strcmp (self->keys [index], key) == 0)
            return self->keys [index];
    return NULL;
}

int
authn_attempts_hold (authn_attempts_t *self, const char *key, int64_t wait_ms)
{
    if (!key || !*key || strlen (key) >= ATTEMPT_KEY_MAX)
        return -1;
    struct timespec until;
    clock_gettime (CLOCK_MONOTONIC, &until);
    if (wait_ms > 0) {
        until.tv_sec += (time_t) (wait_ms / 1000);
        until.tv_nsec += (long) (wait_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock (&self->lock);
    int rc = 0;
    while (s_slot_of (self, key) && rc == 0)
        if (pthread_cond_timedwait (&self->ended, &self->lock, &until) == ETIMEDOUT)
            rc = -1;
    //  It may have been released just as the wait ran out
    if (rc == -1 && !s_slot_of (self, key))
        rc = 0;
    if (rc == 0) {
        rc = -1;
        for (size_t index = 0; index < self->capacity && rc == -1; index++)
            if (self->keys [index][0] == '\0') {
                strcpy (self->keys [index], key);
                rc = 0;
            }
    }
    pthread_mutex_unlock (&self->lock);
    return rc;
}

void
authn_attempts_release (authn_attempts_t *self, const char *key)
{
    if (!key)
        return;
    pthread_mutex_lock (&self->lock);
    char *slot = s_slot_of (self, key);
    if (slot)
        slot [0] = '\0';
    pthread_mutex_unlock (&self->lock);
    if (slot)
        pthread_cond_broadcast (&self->ended);
}
