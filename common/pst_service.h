/*  pst_service - a bus service: its ROUTER frontend and a pool of workers.

    pst_service runs the frontend plus a pool of worker threads. A worker handles
    one request at a time with a plain synchronous handler found by op in a table,
    so handlers may block (argon2id, a call to another service) without stalling the
    others; a request goes only to an idle worker. Requests whose deadline has
    passed are dropped unanswered: the caller has already given up.

    The workers share the frontend and take requests from it themselves, under
    a lock: idle workers sleep on its descriptor, and the kernel wakes one of
    them per signal (EPOLLEXCLUSIVE). So a request crosses no thread between
    ZeroMQ's I/O thread and its handler, and the reply leaves from the thread
    that made it. One more thread binds the frontend, starts the workers and
    drains them on $TERM.
*/
#ifndef PST_SERVICE_H_INCLUDED
#define PST_SERVICE_H_INCLUDED

#include <czmq.h>
#include "pst_catalogue.h"
#include "pst_curve.h"
#include "pst_msg.h"

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
//  Stops taking requests, lets every request being handled finish (a stop
//  lasts as long as the slowest handler: handlers keep to their request's
//  deadline, nothing interrupts them), then closes the frontend, giving the
//  replies PST_SERVICE_DRAIN_MS to leave.
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
