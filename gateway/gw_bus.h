/*  gw_bus - the gateway's side of the bus: one thread, one DEALER per service.

    HTTP threads hand requests over through a locked queue plus an eventfd, so
    the ZeroMQ sockets stay in the one thread that owns them. The bus thread sends
    each request, remembers it by id until its reply or its deadline, then calls
    the requester's done function with the outcome: the service's reply, or a
    temporarily_unavailable reply it makes itself when the service is not
    connected (at once, thanks to ZMQ_IMMEDIATE) or silent (at the deadline). A
    reply nobody waits for any more is dropped.

    The bus thread also keeps gw_keys current: authn's keys.jwks at start, every
    5 minutes, and on request when a token names an unknown kid (at most once
    every config->keys_min_interval_ms, 10 s by default, unless no key set was
    ever loaded). And gw_revocations:
    authn's revocations.list at start and then a second after each fetch ends,
    page by page, installed whole once the last page is in. A fetch that fails
    (authn down or silent) leaves the list the gateway has; the next one goes a
    second later. And gw_cors the same way: authn's origins.list at start and
    then a second after each fetch ends, page by page, installed whole.
*/
#ifndef GW_BUS_H_INCLUDED
#define GW_BUS_H_INCLUDED

#include "gw_config.h"
#include "gw_cors.h"
#include "gw_keys.h"
#include "gw_revocations.h"
#include "gw_routes.h"
#include "pst_msg.h"

#define GW_BUS_KEYS_REFRESH_MS      (5 * 60 * 1000)
#define GW_BUS_REVOCATIONS_POLL_MS  1000
#define GW_BUS_ORIGINS_POLL_MS      1000

typedef struct _gw_bus_t gw_bus_t;

//  Called exactly once per accepted submission, from the bus thread. reply is
//  owned by the callee; NULL for gw_bus_refresh_keys, gw_bus_renew_keys and
//  gw_bus_wait_revocations.
typedef void (gw_bus_done_fn) (void *arg, pst_msg_t *reply);

//  Starts the bus thread, connected to the configured endpoints; it keeps keys,
//  revocations and cors (borrowed, must outlive it) current. NULL on failure.
gw_bus_t *
    gw_bus_new (const gw_config_t *config, gw_keys_t *keys, gw_revocations_t *revocations,
                gw_cors_t *cors);

//  Stops the bus thread: requests in flight are answered temporarily_unavailable,
//  later submissions are refused. Idempotent.
void
    gw_bus_close (gw_bus_t *self);

//  Closes, then frees.
void
    gw_bus_destroy (gw_bus_t **self_p);

//  Queues request for service, taking ownership of *request_p. Returns 0, or -1
//  when the bus is closed (the request is destroyed and done is never called).
int
    gw_bus_submit (gw_bus_t *self, gw_service_t service, pst_msg_t **request_p,
                   gw_bus_done_fn *done, void *arg);

//  Asks for a fresh key set; done (arg, NULL) once the fetch is over, or soon
//  when the last fetch started less than keys_min_interval_ms ago. 0 or -1 (closed).
int
    gw_bus_refresh_keys (gw_bus_t *self, gw_bus_done_fn *done, void *arg);

//  The keys changed (a rotation answered): done (arg, NULL) once a key fetch
//  that started after this call is over, whatever came of it. 0 or -1 (closed).
int
    gw_bus_renew_keys (gw_bus_t *self, gw_bus_done_fn *done, void *arg);

//  Waits for the first revocation list: done (arg, NULL) at once when it is
//  installed already, else once the fetch under way (started if none is) is
//  over, whatever came of it. 0 or -1 (closed).
int
    gw_bus_wait_revocations (gw_bus_t *self, gw_bus_done_fn *done, void *arg);

#endif
