#include "pst_actor.h"
#include <openssl/crypto.h>
#include "pst_log.h"
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdarg.h>

//  Set by the body's report, so that the shim can report for a body that
//  returned without one: its creator must not mistake the thread's end signal
//  for a report, or zactor_destroy would then wait for that signal forever.
static _Thread_local bool s_reported = false;

typedef struct {
    pst_actor_fn *body;
    void *args;
} s_start_t;

static void
s_shim (zsock_t *pipe, void *args)
{
    //  Copied before the handshake: the record lives on the creator's stack,
    //  and only until zactor_new returns, which the signal allows
    s_start_t start = *(s_start_t *) args;
    s_reported = false;
    zsock_signal (pipe, 0);
    start.body (pipe, start.args);
    if (!s_reported)
        pst_actor_failed (pipe, "ended without a report");
    pst_actor_thread_end ();
}

void
pst_actor_name (const char *name)
{
    char kept [16];
    snprintf (kept, sizeof kept, "%s", name? name: "");
    pthread_setname_np (pthread_self (), kept);
}

zactor_t *
pst_actor_new (pst_actor_fn *body, void *args, const char *picture, ...)
{
    s_start_t start = { body, args };
    zactor_t *actor = zactor_new (s_shim, &start);
    if (!actor)
        return NULL;
    zframe_t *status = zframe_recv (actor);
    bool ok = status && zframe_streq (status, "ok");
    bool more = status && zframe_more (status);
    zframe_destroy (&status);
    bool wanted = picture && *picture;
    if (ok && wanted) {
        //  The values are the rest of the report's frames
        va_list argptr;
        va_start (argptr, picture);
        ok = more && zsock_vrecv (actor, picture, argptr) == 0;
        va_end (argptr);
    }
    else
    if (more) {
        //  A failure's reason, or values nobody asked for
        zmsg_t *rest = zmsg_recv (actor);
        char *reason = !ok && rest? zmsg_popstr (rest): NULL;
        if (reason)
            pst_log (PST_LOG_DEBUG, "actor_failed", "reason", reason, NULL);
        zstr_free (&reason);
        zmsg_destroy (&rest);
    }
    if (!ok)
        zactor_destroy (&actor);
    return actor;
}

int
pst_actor_ready (zsock_t *pipe, const char *picture, ...)
{
    s_reported = true;
    if (!picture || !*picture)
        return zstr_send (pipe, "ok");
    //  One message: the status frame, then the values' frames
    if (zstr_sendm (pipe, "ok") != 0)
        return -1;
    va_list argptr;
    va_start (argptr, picture);
    int rc = zsock_vsend (pipe, picture, argptr);
    va_end (argptr);
    return rc;
}

int
pst_actor_failed (zsock_t *pipe, const char *reason)
{
    s_reported = true;
    return zstr_sendx (pipe, "failed", reason? reason: "", NULL);
}

bool
pst_actor_term_received (zsock_t *pipe)
{
    char *command = zstr_recv (pipe);
    bool term = !command || streq (command, "$TERM");
    zstr_free (&command);
    return term;
}

void
pst_actor_wait_term (zsock_t *pipe)
{
    while (!pst_actor_term_received (pipe))
        ;
}

bool
pst_actor_term_pending (zsock_t *pipe)
{
    bool term = false;
    while (!term && (zsock_events (pipe) & ZMQ_POLLIN))
        term = pst_actor_term_received (pipe);
    return term;
}

int
pst_actor_wait (zsock_t *pipe, zsock_t *const *socks, size_t count, int fd, int timeout_ms,
                bool *fired)
{
    if (count > PST_ACTOR_WAIT_MAX)
        return -1;
    struct pollfd items [PST_ACTOR_WAIT_MAX + 2];
    items [0] = (struct pollfd) { zsock_fd (pipe), POLLIN, 0 };
    for (size_t i = 0; i < count; i++)
        items [i + 1] = (struct pollfd) { zsock_fd (socks [i]), POLLIN, 0 };
    size_t used = count + 1;
    if (fd >= 0)
        items [used++] = (struct pollfd) { fd, POLLIN, 0 };
    if (poll (items, (nfds_t) used, timeout_ms) < 0)
        return errno == EINTR? 0: -1;
    int woke = 0;
    //  A pipe descriptor that fired may hold nothing: looking re-arms it
    if ((items [0].revents & POLLIN) && pst_actor_term_pending (pipe))
        woke |= PST_ACTOR_WOKE_TERM;
    if (fd >= 0 && (items [used - 1].revents & (POLLIN | POLLHUP | POLLERR)))
        woke |= PST_ACTOR_WOKE_FD;
    for (size_t i = 1; i <= count; i++) {
        bool socket_fired = (items [i].revents & POLLIN) != 0;
        if (socket_fired)
            woke |= PST_ACTOR_WOKE_SOCKET;
        if (fired)
            fired [i - 1] = socket_fired;
    }
    return woke;
}

void
pst_actor_thread_end (void)
{
    OPENSSL_thread_stop ();
}
