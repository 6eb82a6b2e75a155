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
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

//  ---------------------------------------------------------------------------
//  Service: ROUTER frontend, inproc DEALER backend, workers with DEALERs

//  One op the service serves: its catalogue row and its handler
typedef struct {
    const pst_op_def_t *def;
    pst_handler_fn *handler;
} s_op_t;

struct _pst_service_t {
    pst_service_config_t config;
    s_op_t *ops;                //  the service's rows of the catalogue, ended by def NULL
    unsigned callers;           //  who may send any of them (PST_CALLER_* bits)
    pst_endpoint_t *claim;      //  the endpoint, while this instance holds it
    bool authenticating;        //  holds the process's pst_auth
    zactor_t *proxy;
    char *endpoint;
    atomic_bool stopping;       //  the proxy has drained: workers end
};

//  How long an idle worker waits in a receive before it looks at stopping
#define PST_WORKER_IDLE_MS      1000

typedef struct {
    const pst_service_t *service;
    const char *backend;
} worker_args_t;

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
//  the row requires. zmsg is [routing id][sender's role][payload] (s_to_worker).
//  1 when a reply went out to the proxy (which then counts the worker ready),
//  0 when the request was dropped
static int
s_handle (const pst_service_t *service, void *worker, zsock_t *sock, zmsg_t *zmsg)
{
    const pst_service_config_t *config = &service->config;
    if (zmsg_size (zmsg) < 3) {
        pst_log (PST_LOG_WARN, "bus_malformed", "service", config->name, "reason", "no route", NULL);
        return 0;
    }
    pst_msg_t *request = pst_bus_decode_last (zmsg, config->name);
    if (!request)
        return 0;
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
        return 0;
    }
    const s_op_t *op = s_find_op (service->ops, pst_msg_op (request));
    //  A peer asking for what its role may not is not answered: it is either
    //  broken or an attacker holding a stolen key, and neither needs to learn more
    if (op && !(op->def->callers & role)) {
        pst_log (PST_LOG_WARN, "bus_caller_refused", "service", config->name,
                 "op", op->def->name, "caller", pst_curve_role_name (role), NULL);
        pst_msg_destroy (&request);
        return 0;
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
    int sent = pst_bus_send_routed (sock, zmsg, reply) == 0;
    if (!sent)
        pst_log (PST_LOG_WARN, "bus_reply_dropped", "service", config->name,
                 "op", pst_msg_op (request), NULL);
    pst_msg_destroy (&reply);
    pst_msg_destroy (&request);
    return sent;
}

//  "mfa-work", "authn-proxy": which service, which role
static void
s_name_thread (const pst_service_config_t *config, const char *role)
{
    char name [32];
    snprintf (name, sizeof name, "%s-%s", config->name? config->name: "service", role);
    pst_actor_name (name);
}

static void
s_worker_actor (zsock_t *pipe, void *args)
{
    worker_args_t *wargs = (worker_args_t *) args;
    const pst_service_config_t *config = &wargs->service->config;
    s_name_thread (config, "work");
    void *worker = config->worker_init? config->worker_init (config->args): config->args;
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    if ((config->worker_init && !worker) || !sock
    ||  zsock_connect (sock, "%s", wargs->backend) != 0) {
        zsock_destroy (&sock);
        if (worker && config->worker_init && config->worker_destroy)
            config->worker_destroy (worker);
        pst_actor_failed (pipe, "worker could not start");
        return;
    }
    zsock_set_linger (sock, 0);
    pst_actor_ready (pipe, NULL);

    //  A worker is ready for one request at start and after each request: a
    //  reply says so, and a request dropped unanswered is followed by one empty
    //  frame (see s_proxy_actor). One message per request, not two, saves the
    //  proxy a wake-up per request.
    //  It waits in a receive on its socket alone, not in a poll with its pipe:
    //  libzmq's zmq_poll costs about ten system calls a wake-up where a
    //  receive costs four (docs/performance.md). So the proxy tells it to stop
    //  through the socket: a message of one frame once `stopping` is set; the
    //  receive's timeout covers a worker the proxy did not see ready.
    zsock_set_rcvtimeo (sock, PST_WORKER_IDLE_MS);
    bool ready_owed = true;
    while (!atomic_load (&wargs->service->stopping)) {
        if (ready_owed && zmq_send (zsock_resolve (sock), "", 0, 0) != 0)
            break;
        ready_owed = false;
        zmsg_t *zmsg = zmsg_recv (sock);
        if (!zmsg && (errno == EAGAIN || errno == EINTR))
            continue;           //  idle, or a signal: look at stopping again
        if (!zmsg || atomic_load (&wargs->service->stopping)) {
            zmsg_destroy (&zmsg);
            break;
        }
        ready_owed = !s_handle (wargs->service, worker, sock, zmsg);
        zmsg_destroy (&zmsg);
    }
    zsock_destroy (&sock);
    pst_actor_wait_term (pipe);
    if (config->worker_init && config->worker_destroy)
        config->worker_destroy (worker);
}

//  A request from the frontend, to the worker that has waited longest, with
//  the sender's role: its key's, as CURVE authenticated it (the metadata does
//  not cross to the worker). A sender that is no caller of this service is
//  dropped here, before it costs a worker.
//  False when none was waiting.
static bool
s_to_worker (pst_service_t *self, zsock_t *frontend, zsock_t *back, zlist_t *ready)
{
    zmsg_t *zmsg = zmsg_recv (frontend);
    if (!zmsg)
        return false;
    if (zmsg_size (zmsg) == 2) {
        //  Without CURVE (the bus's own unit tests) every peer may do anything
        uint8_t role = self->config.curve? (uint8_t) pst_bus_sender_role (zmsg_last (zmsg)): 0xff;
        if (!(role & self->callers)) {
            pst_log (PST_LOG_WARN, "bus_sender_refused", "service", self->config.name,
                     "caller", pst_curve_role_name (role), NULL);
            zmsg_destroy (&zmsg);
        }
        else {
            zframe_t *payload = zmsg_last (zmsg);
            zmsg_remove (zmsg, payload);
            zmsg_addmem (zmsg, &role, 1);
            zmsg_append (zmsg, &payload);
        }
    }
    else
        zmsg_destroy (&zmsg);
    zframe_t *worker = zmsg? (zframe_t *) zlist_pop (ready): NULL;
    if (zmsg && worker) {
        zmsg_prepend (zmsg, &worker);
        if (zmsg_send (&zmsg, back) != 0)
            zmsg_destroy (&zmsg);
    }
    zframe_destroy (&worker);
    zmsg_destroy (&zmsg);
    return true;
}

//  From a worker, which is ready again: a readiness signal alone (one empty
//  frame: the request it had was dropped, or it has just started), or a reply for the
//  frontend behind the worker's identity. False when none was waiting.
static bool
s_from_worker (zsock_t *back, zsock_t *frontend, zlist_t *ready)
{
    zmsg_t *zmsg = zmsg_recv (back);
    if (!zmsg)
        return false;
    zframe_t *worker = zmsg_pop (zmsg);
    if (!worker) {
        zmsg_destroy (&zmsg);
        return true;
    }
    int signal_only = zmsg_size (zmsg) == 1 && zframe_size (zmsg_first (zmsg)) == 0;
    if (!signal_only && zmsg_size (zmsg) > 0 && zmsg_send (&zmsg, frontend) != 0)
        zmsg_destroy (&zmsg);
    if (zlist_append (ready, worker) != 0)
        zframe_destroy (&worker);
    zmsg_destroy (&zmsg);
    return true;
}

//  On $TERM: no new requests; those being handled finish and their replies go
//  out, for up to PST_SERVICE_DRAIN_MS, so a planned restart answers what it
//  had started. What still waits in the frontend's queue is left: its callers
//  get their 503 at their deadline, as for a crash.
static void
s_drain (zsock_t *back, zsock_t *frontend, zlist_t *ready, int nworkers)
{
    int64_t until = zclock_mono () + PST_SERVICE_DRAIN_MS;
    zmq_pollitem_t item = { zsock_resolve (back), 0, ZMQ_POLLIN, 0 };
    while ((int) zlist_size (ready) < nworkers) {
        int64_t left = until - zclock_mono ();
        if (left <= 0)
            break;
        int rc = zmq_poll (&item, 1, (long) left);
        if (rc < 0 && errno != EINTR)
            break;
        if (rc > 0)
            s_from_worker (back, frontend, ready);
    }
    //  The replies just sent must not die with the socket
    zsock_set_linger (frontend, PST_SERVICE_DRAIN_MS);
}

//  After the drain: every worker ends, those waiting for a request at once (a
//  message of one frame wakes each), one still busy when it next looks
static void
s_stop_workers (pst_service_t *self, zsock_t *back, zlist_t *ready)
{
    atomic_store (&self->stopping, true);
    for (zframe_t *worker = (zframe_t *) zlist_first (ready); worker;
         worker = (zframe_t *) zlist_next (ready))
        if (zmq_send (zsock_resolve (back), zframe_data (worker), zframe_size (worker),
                      ZMQ_SNDMORE | ZMQ_DONTWAIT) == 0)
            zmq_send (zsock_resolve (back), "", 0, ZMQ_DONTWAIT);
}

static void
s_proxy_actor (zsock_t *pipe, void *args)
{
    pst_service_t *self = (pst_service_t *) args;
    const pst_service_config_t *config = &self->config;
    s_name_thread (config, "proxy");
    int nworkers = config->workers > 0? config->workers: 1;
    zactor_t **workers = (zactor_t **) calloc ((size_t) nworkers, sizeof *workers);
    //  inproc names are released asynchronously, so never reuse one
    static _Atomic unsigned s_instances = 0;
    char backend [64];
    snprintf (backend, sizeof backend, "inproc://pst-service-%u", s_instances++);
    worker_args_t wargs = { self, backend };

    //  Requests go only to idle workers: a DEALER would deal them round-robin,
    //  so a cheap request (a JWKS, an M2M token) could wait behind an argon2id
    //  hash or a call to a service that is down while other workers sat idle.
    //  Until a worker is free they wait in the frontend's queue.
    zsock_t *frontend = zsock_new (ZMQ_ROUTER);
    zsock_t *back = zsock_new (ZMQ_ROUTER);
    zlist_t *ready = zlist_new ();
    int ok = workers && frontend && back && ready;
    if (ok) {
        pst_bus_tune (frontend);
        zsock_set_linger (back, 0);
        ok = (!config->curve || pst_curve_server (config->curve, frontend) == 0)
          && zsock_bind (frontend, "%s", config->endpoint) >= 0
          && zsock_bind (back, "%s", backend) == 0;
        if (!ok)
            pst_log (PST_LOG_ERROR, "bus_bind_failed", "service", config->name,
                     "endpoint", config->endpoint, NULL);
    }
    for (int i = 0; ok && i < nworkers; i++) {
        workers [i] = pst_actor_new (s_worker_actor, &wargs, NULL);
        ok = workers [i] != NULL;
    }
    if (!ok) {
        for (int i = 0; workers && i < nworkers; i++)
            zactor_destroy (&workers [i]);
        zsock_destroy (&back);
        zsock_destroy (&frontend);
        zlist_destroy (&ready);
        free (workers);
        pst_actor_failed (pipe, "frontend or workers could not start");
        return;
    }
    char *endpoint = zsock_last_endpoint (frontend);
    pst_actor_ready (pipe, "s", endpoint? endpoint: config->endpoint);
    pst_log (PST_LOG_INFO, "service_started", "service", config->name,
             "endpoint", endpoint? endpoint: config->endpoint, NULL);
    zstr_free (&endpoint);

    //  Each socket is read until it is empty, again while a round moved
    //  anything, then the thread waits (pst_actor_wait says why). The
    //  frontend is only read, and waited on, while some worker is ready.
    zsock_set_rcvtimeo (back, 0);
    zsock_set_rcvtimeo (frontend, 0);
    zsock_t *sockets [2] = { back, frontend };
    bool term = pst_actor_term_pending (pipe);
    while (!term) {
        bool moved;
        do {
            moved = false;
            while (s_from_worker (back, frontend, ready))
                moved = true;
            while (zlist_size (ready) > 0 && s_to_worker (self, frontend, back, ready))
                moved = true;
        } while (moved);
        int woke = pst_actor_wait (pipe, sockets, zlist_size (ready) > 0? 2: 1, -1, -1);
        if (woke < 0)
            break;
        term = (woke & PST_ACTOR_WOKE_TERM) != 0;
    }
    if (term) {
        s_drain (back, frontend, ready, nworkers);
        s_stop_workers (self, back, ready);
    }
    for (int i = 0; i < nworkers; i++)
        zactor_destroy (&workers [i]);
    free (workers);
    zsock_destroy (&back);
    zsock_destroy (&frontend);
    zframe_t *worker;
    while ((worker = (zframe_t *) zlist_pop (ready)))
        zframe_destroy (&worker);
    zlist_destroy (&ready);
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
    if (self->claim)
        self->proxy = pst_actor_new (s_proxy_actor, self, "s", &self->endpoint);
    if (!self->proxy || !self->endpoint || !*self->endpoint)
        pst_service_destroy (&self);
    return self;
}

void
pst_service_destroy (pst_service_t **self_p)
{
    if (self_p && *self_p) {
        pst_service_t *self = *self_p;
        //  The sockets close first: they must not outlive the handler
        zactor_destroy (&self->proxy);
        pst_endpoint_release (&self->claim);
        if (self->authenticating)
            pst_auth_release ();
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
