#include "gw_bus.h"
#include "pst_actor.h"
#include "pst_bus.h"
#include "pst_error.h"
#include "pst_log.h"
#include <czmq.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

//  While a fetch cannot be queued (authn's connection is still being set up,
//  or authn is down), it is retried at this pace until its deadline.
#define FETCH_RETRY_MS  50
//  Least pause after a failed periodic key fetch
#define KEYS_RETRY_FLOOR_MS 1000
//  Pages of one revocation list at most (200 revocations each, authn_revoke)
#define REVOCATIONS_MAX_PAGES   1000

typedef enum { JOB_REQUEST, JOB_KEYS, JOB_REVOCATIONS } job_kind_t;

typedef struct {
    job_kind_t kind;
    gw_service_t service;
    pst_msg_t *request;
    gw_bus_done_fn *done;
    void *arg;
    int64_t expires_at;         //  monotonic ms
} job_t;

struct _gw_bus_t {
    char *endpoints [GW_SERVICE_COUNT];
    pst_curve_t *curve;         //  the gateway's bus identity
    int timeout_ms;
    int keys_min_interval_ms;
    gw_keys_t *keys;
    gw_revocations_t *revocations;
    zactor_t *actor;
    int wakeup;                 //  eventfd: the queue has jobs
    pthread_mutex_t mutex;
    zlistx_t *queue;            //  job_t *, guarded by mutex
    int closed;                 //  guarded by mutex
};

//  What the bus thread keeps fetching from authn for gw_auth (the key set, the
//  revocation list): at most one request in flight; the jobs waiting for it
//  hear when it is over, whatever came of it.
typedef struct {
    const char *op;
    pst_msg_t *request;         //  in flight, or NULL
    int queued;                 //  the request has left for authn
    int64_t expires_at;         //  of the request in flight
    int64_t started_at;         //  of the last fetch
    int64_t next_at;            //  of the next fetch
    zlistx_t *waiters;          //  job_t *
} fetch_t;

//  State of the bus thread alone
typedef struct {
    gw_bus_t *bus;
    pst_client_t *clients [GW_SERVICE_COUNT];
    zhashx_t *pending;          //  request id -> job_t *
    fetch_t keys;
    fetch_t revocations;
    json_t *revocation_pages;   //  the list being read, page by page
    int64_t revocations_after;  //  the cursor of the page asked for
    int revocations_pages;      //  pages read of the list
    int revocations_failing;    //  the last fetch failed (logged once)
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

static void
s_job_fail (job_t **job_p, const char *format)
{
    job_t *job = *job_p;
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
//  Fetches from authn

static void
s_fetch_try_send (bus_state_t *state, fetch_t *fetch)
{
    zsock_t *sock = pst_client_sock (state->clients [GW_SERVICE_AUTHN]);
    if (pst_bus_send (sock, NULL, fetch->request) == 0)
        fetch->queued = 1;
}

//  Sends fetch's op with *body_p (taken; NULL for none); 0, or -1 when out of memory.
static int
s_fetch_send (bus_state_t *state, fetch_t *fetch, json_t **body_p)
{
    pst_msg_destroy (&fetch->request);
    fetch->request = pst_msg_new_request (fetch->op, state->bus->timeout_ms);
    if (!fetch->request) {
        json_decref (body_p? *body_p: NULL);
        return -1;
    }
    if (body_p && *body_p)
        pst_msg_set_body (fetch->request, body_p);
    fetch->expires_at = zclock_mono () + state->bus->timeout_ms;
    fetch->queued = 0;
    s_fetch_try_send (state, fetch);
    return 0;
}

//  The fetch is over: the next in next_ms, and its waiters hear of it
static void
s_fetch_over (fetch_t *fetch, int64_t next_ms)
{
    pst_msg_destroy (&fetch->request);
    fetch->next_at = zclock_mono () + next_ms;
    job_t *job;
    while ((job = (job_t *) zlistx_detach (fetch->waiters, NULL)))
        s_job_finish (&job, NULL);
}

static int
s_fetch_answers (const fetch_t *fetch, const pst_msg_t *reply)
{
    return fetch->request && streq (pst_msg_id (reply), pst_msg_id (fetch->request));
}

//  ---------------------------------------------------------------------------
//  Keys

static void
s_keys_start (bus_state_t *state)
{
    if (state->keys.request)
        return;
    state->keys.started_at = zclock_mono ();
    s_fetch_send (state, &state->keys, NULL);
}

static void
s_keys_finish (bus_state_t *state, pst_msg_t *reply)
{
    int loaded = reply && !pst_msg_is_error (reply)
              && gw_keys_update (state->bus->keys, pst_msg_body (reply)) == 0;
    if (loaded)
        pst_log (PST_LOG_INFO, "keys_loaded", NULL);
    else
        pst_log (PST_LOG_WARN, "keys_fetch_failed",
                 "reason", !reply? "no answer": pst_msg_is_error (reply)? pst_msg_error (reply)
                                                                       : "unusable key set", NULL);
    //  Without keys every Management API call fails: try again sooner, but
    //  never in a tight loop against a service that is down. A gateway that
    //  never had any (it started before authn answered) tries every second
    int64_t retry_ms = state->bus->keys_min_interval_ms > KEYS_RETRY_FLOOR_MS
                     ? state->bus->keys_min_interval_ms: KEYS_RETRY_FLOOR_MS;
    if (!loaded && gw_keys_size (state->bus->keys) == 0)
        retry_ms = KEYS_RETRY_FLOOR_MS;
    s_fetch_over (&state->keys, loaded? GW_BUS_KEYS_REFRESH_MS: retry_ms);
}

//  A token with an unknown kid asks for fresh keys at most every
//  keys_min_interval_ms; but while the gateway holds no key set at all (authn
//  was slower to start than the first fetch's deadline) it may ask at once,
//  one fetch at a time, rather than refuse every token until the next retry.
static void
s_keys_wait (bus_state_t *state, job_t *job)
{
    //  An unknown kid refetches at most once per keys_min_interval_ms, unless
    //  there are no keys at all yet: then the fetch is what the request needs
    int recent = state->keys.started_at > 0 && gw_keys_size (state->bus->keys) > 0
              && zclock_mono () - state->keys.started_at < state->bus->keys_min_interval_ms;
    if (!state->keys.request && recent) {
        s_job_finish (&job, NULL);
        return;
    }
    zlistx_add_end (state->keys.waiters, job);
    s_keys_start (state);
    if (!state->keys.request)
        s_fetch_over (&state->keys, KEYS_RETRY_FLOOR_MS);
}

//  ---------------------------------------------------------------------------
//  Revocations: the whole list, a page at a time, installed once complete

static void
s_revocations_page (bus_state_t *state, int64_t after)
{
    state->revocations_after = after;
    json_t *body = json_pack ("{s:I}", "after", (json_int_t) after);
    if (!body || s_fetch_send (state, &state->revocations, &body) != 0)
        s_fetch_over (&state->revocations, GW_BUS_REVOCATIONS_POLL_MS);
}

static void
s_revocations_start (bus_state_t *state)
{
    if (state->revocations.request)
        return;
    state->revocations.started_at = zclock_mono ();
    json_decref (state->revocation_pages);
    state->revocation_pages = json_array ();
    state->revocations_pages = 0;
    s_revocations_page (state, 0);
}

//  A fetch that failed keeps the list the gateway has; said once per outage
static void
s_revocations_failed (bus_state_t *state, const char *reason)
{
    if (!state->revocations_failing)
        pst_log (PST_LOG_WARN, "revocations_fetch_failed", "reason", reason,
                 "kept", gw_revocations_loaded (state->bus->revocations)? "the last list": "none",
                 NULL);
    state->revocations_failing = 1;
    s_fetch_over (&state->revocations, GW_BUS_REVOCATIONS_POLL_MS);
}

static void
s_revocations_reply (bus_state_t *state, pst_msg_t *reply)
{
    json_t *body = reply && !pst_msg_is_error (reply)? pst_msg_body (reply): NULL;
    json_t *page = json_object_get (body, "revocations");
    json_t *next = json_object_get (body, "next");
    int more = json_is_true (json_object_get (body, "more"));
    if (!reply || !json_is_array (page) || !state->revocation_pages
    ||  json_array_extend (state->revocation_pages, page) != 0) {
        s_revocations_failed (state, !reply? "no answer": pst_msg_is_error (reply)?
                              pst_msg_error (reply): "unreadable answer");
        return;
    }
    if (more) {
        //  Each page must move on, and a list cannot be endless
        if (!json_is_integer (next) || json_integer_value (next) <= state->revocations_after
        ||  ++state->revocations_pages >= REVOCATIONS_MAX_PAGES)
            s_revocations_failed (state, "pages that do not move on");
        else
            s_revocations_page (state, json_integer_value (next));
        return;
    }
    if (gw_revocations_update (state->bus->revocations, state->revocation_pages) != 0) {
        s_revocations_failed (state, "malformed revocation");
        return;
    }
    if (state->revocations_failing || !state->revocations.next_at)
        pst_log (PST_LOG_INFO, "revocations_loaded", NULL);
    state->revocations_failing = 0;
    json_decref (state->revocation_pages);
    state->revocation_pages = NULL;
    s_fetch_over (&state->revocations, GW_BUS_REVOCATIONS_POLL_MS);
}

//  A request waits only for the first list: later ones come every second anyway
static void
s_revocations_wait (bus_state_t *state, job_t *job)
{
    if (gw_revocations_loaded (state->bus->revocations)) {
        s_job_finish (&job, NULL);
        return;
    }
    zlistx_add_end (state->revocations.waiters, job);
    s_revocations_start (state);
}

//  ---------------------------------------------------------------------------
//  Requests

static void
s_dispatch (bus_state_t *state, job_t *job)
{
    if (job->kind == JOB_KEYS) {
        s_keys_wait (state, job);
        return;
    }
    if (job->kind == JOB_REVOCATIONS) {
        s_revocations_wait (state, job);
        return;
    }
    int remaining = pst_msg_remaining_ms (job->request);
    zsock_t *sock = pst_client_sock (state->clients [job->service]);
    if (remaining <= 0) {
        s_job_fail (&job, s_timed_out);
        return;
    }
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
    if (service == GW_SERVICE_AUTHN && s_fetch_answers (&state->keys, reply)) {
        s_keys_finish (state, reply);
        pst_msg_destroy (&reply);
        return;
    }
    if (service == GW_SERVICE_AUTHN && s_fetch_answers (&state->revocations, reply)) {
        s_revocations_reply (state, reply);
        pst_msg_destroy (&reply);
        return;
    }
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

static void
s_receive (bus_state_t *state, gw_service_t service)
{
    zsock_t *sock = pst_client_sock (state->clients [service]);
    while (zsock_events (sock) & ZMQ_POLLIN) {
        pst_msg_t *reply = pst_bus_recv_dealer (sock);
        if (reply)
            s_on_reply (state, service, reply);
    }
}

//  A fetch's deadline, its retries while authn is not connected, and its next
//  start; returns the sooner of next and the ms until fetch needs a look again.
static int64_t
s_fetch_tick (bus_state_t *state, fetch_t *fetch, void (*start) (bus_state_t *),
              void (*finish) (bus_state_t *, pst_msg_t *), int64_t now, int64_t next)
{
    if (fetch->request && fetch->expires_at <= now)
        finish (state, NULL);
    else
    if (fetch->request && !fetch->queued)
        s_fetch_try_send (state, fetch);
    if (!fetch->request && fetch->next_at <= now)
        start (state);
    int64_t until = !fetch->request? fetch->next_at - now
                  : fetch->queued? fetch->expires_at - now: FETCH_RETRY_MS;
    return until < next? until: next;
}

//  Fails what has passed its deadline; returns ms until the next deadline.
static int64_t
s_expire (bus_state_t *state)
{
    int64_t now = zclock_mono ();
    int64_t next = GW_BUS_KEYS_REFRESH_MS;
    zlistx_t *expired = zlistx_new ();
    for (job_t *job = (job_t *) zhashx_first (state->pending); job;
         job = (job_t *) zhashx_next (state->pending)) {
        if (job->expires_at <= now)
            zlistx_add_end (expired, job);
        else
        if (job->expires_at - now < next)
            next = job->expires_at - now;
    }
    job_t *job;
    while ((job = (job_t *) zlistx_detach (expired, NULL))) {
        pst_log (PST_LOG_WARN, "bus_timeout", "service", gw_service_name (job->service),
                 "op", pst_msg_op (job->request), "request_id", pst_msg_id (job->request), NULL);
        zhashx_delete (state->pending, pst_msg_id (job->request));
        s_job_fail (&job, s_timed_out);
    }
    zlistx_destroy (&expired);

    next = s_fetch_tick (state, &state->keys, s_keys_start, s_keys_finish, now, next);
    next = s_fetch_tick (state, &state->revocations, s_revocations_start, s_revocations_reply,
                         now, next);
    return next > 0? next: 0;
}

//  Everything still waiting gets its answer before the thread ends.
static void
s_fail_all (bus_state_t *state)
{
    pthread_mutex_lock (&state->bus->mutex);
    state->bus->closed = 1;
    pthread_mutex_unlock (&state->bus->mutex);
    job_t *job;
    while ((job = (job_t *) zlistx_detach (state->bus->queue, NULL)))
        s_job_fail (&job, s_not_connected);
    for (job = (job_t *) zhashx_first (state->pending); job;
         job = (job_t *) zhashx_next (state->pending))
        zlistx_add_end (state->keys.waiters, job);
    zhashx_purge (state->pending);
    while ((job = (job_t *) zlistx_detach (state->keys.waiters, NULL)))
        s_job_fail (&job, s_not_connected);
    while ((job = (job_t *) zlistx_detach (state->revocations.waiters, NULL)))
        s_job_fail (&job, s_not_connected);
    pst_msg_destroy (&state->keys.request);
    pst_msg_destroy (&state->revocations.request);
}

static void
s_state_destroy (bus_state_t *state)
{
    for (int service = 0; service < GW_SERVICE_COUNT; service++)
        pst_client_destroy (&state->clients [service]);
    zhashx_destroy (&state->pending);
    zlistx_destroy (&state->keys.waiters);
    zlistx_destroy (&state->revocations.waiters);
    json_decref (state->revocation_pages);
}

static void
s_bus_actor (zsock_t *pipe, void *args)
{
    gw_bus_t *bus = (gw_bus_t *) args;
    bus_state_t state = { .bus = bus };
    int ok = 1;
    for (int service = 0; service < GW_SERVICE_COUNT; service++) {
        state.clients [service] = pst_client_new (bus->endpoints [service], bus->curve,
                                                  gw_service_name ((gw_service_t) service));
        ok = ok && state.clients [service];
    }
    state.pending = zhashx_new ();
    state.keys = (fetch_t) { .op = "keys.jwks", .waiters = zlistx_new () };
    state.revocations = (fetch_t) { .op = "revocations.list", .waiters = zlistx_new () };
    ok = ok && state.pending && state.keys.waiters && state.revocations.waiters;
    if (!ok) {
        pst_actor_failed (pipe, "bus clients could not start");
        s_fail_all (&state);
        s_state_destroy (&state);
        return;
    }
    pst_actor_ready (pipe, NULL);
    s_keys_start (&state);
    s_revocations_start (&state);

    zmq_pollitem_t items [] = {
        { zsock_resolve (pipe), 0, ZMQ_POLLIN, 0 },
        { zsock_resolve (pst_client_sock (state.clients [GW_SERVICE_AUTHN])), 0, ZMQ_POLLIN, 0 },
        { zsock_resolve (pst_client_sock (state.clients [GW_SERVICE_MFA])), 0, ZMQ_POLLIN, 0 },
        { NULL, bus->wakeup, ZMQ_POLLIN, 0 }
    };
    while (true) {
        int64_t timeout = s_expire (&state);
        if (zmq_poll (items, 4, (long) timeout) < 0 && errno != EINTR)
            break;
        if ((items [0].revents & ZMQ_POLLIN) && pst_actor_term_received (pipe))
            break;
        //  ZMQ sockets are edge-triggered: drain whatever is there each turn
        s_receive (&state, GW_SERVICE_AUTHN);
        s_receive (&state, GW_SERVICE_MFA);
        if (items [3].revents & ZMQ_POLLIN)
            s_take_queue (&state);
    }
    s_fail_all (&state);
    s_state_destroy (&state);
}

//  ---------------------------------------------------------------------------
//  Public side, called from HTTP threads

gw_bus_t *
gw_bus_new (const gw_config_t *config, gw_keys_t *keys, gw_revocations_t *revocations)
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
    self->wakeup = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
    self->queue = zlistx_new ();
    pthread_mutex_init (&self->mutex, NULL);
    if (self->endpoints [0] && self->endpoints [1] && self->curve && self->wakeup >= 0
    &&  self->queue)
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
    zactor_destroy (&self->actor);
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
        for (int service = 0; service < GW_SERVICE_COUNT; service++)
            free (self->endpoints [service]);
        pst_curve_destroy (&self->curve);
        free (self);
        *self_p = NULL;
    }
}

static int
s_enqueue (gw_bus_t *self, job_t *job)
{
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
    job_t *job = (job_t *) calloc (1, sizeof *job);
    if (!job) {
        pst_msg_destroy (request_p);
        return -1;
    }
    *job = (job_t) { JOB_REQUEST, service, *request_p, done, arg, 0 };
    *request_p = NULL;
    if (s_enqueue (self, job) != 0) {
        s_job_destroy (&job);
        return -1;
    }
    return 0;
}

static int
s_wait (gw_bus_t *self, job_kind_t kind, gw_bus_done_fn *done, void *arg)
{
    job_t *job = (job_t *) calloc (1, sizeof *job);
    if (!job)
        return -1;
    *job = (job_t) { kind, GW_SERVICE_AUTHN, NULL, done, arg, 0 };
    if (s_enqueue (self, job) != 0) {
        s_job_destroy (&job);
        return -1;
    }
    return 0;
}

int
gw_bus_refresh_keys (gw_bus_t *self, gw_bus_done_fn *done, void *arg)
{
    return s_wait (self, JOB_KEYS, done, arg);
}

int
gw_bus_wait_revocations (gw_bus_t *self, gw_bus_done_fn *done, void *arg)
{
    return s_wait (self, JOB_REVOCATIONS, done, arg);
}
