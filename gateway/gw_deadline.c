#include "gw_deadline.h"
#include "pst_actor.h"
#include "pst_clock.h"
#include "pst_log.h"
#include <czmq.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

//  How often the watcher looks: a cut comes at most this late
#define TICK_MS     200

struct _gw_deadline_conn_t {
    int fd;
    int64_t until;              //  monotonic ms; 0 while the clock is stopped
    int cut;                    //  shut down already
    gw_deadline_conn_t *prev, *next;
};

struct _gw_deadline_t {
    int64_t window_ms;
    pthread_mutex_t mutex;
    pthread_cond_t wake;        //  signalled to stop the watcher
    pthread_t watcher;
    int stopping;
    gw_deadline_conn_t *head;
};

//  Shuts down the sockets of requests past their deadline; under the mutex, so
//  none of them can have been closed (and its number reused) meanwhile.
static size_t
s_cut_late (gw_deadline_t *self)
{
    int64_t now = zclock_mono ();
    size_t cut = 0;
    for (gw_deadline_conn_t *conn = self->head; conn; conn = conn->next)
        if (conn->until && !conn->cut && now >= conn->until) {
            shutdown (conn->fd, SHUT_RDWR);
            conn->cut = 1;
            cut++;
        }
    return cut;
}

static void *
s_watch (void *arg)
{
    pst_actor_name ("gw-deadline");
    gw_deadline_t *self = (gw_deadline_t *) arg;
    pthread_mutex_lock (&self->mutex);
    while (!self->stopping) {
        size_t cut = s_cut_late (self);
        if (cut > 0) {
            pthread_mutex_unlock (&self->mutex);
            char count [24];
            snprintf (count, sizeof count, "%zu", cut);
            pst_log (PST_LOG_WARN, "http_deadline_cut", "connections", count, NULL);
            pthread_mutex_lock (&self->mutex);
        }
        struct timespec at = pst_clock_mono_after (TICK_MS);
        while (!self->stopping
           &&  pthread_cond_timedwait (&self->wake, &self->mutex, &at) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock (&self->mutex);
    return NULL;
}

gw_deadline_t *
gw_deadline_new (unsigned seconds)
{
    gw_deadline_t *self = (gw_deadline_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->window_ms = (int64_t) seconds * 1000;
    pthread_condattr_t attributes;
    pthread_condattr_init (&attributes);
    pthread_condattr_setclock (&attributes, CLOCK_MONOTONIC);
    pthread_cond_init (&self->wake, &attributes);
    pthread_condattr_destroy (&attributes);
    pthread_mutex_init (&self->mutex, NULL);
    if (pthread_create (&self->watcher, NULL, s_watch, self) != 0) {
        pthread_cond_destroy (&self->wake);
        pthread_mutex_destroy (&self->mutex);
        free (self);
        return NULL;
    }
    return self;
}

void
gw_deadline_destroy (gw_deadline_t **self_p)
{
    if (self_p && *self_p) {
        gw_deadline_t *self = *self_p;
        pthread_mutex_lock (&self->mutex);
        self->stopping = 1;
        pthread_cond_signal (&self->wake);
        pthread_mutex_unlock (&self->mutex);
        pthread_join (self->watcher, NULL);
        while (self->head) {
            gw_deadline_conn_t *next = self->head->next;
            free (self->head);
            self->head = next;
        }
        pthread_cond_destroy (&self->wake);
        pthread_mutex_destroy (&self->mutex);
        free (self);
        *self_p = NULL;
    }
}

gw_deadline_conn_t *
gw_deadline_track (gw_deadline_t *self, int fd)
{
    gw_deadline_conn_t *conn = (gw_deadline_conn_t *) calloc (1, sizeof *conn);
    if (!conn)
        return NULL;
    conn->fd = fd;
    pthread_mutex_lock (&self->mutex);
    conn->until = zclock_mono () + self->window_ms;
    conn->next = self->head;
    if (self->head)
        self->head->prev = conn;
    self->head = conn;
    pthread_mutex_unlock (&self->mutex);
    return conn;
}

void
gw_deadline_untrack (gw_deadline_t *self, gw_deadline_conn_t **conn_p)
{
    gw_deadline_conn_t *conn = *conn_p;
    if (!conn)
        return;
    pthread_mutex_lock (&self->mutex);
    if (conn->prev)
        conn->prev->next = conn->next;
    else
        self->head = conn->next;
    if (conn->next)
        conn->next->prev = conn->prev;
    pthread_mutex_unlock (&self->mutex);
    free (conn);
    *conn_p = NULL;
}

void
gw_deadline_stop (gw_deadline_t *self, gw_deadline_conn_t *conn)
{
    if (!conn)
        return;
    pthread_mutex_lock (&self->mutex);
    conn->until = 0;
    pthread_mutex_unlock (&self->mutex);
}

void
gw_deadline_restart (gw_deadline_t *self, gw_deadline_conn_t *conn)
{
    if (!conn)
        return;
    pthread_mutex_lock (&self->mutex);
    conn->until = zclock_mono () + self->window_ms;
    pthread_mutex_unlock (&self->mutex);
}
