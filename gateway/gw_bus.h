/*  gw_bus - the gateway's one loop: the HTTP daemons and the bus, in one thread
    ("gw-loop") with one DEALER per service.

    The loop runs each libmicrohttpd daemon handed to it (gw_bus_serve), so the
    access handler runs in the thread that owns the ZeroMQ sockets: a request
    goes out from the handler that made it, and a reply resumes its connection
    in the same thread, with no hand-over between threads (each hand-over was
    a wake-up on each side). The loop sends each request, remembers it by id
    until its reply or its deadline, then calls the requester's done function
    with the outcome: the service's reply, or a temporarily_unavailable reply
    it makes itself when the service is not connected (at once, thanks to
    ZMQ_IMMEDIATE) or silent (at the deadline). A reply nobody waits for any
    more is dropped. Another thread's calls (gw_server's) go through a locked
    queue plus an eventfd.

    The loop also runs gw_fetch, which keeps gw_keys, gw_revocations and
    gw_cors current from authn (gw_fetch.h says how often); requests wait on
    it through gw_bus_refresh_keys, gw_bus_renew_keys and
    gw_bus_wait_revocations.
*/
#ifndef GW_BUS_H_INCLUDED
#define GW_BUS_H_INCLUDED

#include "gw_config.h"
#include "gw_cors.h"
#include "gw_keys.h"
#include "gw_revocations.h"
#include "gw_routes.h"
#include "pst_msg.h"
#include <microhttpd.h>
#include <stdatomic.h>

//  Daemons one loop runs at most: HTTPS and plain HTTP
#define GW_BUS_DAEMONS_MAX  2

typedef struct _gw_bus_t gw_bus_t;

//  Called exactly once per accepted submission, from the loop's thread; at
//  once, before the submission returns, when the outcome is known already. reply is
//  owned by the callee; NULL for gw_bus_refresh_keys, gw_bus_renew_keys and
//  gw_bus_wait_revocations.
typedef void (gw_bus_done_fn) (void *arg, pst_msg_t *reply);

//  Starts the loop, connected to the configured endpoints; it keeps keys,
//  revocations and cors (borrowed, must outlive it) current. NULL on failure.
gw_bus_t *
    gw_bus_new (const gw_config_t *config, gw_keys_t *keys, gw_revocations_t *revocations,
                gw_cors_t *cors);

//  Stops the loop: replies already in are handed on, requests still in flight
//  are answered temporarily_unavailable, and the daemons run until those
//  answers have left (their requests in flight at zero, at most a second);
//  what they submit meanwhile is answered temporarily_unavailable at once,
//  and once the loop has ended submissions are refused. Idempotent. The
//  daemons may be stopped once it returns.
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

//  Runs daemon (started without a thread of its own, with MHD_USE_EPOLL) in the
//  loop from now on; requests (borrowed, like daemon) counts its requests in
//  flight, which the loop's close waits for. 0, or -1 when the daemon could
//  not be added to the loop's wait or the loop has ended.
int
    gw_bus_serve (gw_bus_t *self, struct MHD_Daemon *daemon, atomic_int *requests);

//  daemon stops accepting connections, and its listening socket is closed:
//  in the loop, which runs it, or here once the loop has ended.
void
    gw_bus_unlisten (gw_bus_t *self, struct MHD_Daemon *daemon);

#endif
