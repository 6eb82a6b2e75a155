/*  gw_request - one HTTP request, from its headers to its answer.

    The request lifecycle. Per request: route (404 / 405), accumulate the body up
    to the limit (413 beyond), parse it, have gw_auth authenticate the caller,
    build the envelope, suspend the connection while the gateway's loop waits for the
    service, then render (gw_response). The daemon (gw_http) makes one object per
    request when the request line arrives, hands it every call of libmicrohttpd's
    access handler, and destroys it in the completion callback.

    A body over the limit is read and dropped before its 413 (up to 1 MiB more),
    unless the client waits for 100 Continue, so that the client reads the 413
    rather than a reset. A path that decodes to a NUL byte is 400. OPTIONS on a
    path of the Authentication or MFA API is a CORS preflight, and their answers
    carry CORS headers (gw_cors). Management API requests take from the rate
    limit (gw_ratelimit): x-ratelimit-* on each answer, 429 when empty.

    Every call comes from the gateway's loop (gw_bus), which runs the daemon
    and the bus alike; the bus outcomes only resume the connection.
*/
#ifndef GW_REQUEST_H_INCLUDED
#define GW_REQUEST_H_INCLUDED

#include "gw_auth.h"
#include "gw_bus.h"
#include "gw_cors.h"
#include "gw_deadline.h"
#include "gw_keys.h"
#include "gw_proxy.h"
#include "gw_ratelimit.h"
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct _gw_request_t gw_request_t;

//  What the requests of one listener share. A plain record that gw_http fills
//  in and keeps; the pointers are borrowed and outlive every request.
typedef struct {
    gw_bus_t *bus;
    gw_auth_context_t *auth;
    gw_proxy_t *proxies;        //  peers whose X-Forwarded-For is believed
    gw_deadline_t *deadlines;   //  for each request's headers and body
    gw_ratelimit_t *ratelimit;  //  the Management API's buckets, shared by the listeners
    gw_cors_t *cors;            //  the origins browsers may call from
    gw_keys_t *keys;            //  the key set, whose JWKS the gateway serves itself
    size_t max_body;
    int timeout_ms;
    atomic_int stopping;        //  quiesced: answers close their connection
} gw_request_shared_t;

//  A request whose raw request target is uri (the query string is kept
//  undecoded, a %00 in the path noted before libmicrohttpd decodes it), on a
//  connection whose gw_deadline record is deadline (borrowed, may be NULL).
//  NULL when out of memory.
gw_request_t *
    gw_request_new (gw_request_shared_t *shared, const char *uri, gw_deadline_conn_t *deadline);

void
    gw_request_destroy (gw_request_t **self_p);

//  One call of libmicrohttpd's access handler for this request: the headers,
//  a piece of body (consumed: *upload_data_size is set to 0), the end of the
//  body, or the connection resumed after a wait on the bus.
enum MHD_Result
    gw_request_access (gw_request_t *self, struct MHD_Connection *connection, const char *url,
                       const char *method, const char *upload_data, size_t *upload_data_size);

//  Logs the request (http_request): method, operation, status, time taken, the
//  client's address, and whether it completed or was aborted.
void
    gw_request_log (gw_request_t *self, bool completed);

#endif
