/*  pst_bus - correlated request/reply over ZeroMQ.

    A service binds one ROUTER (its frontend). Callers connect a DEALER each
    (pst_client) and may have many requests in flight; every reply repeats its
    request's id, so a late reply to an abandoned request is recognised and dropped.
    Every bus socket caps message size (ZMQ_MAXMSGSIZE = PST_MSG_MAX_SIZE), runs
    ZMTP heartbeats so a dead peer is noticed, and does not linger on close
    (except a stopping service's frontend, for the replies of its drain).

    pst_service runs the frontend plus a pool of worker threads. A worker handles
    one request at a time with a plain synchronous handler found by op in a table,
    so handlers may block (argon2id, a call to another service) without stalling the
    others; a request goes only to an idle worker. Requests whose deadline has
    passed are dropped unanswered: the caller has already given up.
*/
#ifndef PST_BUS_H_INCLUDED
#define PST_BUS_H_INCLUDED

#include <czmq.h>
#include "pst_catalogue.h"
#include "pst_curve.h"
#include "pst_msg.h"

//  Applies the bus defaults (max message size, heartbeats, linger 0) to a socket.
void
    pst_bus_tune (zsock_t *sock);

//  Sends msg as one frame, preceded by the routing frame when route is not NULL.
//  Non-blocking: -1 when the message cannot be queued now.
int
    pst_bus_send (zsock_t *sock, zframe_t *route, const pst_msg_t *msg);

//  ---------------------------------------------------------------------------
//  Client side

typedef struct _pst_client_t pst_client_t;

//  Connects a DEALER to endpoint (or to each of a comma-separated list of
//  endpoints, a service's instances, taking turns) as curve's identity, talking only to the
//  holder of server's key (pst_curve_client). ZMQ_IMMEDIATE is on: nothing
//  queues for a peer that is not connected, so a restarted service never
//  receives requests whose callers gave up while it was down. curve may be NULL
//  only for inproc endpoints; elsewhere that is logged as insecure (the bus's
//  own unit tests). NULL when the server's key is unknown or on failure.
pst_client_t *
    pst_client_new (const char *endpoint, pst_curve_t *curve, const char *server);
void
    pst_client_destroy (pst_client_t **self_p);

//  Sends request and waits for its reply until the request's deadline. With no
//  connection to the service it waits PST_CLIENT_CONNECT_WAIT_MS at most (ZeroMQ
//  reconnects every 100 ms, so a service that is restarting is found again), not
//  the whole deadline: a worker calling a dead service must not be held, or one
//  service's outage would starve its callers' other work. Returns the
//  reply (caller owns), or NULL when the service is unreachable or silent (the
//  caller answers PST_ERR_UNAVAILABLE). Replies to other ids are discarded.
#define PST_CLIENT_CONNECT_WAIT_MS  250

pst_msg_t *
    pst_client_call (pst_client_t *self, const pst_msg_t *request);

//  The underlying socket, for callers that multiplex many requests in a poller.
zsock_t *
    pst_client_sock (pst_client_t *self);

//  The role (PST_CALLER_* bit) of the peer that sent payload, a frame read
//  from a CURVE server socket: the "service" its key was admitted as
//  (pst_auth). 0 when the frame carries no authenticated identity.
unsigned
    pst_bus_sender_role (zframe_t *payload);

//  Receives and decodes one message from a DEALER-like socket; NULL when the
//  message is malformed (it is logged and dropped).
pst_msg_t *
    pst_bus_recv_dealer (zsock_t *sock);

//  ---------------------------------------------------------------------------
//  Service side

//  A handler fills reply (body, or pst_msg_fail). worker is the value the worker
//  init function returned. Returns 0 when the reply succeeded, -1 when it was
//  failed (the reply is sent either way).
typedef int (pst_handler_fn) (void *worker, const pst_msg_t *request, pst_msg_t *reply);

//  A service's handler for the catalogue operation of that name. Services build
//  their table from their rows of pst_ops.def (see PST_WHEN in pst_catalogue.h).
typedef struct {
    const char *name;
    pst_handler_fn *handler;
} pst_handler_t;

//  Runs handler for a request that passed the central checks; the default just
//  calls it. A service whose ops share more rules (mfa: the mfa_token, replies
//  kept by request id) passes its own.
typedef int (pst_dispatch_fn) (void *worker, const pst_op_def_t *op, pst_handler_fn *handler,
                               const pst_msg_t *request, pst_msg_t *reply);

//  Per-worker state: a database connection, clients to other services...
typedef void *(pst_worker_init_fn) (void *args);
typedef void (pst_worker_destroy_fn) (void *worker);

typedef struct {
    const char *name;               //  service name for logs
    const char *endpoint;           //  frontend bind endpoint, e.g. tcp://127.0.0.1:5601
    pst_service_id_t service;       //  whose rows of the catalogue it serves
    pst_curve_t *curve;             //  its identity (borrowed); NULL: no CURVE, logged as
                                    //  insecure (the bus's own unit tests only)
    const pst_op_def_t *catalogue;  //  NULL: the operation catalogue (tests bring their own)
    const pst_handler_t *handlers;  //  one per op of the service, ended by name NULL
    pst_dispatch_fn *dispatch;      //  NULL: call the handler
    int workers;                    //  number of worker threads, ≥ 1
    pst_worker_init_fn *worker_init;
    pst_worker_destroy_fn *worker_destroy;
    void *args;                     //  passed to worker_init
} pst_service_config_t;

typedef struct _pst_service_t pst_service_t;

//  Binds the frontend and starts the workers. With a curve, the process's
//  pst_auth runs first and the frontend is a CURVE server: only peers whose
//  keys it admits connect, and only the roles the service's rows name as
//  callers get their requests handled (others are dropped unanswered, logged).
//  NULL when an op of the service has no handler, the endpoint is another
//  instance's (pst_endpoint), the bind fails or a worker cannot initialise.
pst_service_t *
    pst_service_new (const pst_service_config_t *config);
//  Stops taking requests, lets those being handled finish and their replies
//  leave (up to PST_SERVICE_DRAIN_MS), then stops the workers and closes the
//  frontend.
#define PST_SERVICE_DRAIN_MS    2500
void
    pst_service_destroy (pst_service_t **self_p);
//  The endpoint actually bound (resolves tcp://...:* to the chosen port).
const char *
    pst_service_endpoint (pst_service_t *self);

//  Runs a service as (the rest of) a pst_actor body: reports the bound endpoint
//  (pst_actor_ready, picture "s") or the failure, then serves until $TERM.
//  Services call it from their actor, which the caller starts with
//      char *endpoint = NULL;
//      zactor_t *actor = pst_actor_new (authn_server_actor, &config, "s", &endpoint);
void
    pst_service_run_actor (zsock_t *pipe, const pst_service_config_t *config);

#endif
