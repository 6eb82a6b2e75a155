#include "pst_service.h"
#include "pst_bus.h"
#include "pst_sql.h"
#include "pst_auth.h"
#include "pst_curve.h"
#include "pst_endpoint.h"
#include "pst_actor.h"
#include "pst_error.h"
#include "pst_log.h"
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

//  ---------------------------------------------------------------------------
//  Service: one ROUTER frontend, shared by its workers in turn

//  One op the service serves: its catalogue row and its handler
typedef struct {
    const pst_op_def_t *def;
    pst_handler_fn *handler;
} s_op_t;

//  The workers take requests from the frontend themselves, one at a time, so a
//  request crosses no thread between the bus's I/O thread and its handler. Idle
//  workers sleep on the frontend's descriptor, each in an epoll of its own with
//  EPOLLEXCLUSIVE, so the kernel wakes one of them, not all, when it signals.
//  Requests thus go only to idle workers, and a cheap one (a JWKS, an M2M
//  token) never waits behind an argon2id hash or a call to a service that is
//  down while another worker idles. Until a worker is free they wait in the
//  frontend's queue.
//  A ZeroMQ socket is not thread-safe: every use of the frontend holds `lock`
//  (which also gives the full barrier libzmq asks of a socket that changes
//  threads); the sleepers wait without it. The descriptor signals once for
//  what arrived since the socket was last used, and any use may consume that
//  signal, so a worker that takes a request looks whether another waits and, if
//  so, wakes one more idle worker through `wake_fd` (s_pass_on).
struct _pst_service_t {
    pst_service_config_t config;
    s_op_t *ops;                //  the service's rows of the catalogue, ended by def NULL
    unsigned callers;           //  who may send any of them (PST_CALLER_* bits)
    pst_endpoint_t *claim;      //  the endpoint, while this instance holds it
    bool authenticating;        //  holds the process's pst_auth
    zactor_t *front;            //  binds the frontend, starts the workers, drains on $TERM
    char *endpoint;

    int workers;                //  how many worker threads run
    int frontend_fd;            //  ZMQ_FD of the frontend: idle workers wait on it
    int wake_fd;                //  eventfd, counting: each unit wakes one idle worker
    pthread_mutex_t lock;       //  guards what follows
    zsock_t *frontend;
    int waking;                 //  wake-ups s_pass_on counted, not yet read by a sleeper
    bool closed;                //  no more requests are taken: workers end
};

static const s_op_t *
s_find_op (const s_op_t *ops, const char *name)
{
    for (const s_op_t *op = ops; name && op->def; op++)
        if (streq (op->def->name, name))
            return op;
    return NULL;
}

//  Validates centrally, then dispatches: handlers only see live, known,
//  permitted requests, from a peer the op's row lets call it, with the params
//  the row requires. zmsg is [routing id][sender's role][payload] (s_take);
//  the routing id is left in it for the reply. The reply, or NULL when the
//  request is dropped unanswered.
static pst_msg_t *
s_handle (const pst_service_t *service, void *worker, zmsg_t *zmsg)
{
    const pst_service_config_t *config = &service->config;
    pst_msg_t *request = pst_bus_decode_last (zmsg, config->name);
    if (!request)
        return NULL;
    zframe_t *payload = zmsg_last (zmsg);
    zmsg_remove (zmsg, payload);
    zframe_destroy (&payload);
    zframe_t *role_frame = zmsg_last (zmsg);
    unsigned role = zframe_size (role_frame) == 1? *zframe_data (role_frame): 0;
    zmsg_remove (zmsg, role_frame);
    zframe_destroy (&role_frame);

    if (pst_msg_remaining_ms (request) <= 0) {
        pst_log (PST_LOG_INFO, "bus_request_expired", "service", config->name,
                 "op", pst_msg_op (request), "request_id", pst_msg_id (request), NULL);
        pst_msg_destroy (&request);
        return NULL;
    }
    const s_op_t *op = s_find_op (service->ops, pst_msg_op (request));
    //  A peer asking for what its role may not is not answered: it is either
    //  broken or an attacker holding a stolen key, and neither needs to learn more
    if (op && !(op->def->callers & role)) {
        pst_log (PST_LOG_WARN, "bus_caller_refused", "service", config->name,
                 "op", op->def->name, "caller", pst_curve_role_name (role), NULL);
        pst_msg_destroy (&request);
        return NULL;
    }
    //  Who the request is for and with which scopes is believed from the gateway,
    //  which verified the access token, and from authn, which passes the
    //  gateway's on after its own row checked them; from no one else
    if (!(role & (PST_CALLER_GATEWAY | PST_CALLER_AUTHN)))
        pst_msg_set_caller (request, NULL, NULL);
    pst_msg_t *reply = pst_msg_new_reply (request);
    if (!op)
        pst_msg_fail (reply, PST_ERR_INVALID_REQUEST, "Unknown operation %s", pst_msg_op (request));
    else
    if (pst_catalogue_check (op->def, request, reply) == 0) {
        pst_sql_unavailable_clear ();
        if (config->dispatch)
            config->dispatch (worker, op->def, op->handler, request, reply);
        else
            op->handler (worker, request, reply);
        //  A request that failed while its database could not be reached is
        //  worth retrying: 503, as for a service that is down. Whatever the
        //  handler answered: a read that failed may have looked like "no such
        //  client" to it, and that answer would be a lie.
        if (pst_msg_is_error (reply) && pst_sql_unavailable_seen ())
            pst_msg_fail (reply, PST_ERR_UNAVAILABLE, "The database is unavailable");
    }
    pst_msg_destroy (&request);
    return reply;
}

//  "mfa-work", "authn-front": which service, which role
static void
s_name_thread (const pst_service_config_t *config, const char *role)
{
    char name [32];
    snprintf (name, sizeof name, "%s-%s", config->name? config->name: "service", role);
    pst_actor_name (name);
}

//  What s_take dropped, for the log once the lock is released
typedef struct {
    const char *event;          //  NULL: nothing was dropped
    uint8_t role;
} s_dropped_t;

static void
s_log_dropped (const pst_service_t *self, const s_dropped_t *dropped)
{
    if (dropped->event && streq (dropped->event, "bus_malformed"))
        pst_log (PST_LOG_WARN, dropped->event, "service", self->config.name,
                 "reason", "no route", NULL);
    else
    if (dropped->event)
        pst_log (PST_LOG_WARN, dropped->event, "service", self->config.name,
                 "caller", pst_curve_role_name (dropped->role), NULL);
}

//  Under lock. The next request waiting in the frontend, as [routing id][the
//  sender's role][payload], or NULL when none is or when one was dropped (said
//  in *dropped). The role is its key's, as CURVE authenticated it (the
//  metadata does not survive the frame's split). A sender that is no caller of
//  this service, or a message of another shape, is dropped here, before it
//  costs a handler.
static zmsg_t *
s_take (pst_service_t *self, s_dropped_t *dropped)
{
    zmsg_t *zmsg = zmsg_recv_nowait (self->frontend);
    if (!zmsg)
        return NULL;
    if (zmsg_size (zmsg) != 2) {
        *dropped = (s_dropped_t) { "bus_malformed", 0 };
        zmsg_destroy (&zmsg);
        return NULL;
    }
    //  Without CURVE (the bus's own unit tests) every peer may do anything
    uint8_t role = self->config.curve? (uint8_t) pst_bus_sender_role (zmsg_last (zmsg)): 0xff;
    if (!(role & self->callers)) {
        *dropped = (s_dropped_t) { "bus_sender_refused", role };
        zmsg_destroy (&zmsg);
        return NULL;
    }
    zframe_t *payload = zmsg_last (zmsg);
    zmsg_remove (zmsg, payload);
    zmsg_addmem (zmsg, &role, 1);
    zmsg_append (zmsg, &payload);
    return zmsg;
}

//  One more idle worker wakes (or the next to go idle passes its wait).
//  Whether the unit was written.
static bool
s_wake_one (pst_service_t *self)
{
    uint64_t one = 1;
    if (write (self->wake_fd, &one, sizeof one) == sizeof one)
        return true;
    if (errno != EAGAIN)
        pst_log (PST_LOG_ERROR, "bus_wake_failed", "service", self->config.name, NULL);
    return false;
}

//  Under lock, once a worker has taken a request: taking it may have consumed
//  the descriptor's signal of another that waits, which no sleeper would then
//  see; one is woken for it. A few at a time, each woken one passing on in turn
//  once it has taken its request: a worker woken for every request seen
//  waiting often found it taken (a context switch for nothing, and on two
//  cores the others wait longer to run), and one at a time left requests
//  waiting while the chain of wake-ups ran (bench/README.md, session 24).
//
//  Whether one is to be woken, counted in waking now. The unit is written
//  once the lock is released (s_pass_on_unlocked): a sleeper woken under the
//  lock may preempt its holder, and every worker would wait for the holder.
//  (The close's units are written under it: a stop is not worth the care.)
#define PST_SERVICE_WAKING_MAX  2
static bool
s_pass_on (pst_service_t *self)
{
    if (self->waking < PST_SERVICE_WAKING_MAX && (zsock_events (self->frontend) & ZMQ_POLLIN)) {
        self->waking++;
        return true;
    }
    return false;
}

//  Not under lock: writes the unit s_pass_on counted. One that failed wakes
//  no one and is taken out of the count, or two such would end the passing
//  on for good
static void
s_pass_on_unlocked (pst_service_t *self, bool wake)
{
    if (wake && !s_wake_one (self)) {
        pthread_mutex_lock (&self->lock);
        if (self->waking > 0)
            self->waking--;
        pthread_mutex_unlock (&self->lock);
    }
}

//  Under lock. The next request, once one comes (waiting for it unlocked in
//  epoll, as one of the idle workers), or NULL once the service closes.
//  *wake: whether the caller is to wake one more, unlocked (s_pass_on).
static zmsg_t *
s_next_request (pst_service_t *self, int epoll_fd, bool *wake)
{
    *wake = false;
    zmsg_t *zmsg = NULL;
    s_dropped_t dropped = { NULL, 0 };
    while (!self->closed && !(zmsg = s_take (self, &dropped))) {
        pthread_mutex_unlock (&self->lock);
        if (dropped.event) {
            //  Logged unlocked, and the frontend is looked at again at once
            s_log_dropped (self, &dropped);
            dropped.event = NULL;
            pthread_mutex_lock (&self->lock);
            continue;
        }
        struct epoll_event events [2];
        int count = epoll_wait (epoll_fd, events, 2, -1);
        bool woken = false;
        for (int i = 0; i < count; i++)
            if (events [i].data.fd == self->wake_fd) {
                uint64_t unit;
                woken = read (self->wake_fd, &unit, sizeof unit) == sizeof unit;
                if (!woken && errno != EAGAIN)
                    pst_log (PST_LOG_ERROR, "bus_wake_failed", "service", self->config.name, NULL);
            }
        if (count < 0 && errno != EINTR) {
            pst_log (PST_LOG_ERROR, "bus_poll_failed", "service", self->config.name,
                     "reason", strerror (errno), NULL);
            zclock_sleep (10);      //  not a busy loop, whatever the cause
        }
        pthread_mutex_lock (&self->lock);
        if (woken && self->waking > 0)
            self->waking--;
    }
    if (zmsg)
        *wake = s_pass_on (self);
    else
        //  The close wakes one sleeper, and each that leaves wakes the next: a
        //  unit per worker written at once could reach one sleeper twice
        s_wake_one (self);
    return zmsg;
}

//  The worker's own epoll on the frontend's descriptor and wake_fd, each
//  exclusive: one sleeper wakes for each signal. -1 on failure.
static int
s_worker_epoll (pst_service_t *self)
{
    int epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
    int fds [2] = { self->frontend_fd, self->wake_fd };
    for (int i = 0; epoll_fd >= 0 && i < 2; i++) {
        struct epoll_event event = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = fds [i] };
        if (epoll_ctl (epoll_fd, EPOLL_CTL_ADD, fds [i], &event) != 0) {
            close (epoll_fd);
            epoll_fd = -1;
        }
    }
    return epoll_fd;
}

static void
s_worker_actor (zsock_t *pipe, void *args)
{
    pst_service_t *self = (pst_service_t *) args;
    const pst_service_config_t *config = &self->config;
    s_name_thread (config, "work");
    void *worker = config->worker_init? config->worker_init (config->args): config->args;
    int epoll_fd = s_worker_epoll (self);
    if ((config->worker_init && !worker) || epoll_fd < 0) {
        if (epoll_fd >= 0)
            close (epoll_fd);
        if (worker && config->worker_init && config->worker_destroy)
            config->worker_destroy (worker);
        pst_actor_failed (pipe, "worker could not start");
        return;
    }
    pst_actor_ready (pipe, NULL);

    pthread_mutex_lock (&self->lock);
    zmsg_t *zmsg;
    bool wake;
    while ((zmsg = s_next_request (self, epoll_fd, &wake))) {
        pthread_mutex_unlock (&self->lock);
        s_pass_on_unlocked (self, wake);
        pst_msg_t *reply = s_handle (self, worker, zmsg);
        uint8_t *data = NULL;
        size_t size = 0;
        if (reply && pst_msg_encode (reply, &data, &size) != 0)
            pst_log (PST_LOG_WARN, "bus_reply_dropped", "service", config->name,
                     "op", pst_msg_op (reply), NULL);
        pst_msg_destroy (&reply);
        pthread_mutex_lock (&self->lock);
        //  Behind the request's routing id (a ROUTER drops what it cannot
        //  route: a caller gone). The send may consume the signal of a request
        //  that came meanwhile: this worker, idle now, looks for one first
        //  thing (s_next_request)
        bool sent = !data || pst_bus_send_encoded (self->frontend, zmsg, data, size) == 0;
        if (!sent) {
            pthread_mutex_unlock (&self->lock);
            pst_log (PST_LOG_WARN, "bus_reply_dropped", "service", config->name, NULL);
            pthread_mutex_lock (&self->lock);
        }
        zmsg_destroy (&zmsg);
        free (data);
    }
    pthread_mutex_unlock (&self->lock);
    close (epoll_fd);
    pst_actor_wait_term (pipe);
    if (config->worker_init && config->worker_destroy)
        config->worker_destroy (worker);
}

//  No more requests are taken, and every idle worker ends (one woken here,
//  each wakes the next as it leaves: s_next_request)
static void
s_close (pst_service_t *self)
{
    pthread_mutex_lock (&self->lock);
    self->closed = true;
    s_wake_one (self);
    pthread_mutex_unlock (&self->lock);
}

//  Ends the workers: those idle at once, each busy one once its handler has
//  returned and its reply is sent. Then the replies sent must not die with the
//  socket: they get PST_SERVICE_DRAIN_MS to leave.
static void
s_stop_workers (pst_service_t *self, zactor_t **workers, int nworkers)
{
    s_close (self);
    for (int i = 0; workers && i < nworkers; i++)
        zactor_destroy (&workers [i]);
    zsock_set_linger (self->frontend, PST_SERVICE_DRAIN_MS);
}

static void
s_front_actor (zsock_t *pipe, void *args)
{
    pst_service_t *self = (pst_service_t *) args;
    const pst_service_config_t *config = &self->config;
    s_name_thread (config, "front");
    int nworkers = self->workers;
    zactor_t **workers = (zactor_t **) calloc ((size_t) nworkers, sizeof *workers);
    int ok = workers && self->frontend;
    if (ok) {
        pst_bus_tune (self->frontend);
        ok = (!config->curve || pst_curve_server (config->curve, self->frontend) == 0)
          && zsock_bind (self->frontend, "%s", config->endpoint) >= 0;
        if (!ok)
            pst_log (PST_LOG_ERROR, "bus_bind_failed", "service", config->name,
                     "endpoint", config->endpoint, NULL);
    }
    //  Read before the workers share the socket
    char *endpoint = ok? zsock_last_endpoint (self->frontend): NULL;
    for (int i = 0; ok && i < nworkers; i++) {
        workers [i] = pst_actor_new (s_worker_actor, self, NULL);
        ok = workers [i] != NULL;
    }
    if (!ok) {
        s_stop_workers (self, workers, nworkers);
        free (workers);
        zstr_free (&endpoint);
        pst_actor_failed (pipe, "frontend or workers could not start");
        return;
    }
    pst_actor_ready (pipe, "s", endpoint? endpoint: config->endpoint);
    pst_log (PST_LOG_INFO, "service_started", "service", config->name,
             "endpoint", endpoint? endpoint: config->endpoint, NULL);
    zstr_free (&endpoint);

    //  On $TERM: no new requests; those being handled finish and their replies
    //  go out, so a planned restart answers what it had started. What still
    //  waits in the frontend's queue is left: its callers get their 503 at
    //  their deadline, as for a crash.
    pst_actor_wait_term (pipe);
    s_stop_workers (self, workers, nworkers);
    free (workers);
}

//  The service's rows of the catalogue, each with its handler; NULL (logged)
//  when a row has none, so a service never starts with an op it cannot run.
static s_op_t *
s_resolve_ops (const pst_service_config_t *config)
{
    const pst_op_def_t *catalogue = config->catalogue? config->catalogue: pst_catalogue ();
    size_t count = 0;
    for (const pst_op_def_t *def = catalogue; def->name; def++)
        count += def->service == config->service;
    s_op_t *ops = (s_op_t *) calloc (count + 1, sizeof *ops);
    size_t used = 0;
    for (const pst_op_def_t *def = catalogue; ops && def->name; def++) {
        if (def->service != config->service)
            continue;
        const pst_handler_t *entry = config->handlers;
        while (entry && entry->name && !streq (entry->name, def->name))
            entry++;
        if (!entry || !entry->name || !entry->handler) {
            pst_log (PST_LOG_ERROR, "bus_op_without_handler", "service", config->name,
                     "op", def->name, NULL);
            free (ops);
            return NULL;
        }
        ops [used].def = def;
        ops [used++].handler = entry->handler;
    }
    return ops;
}

pst_service_t *
pst_service_new (const pst_service_config_t *config)
{
    pst_service_t *self = (pst_service_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->config = *config;
    self->wake_fd = -1;
    self->workers = config->workers > 0? config->workers: 1;
    pthread_mutex_init (&self->lock, NULL);
    self->ops = s_resolve_ops (config);
    for (const s_op_t *op = self->ops; op && op->def; op++)
        self->callers |= op->def->callers;
    pst_bus_insecure_said (config->endpoint, config->curve, "server");
    //  The handler must run before the bind: a CURVE server without one admits
    //  any key. And no two instances on one endpoint
    if (self->ops && config->curve)
        self->authenticating = pst_auth_acquire (pst_curve_dir (config->curve)) == 0;
    if (self->ops && (!config->curve || self->authenticating))
        self->claim = pst_endpoint_claim (config->endpoint);
    if (self->claim) {
        self->wake_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE);
        self->frontend = zsock_new (ZMQ_ROUTER);
    }
    if (self->frontend && self->wake_fd >= 0) {
        self->frontend_fd = zsock_fd (self->frontend);
        self->front = pst_actor_new (s_front_actor, self, "s", &self->endpoint);
    }
    if (!self->front || !self->endpoint || !*self->endpoint)
        pst_service_destroy (&self);
    return self;
}

void
pst_service_destroy (pst_service_t **self_p)
{
    if (self_p && *self_p) {
        pst_service_t *self = *self_p;
        //  The workers end, then the socket closes: it must not outlive the handler
        zactor_destroy (&self->front);
        zsock_destroy (&self->frontend);
        if (self->wake_fd >= 0)
            close (self->wake_fd);
        pst_endpoint_release (&self->claim);
        if (self->authenticating)
            pst_auth_release ();
        pthread_mutex_destroy (&self->lock);
        zstr_free (&self->endpoint);
        free (self->ops);
        free (self);
        *self_p = NULL;
    }
}

const char *
pst_service_endpoint (pst_service_t *self)
{
    return self->endpoint;
}

void
pst_service_run_actor (zsock_t *pipe, const pst_service_config_t *config)
{
    pst_service_t *service = pst_service_new (config);
    if (!service) {
        pst_actor_failed (pipe, "service could not start");
        return;
    }
    pst_actor_ready (pipe, "s", pst_service_endpoint (service));
    pst_actor_wait_term (pipe);
    pst_service_destroy (&service);
}
