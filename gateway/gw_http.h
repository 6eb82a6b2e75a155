/*  gw_http - one libmicrohttpd daemon (HTTPS or plain HTTP) serving the routes.

    The daemon and its connections: binding, TLS, the connection limits, each
    connection's gw_deadline record, and the count of requests in flight. Each
    request is a gw_request, made when its request line arrives, handed every
    call of the access handler, logged and destroyed when libmicrohttpd
    completes it; gw_request says what happens to it in between.

    The front door: at most max_connections_per_ip connections per TCP peer, and
    each request's headers and body must arrive within request_deadline_s
    (gw_deadline) however steadily they trickle.

    The daemon has no thread of its own: gw_bus's loop runs it (gw_bus_serve),
    so its callbacks run in the thread that owns the bus sockets.

    Shutdown order matters: gw_http_quiesce (no new connections), a grace period
    in which requests in flight get their services' answers (gw_http_requests),
    gw_bus_close (it resumes every connection still suspended with a 503 and
    runs the daemon until those answers have left), then gw_http_destroy (the
    loop no longer runs the daemon, and MHD refuses to stop with suspended
    connections), then gw_bus_destroy.
*/
#ifndef GW_HTTP_H_INCLUDED
#define GW_HTTP_H_INCLUDED

#include "gw_bus.h"
#include "gw_config.h"
#include "gw_cors.h"
#include "gw_keys.h"
#include "gw_ratelimit.h"
#include "gw_revocations.h"
#include "gw_tls.h"

typedef struct _gw_http_t gw_http_t;

//  Listens on config->bind_address:port (0 = any free port); TLS when tls is
//  not NULL. bus, keys, revocations, cors and ratelimit (every Management API
//  request takes from it: x-ratelimit-* on each answer, 429 when empty) are
//  borrowed and must outlive the daemon. NULL on failure (logged).
gw_http_t *
    gw_http_new (const gw_config_t *config, int port, gw_tls_t *tls, gw_bus_t *bus,
                 gw_keys_t *keys, gw_revocations_t *revocations, gw_cors_t *cors,
                 gw_ratelimit_t *ratelimit);

void
    gw_http_destroy (gw_http_t **self_p);

//  The port actually bound.
int
    gw_http_port (gw_http_t *self);

//  Stops accepting connections; those already open are still served, and each
//  answer from now on closes its connection (Connection: close).
void
    gw_http_quiesce (gw_http_t *self);

//  Requests begun and not yet completed.
int
    gw_http_requests (gw_http_t *self);

#endif
