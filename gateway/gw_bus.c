#include "gw_bus.h"
#include "gw_fetch.h"
#include "pst_bus.h"
#include "pst_actor.h"
#include "pst_error.h"
#include "pst_log.h"
#include <czmq.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

//  How long a closing bus keeps running its daemons for the last answers to leave
#define DRAIN_MS        1000

typedef enum {
    JOB_REQUEST, JOB_KEYS, JOB_KEYS_RENEW, JOB_REVOCATIONS,
    JOB_SERVE, JOB_UNLISTEN     //  a daemon to run, a daemon to stop listening
} job_kind_t;

typedef struct {
    job_kind_t kind;
    gw_service_t service;
    pst_msg_t *request;
    gw_bus_done_fn *done;
    void *arg;
    int64_t expires_at;         //  monotonic ms
    struct MHD_Daemon *daemon;  //  JOB_SERVE, JOB_UNLISTEN
    atomic_int *requests;       //  JOB_SERVE
} job_t;

//  A daemon the loop runs
typedef struct {
    struct MHD_Daemon *daemon;
    atomic_int *requests;       //  its requests in flight
} served_t;

struct _gw_bus_t {
    char *endpoints [GW_SERVICE_COUNT];
    pst_curve_t *curve;         //  the gateway's bus identity
    int timeout_ms;
    int keys_min_interval_ms;
    gw_keys_t *keys;
    gw_revocations_t *revocations;
    gw_cors_t *cors;
    zactor_t *actor;
    int wakeup;                 //  eventfd: the queue has jobs
    int poll_fd;                //  epoll of the wakeup and each served daemon's epoll
    pthread_t loop_thread;      //  set before the loop reports ready
    struct _bus_state_t *state; //  the loop's, touched only in the loop's thread
    pthread_mutex_t mutex;
    zlistx_t *queue;            //  job_t *, guarded by mutex
    int closed;                 //  guarded by mutex; the loop has ended
    atomic_int loop_ended;      //  the loop's thread no longer touches the daemons
};

//  State of the loop's thread alone
typedef struct _bus_state_t {
    gw_bus_t *bus;
    pst_client_t *clients [GW_SERVICE_COUNT];
    zhashx_t *pending;          //  request id -> job_t *
    gw_fetch_t *fetch;          //  what is kept fetched from authn
    served_t served [GW_BUS_DAEMONS_MAX];
    int served_count;
    bool closing;               //  $TERM came: submissions are answered 503 at once
    bool unsettled [GW_SERVICE_COUNT];  //  the socket may hold a reply, or its
                                //  descriptor be unarmed: it fired, or was sent
                                //  on, since a read last found it empty
} bus_state_t;

static void
s_job_destroy (job_t **job_p)
{
    if (*job_p) {
        pst_msg_destroy (&(*job_p)->request);
        free (*job_p);
        *job_p = NULL;
    }
}

//  Hands the outcome to the requester; the job is gone afterwards.
static void
s_job_finish (job_t **job_p, pst_msg_t *reply)
{
    job_t *job = *job_p;
    job->done (job->arg, reply);
    s_job_destroy (job_p);
}

static void s_unlisten (struct MHD_Daemon *daemon);

static void
s_job_fail (job_t **job_p, const char *format)
{
    job_t *job = *job_p;
    if (job->kind == JOB_SERVE || job->kind == JOB_UNLISTEN) {
        //  Only once the loop has ended: nothing runs the daemon any more
        if (job->kind == JOB_UNLISTEN)
            s_unlisten (job->daemon);
        s_job_destroy (job_p);
        return;
    }
    if (job->kind != JOB_REQUEST) {
        s_job_finish (job_p, NULL);
        return;
    }
    pst_msg_t *reply = pst_msg_new_reply (job->request);
    if (reply)
        pst_msg_fail (reply, PST_ERR_UNAVAILABLE, format, gw_service_name (job->service));
    s_job_finish (job_p, reply);
}

static const char *s_not_connected = "Service %s is not available";
static const char *s_timed_out = "Service %s did not answer in time";

//  ---------------------------------------------------------------------------
//  Daemons

static void
s_unlisten (struct MHD_Daemon *daemon)
{
    MHD_socket listener = MHD_quiesce_daemon (daemon);
    if (listener != MHD_INVALID_SOCKET)
        close (listener);
}

//  The daemon's epoll fd is in poll_fd already (gw_bus_serve)
static void
s_serve (bus_state_t *state, job_t *job)
{
    if (state->served_count == GW_BUS_DAEMONS_MAX)
        pst_log (PST_LOG_ERROR, "bus_serve_failed", "reason", "too many daemons", NULL);
    else
        state->served [state->served_count++] = (served_t) { job->daemon, job->requests };
}

//  Runs every daemon's ready work: accepts, reads, the access handler (which
//  submits here without a hand-over), resumed connections, sends, timeouts.
static void
s_run_daemons (bus_state_t *state)
{
    for (int index = 0; index < state->served_count; index++)
        MHD_run (state->served [index].daemon);
}

//  The wait may not outlast a daemon's next timeout (0: it has work pending)
static int64_t
s_daemons_timeout (bus_state_t *state, int64_t timeout)
{
    for (int index = 0; index < state->served_count; index++) {
        MHD_UNSIGNED_LONG_LONG next;
        if (MHD_get_timeout (state->served [index].daemon, &next) == MHD_YES
        &&  (int64_t) next < timeout)
            timeout = (int64_t) next;
    }
    return timeout;
}

static int
s_requests (bus_state_t *state)
{
    int requests = 0;
    for (int index = 0; index < state->served_count; index++)
        requests += atomic_load (state->served [index].requests);
    return requests;
}

//  ---------------------------------------------------------------------------
//  Requests

//  A job waiting on a fetch hears that it is over
static void
s_fetch_heard (void *arg)
{
    job_t *job = (job_t *) arg;
    s_job_finish (&job, NULL);
}

static void
s_dispatch (bus_state_t *state, job_t *job)
{
    if (job->kind == JOB_SERVE || job->kind == JOB_UNLISTEN) {
        if (job->kind == JOB_SERVE)
            s_serve (state, job);
        else
            s_unlisten (job->daemon);
        s_job_destroy (&job);
        return;
    }
    if (state->closing) {
        s_job_fail (&job, s_not_connected);
        return;
    }
    if (job->kind != JOB_REQUEST) {
        gw_fetch_wait_t what = job->kind == JOB_KEYS? GW_FETCH_KEYS
                             : job->kind == JOB_KEYS_RENEW? GW_FETCH_KEYS_RENEW
                             : GW_FETCH_REVOCATIONS;
        if (gw_fetch_wait (state->fetch, what, s_fetch_heard, job) != 0)
            s_job_finish (&job, NULL);
        return;
    }
    int remaining = pst_msg_remaining_ms (job->request);
    zsock_t *sock = pst_client_sock (state->clients [job->service]);
    if (remaining <= 0) {
        s_job_fail (&job, s_timed_out);
        return;
    }
    state->unsettled [job->service] = true;
    if (pst_bus_send (sock, NULL, job->request) != 0) {
        pst_log (PST_LOG_WARN, "bus_service_unavailable",
                 "service", gw_service_name (job->service), "op", pst_msg_op (job->request), NULL);
        s_job_fail (&job, s_not_connected);
        return;
    }
    job->expires_at = zclock_mono () + remaining;
    //  Ids are 128 random bits; a clash means a broken generator, not bad luck
    if (zhashx_insert (state->pending, pst_msg_id (job->request), job) != 0)
        s_job_fail (&job, s_not_connected);
}

static void
s_take_queue (bus_state_t *state)
{
    uint64_t count;
    if (read (state->bus->wakeup, &count, sizeof count) < 0 && errno != EAGAIN)
        pst_log (PST_LOG_WARN, "bus_wakeup_failed", "reason", strerror (errno), NULL);
    //  Dispatch outside the lock: done functions may submit again
    zlistx_t *jobs = zlistx_new ();
    if (!jobs)
        return;
    pthread_mutex_lock (&state->bus->mutex);
    job_t *job;
    while ((job = (job_t *) zlistx_detach (state->bus->queue, NULL)))
        zlistx_add_end (jobs, job);
    pthread_mutex_unlock (&state->bus->mutex);
    while ((job = (job_t *) zlistx_detach (jobs, NULL)))
        s_dispatch (state, job);
    zlistx_destroy (&jobs);
}

static void
s_on_reply (bus_state_t *state, gw_service_t service, pst_msg_t *reply)
{
    if (service == GW_SERVICE_AUTHN && gw_fetch_reply (state->fetch, &reply))
        return;
    job_t *job = (job_t *) zhashx_lookup (state->pending, pst_msg_id (reply));
    if (!job || job->service != service) {
        pst_log (PST_LOG_DEBUG, "bus_late_reply", "service", gw_service_name (service),
                 "request_id", pst_msg_id (reply), NULL);
        pst_msg_destroy (&reply);
        return;
    }
    zhashx_delete (state->pending, pst_msg_id (reply));
    s_job_finish (&job, reply);
}

//  Reads the service's socket until it is empty, when it may hold anything
//  (pst_actor_wait's rule); true when it read anything
static bool
s_receive (bus_state_t *state, gw_service_t service)
{
    if (service == GW_SERVICE_AUTHN && state->fetch && gw_fetch_sent (state->fetch))
        state->unsettled [service] = true;
    if (!state->unsettled [service])
        return false;
    zsock_t *sock = pst_client_sock (state->clients [service]);
    pst_msg_t *reply = NULL;
    bool moved = false;
    while (pst_bus_recv_dealer_nowait (sock, &reply)) {
        moved = true;
        if (reply)
            s_on_reply (state, service, reply);
    }
    //  Whatever a reply's done function sent came before this empty read
    state->unsettled [service] = false;
    return moved;
}

//  One round of what is ready: the replies in (each resumes its connection),
//  the daemons run (the answers out, the requests that came submitted), and
//  the sockets sent on read again until empty, since a send may have taken the
//  socket's commands (pst_actor_wait's rule); a socket that neither fired nor
//  was sent on is still empty and is not looked at. True when that last read
//  found something: the loop then goes round again without sleeping, rather
//  than settling here until the load stops, so deadlines, fetches, the queue
//  and $TERM keep their turn under any load.
static bool
s_settle (bus_state_t *state)
{
    s_receive (state, GW_SERVICE_AUTHN);
    s_receive (state, GW_SERVICE_MFA);
    s_run_daemons (state);
    bool authn = s_receive (state, GW_SERVICE_AUTHN);
    bool mfa = s_receive (state, GW_SERVICE_MFA);
    return authn || mfa;
}

//  Fails what has passed its deadline; returns ms until the next deadline.
static int64_t
s_expire (bus_state_t *state)
{
    int64_t now = zclock_mono ();
    int64_t next = GW_FETCH_KEYS_REFRESH_MS;
    //  The loop comes here at every turn, so the list is only made when needed
    zlistx_t *expired = NULL;
    for (job_t *job = (job_t *) zhashx_first (state->pending); job;
         job = (job_t *) zhashx_next (state->pending)) {
        if (job->expires_at > now) {
            if (job->expires_at - now < next)
                next = job->expires_at - now;
        }
        else
        if (expired || (expired = zlistx_new ()))
            zlistx_add_end (expired, job);
        else
            next = 0;           //  out of memory: try again at once
    }
    job_t *job;
    while (expired && (job = (job_t *) zlistx_detach (expired, NULL))) {
        pst_log (PST_LOG_WARN, "bus_timeout", "service", gw_service_name (job->service),
                 "op", pst_msg_op (job->request), "request_id", pst_msg_id (job->request), NULL);
        zhashx_delete (state->pending, pst_msg_id (job->request));
        s_job_fail (&job, s_timed_out);
    }
    zlistx_destroy (&expired);

    if (state->fetch)
        next = gw_fetch_tick (state->fetch, now, next);
    return next > 0? next: 0;
}

//  At $TERM: the replies already in are handed on, every request still
//  waiting gets its 503 (its connection resumes), and the daemons run until
//  those answers have left or DRAIN_MS has passed; what is submitted meanwhile
//  is answered 503 at once.
static void
s_drain (bus_state_t *state)
{
    state->closing = true;
    //  Replies already in get through first
    for (int service = 0; service < GW_SERVICE_COUNT; service++)
        state->unsettled [service] = true;
    while (s_receive (state, GW_SERVICE_AUTHN) | s_receive (state, GW_SERVICE_MFA))
        ;
    job_t *job;
    while ((job = (job_t *) zhashx_first (state->pending))) {
        zhashx_delete (state->pending, pst_msg_id (job->request));
        s_job_fail (&job, s_not_connected);
    }
    gw_fetch_destroy (&state->fetch);

    int64_t until = zclock_mono () + DRAIN_MS;
    while (true) {
        s_take_queue (state);
        s_run_daemons (state);
        int64_t left = until - zclock_mono ();
        if (s_requests (state) == 0 || left <= 0)
            break;
        struct epoll_event event;
        int timeout = (int) s_daemons_timeout (state, left < 10? left: 10);
        if (epoll_wait (state->bus->poll_fd, &event, 1, timeout) < 0 && errno != EINTR)
            break;
    }
}

//  The loop has ended: what is queued now is failed here, and anything queued
//  later by the caller itself (gw_bus_submit refuses, gw_bus_unlisten quiesces
//  at once).
static void
s_close (bus_state_t *state)
{
    pthread_mutex_lock (&state->bus->mutex);
    state->bus->closed = 1;
    pthread_mutex_unlock (&state->bus->mutex);
    job_t *job;
    while ((job = (job_t *) zlistx_detach (state->bus->queue, NULL)))
        s_job_fail (&job, s_not_connected);
}

static void
s_state_destroy (bus_state_t *state)
{
    for (int service = 0; service < GW_SERVICE_COUNT; service++)
        pst_client_destroy (&state->clients [service]);
    zhashx_destroy (&state->pending);
    gw_fetch_destroy (&state->fetch);
    state->bus->state = NULL;
}

static void
s_bus_actor (zsock_t *pipe, void *args)
{
    pst_actor_name ("gw-loop");
    gw_bus_t *bus = (gw_bus_t *) args;
    bus_state_t state = { .bus = bus };
    int ok = 1;
    for (int service = 0; service < GW_SERVICE_COUNT; service++) {
        state.unsettled [service] = true;       //  the first round reads each
        state.clients [service] = pst_client_new (bus->endpoints [service], bus->curve,
                                                  gw_service_name ((gw_service_t) service));
        ok = ok && state.clients [service];
    }
    state.pending = zhashx_new ();
    if (ok)
        state.fetch = gw_fetch_new (pst_client_sock (state.clients [GW_SERVICE_AUTHN]),
                                    bus->timeout_ms, bus->keys_min_interval_ms,
                                    bus->keys, bus->revocations, bus->cors);
    ok = ok && state.pending && state.fetch;
    if (!ok) {
        pst_actor_failed (pipe, "bus clients could not start");
        s_close (&state);
        s_state_destroy (&state);
        atomic_store (&bus->loop_ended, 1);
        return;
    }
    bus->loop_thread = pthread_self ();
    bus->state = &state;
    pst_actor_ready (pipe, NULL);
    gw_fetch_start (state.fetch);

    //  The sockets that fired or were sent on are read until empty before each
    //  wait (s_settle), then the thread waits on them, and on poll_fd: the
    //  queue's wakeup and the daemons
    zsock_t *sockets [GW_SERVICE_COUNT] = {
        pst_client_sock (state.clients [GW_SERVICE_AUTHN]),
        pst_client_sock (state.clients [GW_SERVICE_MFA]) };
    bool term = pst_actor_term_pending (pipe);
    while (!term) {
        int64_t timeout = s_expire (&state);
        //  A request the round sends expires at most one bus timeout from now
        if (s_settle (&state))
            timeout = 0;
        else
        if (timeout > bus->timeout_ms && zhashx_size (state.pending) > 0)
            timeout = bus->timeout_ms;
        timeout = s_daemons_timeout (&state, timeout);
        bool fired [GW_SERVICE_COUNT];
        int woke = pst_actor_wait (pipe, sockets, GW_SERVICE_COUNT, bus->poll_fd, (int) timeout,
                                   fired);
        for (int service = 0; woke > 0 && service < GW_SERVICE_COUNT; service++)
            state.unsettled [service] = state.unsettled [service] || fired [service];
        if (woke < 0) {
            pst_log (PST_LOG_ERROR, "bus_wait_failed", "reason", strerror (errno), NULL);
            break;
        }
        term = (woke & PST_ACTOR_WOKE_TERM) != 0;
        if (!term && (woke & PST_ACTOR_WOKE_FD))
            s_take_queue (&state);
    }
    s_drain (&state);
    s_close (&state);
    s_state_destroy (&state);
    atomic_store (&bus->loop_ended, 1);
}

//  ---------------------------------------------------------------------------
//  Public side: the loop's own thread (the daemons' callbacks) and gw_server's

gw_bus_t *
gw_bus_new (const gw_config_t *config, gw_keys_t *keys, gw_revocations_t *revocations,
            gw_cors_t *cors)
{
    gw_bus_t *self = (gw_bus_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->endpoints [GW_SERVICE_AUTHN] = strdup (config->authn_endpoint);
    self->endpoints [GW_SERVICE_MFA] = strdup (config->mfa_endpoint);
    self->curve = pst_curve_new (config->keys_dir, config->key_name, true);
    self->timeout_ms = config->bus_timeout_ms;
    self->keys_min_interval_ms = config->keys_min_interval_ms;
    self->keys = keys;
    self->revocations = revocations;
    self->cors = cors;
    self->wakeup = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
    self->poll_fd = epoll_create1 (EPOLL_CLOEXEC);
    struct epoll_event event = { .events = EPOLLIN };
    int polled = self->wakeup >= 0 && self->poll_fd >= 0
              && epoll_ctl (self->poll_fd, EPOLL_CTL_ADD, self->wakeup, &event) == 0;
    self->queue = zlistx_new ();
    pthread_mutex_init (&self->mutex, NULL);
    if (self->endpoints [0] && self->endpoints [1] && self->curve && polled && self->queue)
        self->actor = pst_actor_new (s_bus_actor, self, NULL);
    if (!self->actor) {
        pst_log (PST_LOG_ERROR, "bus_start_failed", NULL);
        gw_bus_destroy (&self);
    }
    return self;
}

void
gw_bus_close (gw_bus_t *self)
{
    bool started = self->actor != NULL;
    zactor_destroy (&self->actor);
    //  A signal can end zactor_destroy's wait early; the daemons may only be
    //  stopped once the loop no longer runs them
    while (started && !atomic_load (&self->loop_ended))
        zclock_sleep (1);
    pthread_mutex_lock (&self->mutex);
    self->closed = 1;
    pthread_mutex_unlock (&self->mutex);
}

void
gw_bus_destroy (gw_bus_t **self_p)
{
    if (self_p && *self_p) {
        gw_bus_t *self = *self_p;
        gw_bus_close (self);
        job_t *job;
        while (self->queue && (job = (job_t *) zlistx_detach (self->queue, NULL)))
            s_job_fail (&job, s_not_connected);
        zlistx_destroy (&self->queue);
        pthread_mutex_destroy (&self->mutex);
        if (self->wakeup >= 0)
            close (self->wakeup);
        if (self->poll_fd >= 0)
            close (self->poll_fd);
        for (int service = 0; service < GW_SERVICE_COUNT; service++)
            free (self->endpoints [service]);
        pst_curve_destroy (&self->curve);
        free (self);
        *self_p = NULL;
    }
}

//  A job handed to the loop, or -1 (the job is destroyed) when the loop has ended
static int s_enqueue (gw_bus_t *self, job_t *job);

static int
s_submit (gw_bus_t *self, job_t fields)
{
    job_t *job = (job_t *) malloc (sizeof *job);
    if (!job) {
        pst_msg_destroy (&fields.request);
        return -1;
    }
    *job = fields;
    if (s_enqueue (self, job) != 0) {
        s_job_destroy (&job);
        return -1;
    }
    return 0;
}

//  The loop's own thread hands a job over at once, with no queue and no
//  wakeup: that is every request, since the loop runs the daemons. (Only that
//  thread reads state; loop_thread is set before the loop reports ready.)
static int
s_enqueue (gw_bus_t *self, job_t *job)
{
    if (pthread_equal (pthread_self (), self->loop_thread) && self->state) {
        s_dispatch (self->state, job);
        return 0;
    }
    pthread_mutex_lock (&self->mutex);
    int rc = self->closed? -1: 0;
    if (rc == 0 && !zlistx_add_end (self->queue, job))
        rc = -1;
    pthread_mutex_unlock (&self->mutex);
    uint64_t one = 1;
    if (rc == 0 && write (self->wakeup, &one, sizeof one) < 0)
        pst_log (PST_LOG_WARN, "bus_wakeup_failed", "reason", strerror (errno), NULL);
    return rc;
}

int
gw_bus_submit (gw_bus_t *self, gw_service_t service, pst_msg_t **request_p,
               gw_bus_done_fn *done, void *arg)
{
    job_t fields = { JOB_REQUEST, service, *request_p, done, arg, 0, NULL, NULL };
    *request_p = NULL;
    return s_submit (self, fields);
}

static int
s_wait (gw_bus_t *self, job_kind_t kind, gw_bus_done_fn *done, void *arg)
{
    return s_submit (self, (job_t) { kind, GW_SERVICE_AUTHN, NULL, done, arg, 0, NULL, NULL });
}

int
gw_bus_refresh_keys (gw_bus_t *self, gw_bus_done_fn *done, void *arg)
{
    return s_wait (self, JOB_KEYS, done, arg);
}

int
gw_bus_renew_keys (gw_bus_t *self, gw_bus_done_fn *done, void *arg)
{
    return s_wait (self, JOB_KEYS_RENEW, done, arg);
}

int
gw_bus_wait_revocations (gw_bus_t *self, gw_bus_done_fn *done, void *arg)
{
    return s_wait (self, JOB_REVOCATIONS, done, arg);
}

int
gw_bus_serve (gw_bus_t *self, struct MHD_Daemon *daemon, atomic_int *requests)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info (daemon, MHD_DAEMON_INFO_EPOLL_FD);
    struct epoll_event event = { .events = EPOLLIN };
    if (!info || epoll_ctl (self->poll_fd, EPOLL_CTL_ADD, info->epoll_fd, &event) != 0) {
        pst_log (PST_LOG_ERROR, "bus_serve_failed", "reason", strerror (errno), NULL);
        return -1;
    }
    if (s_submit (self, (job_t) { JOB_SERVE, GW_SERVICE_AUTHN, NULL, NULL, NULL, 0,
                                  daemon, requests }) != 0) {
        epoll_ctl (self->poll_fd, EPOLL_CTL_DEL, info->epoll_fd, NULL);
        return -1;
    }
    return 0;
}

void
gw_bus_unlisten (gw_bus_t *self, struct MHD_Daemon *daemon)
{
    //  Refused once the loop has ended, when nothing runs the daemon any more,
    //  so this thread may (out of memory: the daemon goes on listening until it
    //  stops, which the log says)
    job_t fields = { JOB_UNLISTEN, GW_SERVICE_AUTHN, NULL, NULL, NULL, 0, daemon, NULL };
    if (s_submit (self, fields) != 0) {
        pthread_mutex_lock (&self->mutex);
        int ended = self->closed;
        pthread_mutex_unlock (&self->mutex);
        if (ended)
            s_unlisten (daemon);
        else
            pst_log (PST_LOG_WARN, "bus_unlisten_failed", "reason", "out of memory", NULL);
    }
}
