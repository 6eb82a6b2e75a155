#include "gw_server.h"
#include "gw_bus.h"
#include "gw_config.h"
#include "gw_cors.h"
#include "gw_http.h"
#include "gw_keys.h"
#include "gw_ratelimit.h"
#include "gw_revocations.h"
#include "gw_tls.h"
#include "pst_actor.h"
#include "pst_log.h"

//  Management API callers with a bucket not yet full again, at most
#define RATELIMIT_KEYS  10000

typedef struct {
    gw_tls_t *tls;
    gw_keys_t *keys;
    gw_revocations_t *revocations;
    gw_cors_t *cors;
    gw_ratelimit_t *ratelimit;
    gw_bus_t *bus;
    gw_http_t *https;
    gw_http_t *http;
} server_t;

static int
s_start (server_t *server, const gw_config_t *config)
{
    if (config->https_port == GW_PORT_OFF && config->http_port == GW_PORT_OFF) {
        pst_log (PST_LOG_ERROR, "gateway_no_listener", NULL);
        return -1;
    }
    if (config->https_port != GW_PORT_OFF) {
        server->tls = gw_tls_new (config->tls_cert, config->tls_key, config->domain);
        if (!server->tls)
            return -1;
        if (gw_tls_ca_path (server->tls))
            pst_log (PST_LOG_INFO, "tls_development_ca", "ca_path", gw_tls_ca_path (server->tls),
                     "hint", "curl --cacert <ca_path>", NULL);
    }
    server->keys = gw_keys_new ();
    server->revocations = gw_revocations_new ();
    server->cors = gw_cors_new ();
    server->ratelimit = gw_ratelimit_new (config->mgmt_rate_limit, config->mgmt_rate_per_s,
                                          RATELIMIT_KEYS);
    server->bus = server->keys && server->revocations && server->cors && server->ratelimit
                ? gw_bus_new (config, server->keys, server->revocations, server->cors): NULL;
    if (!server->bus)
        return -1;
    if (config->https_port != GW_PORT_OFF
    &&  !(server->https = gw_http_new (config, config->https_port, server->tls,
                                       server->bus, server->keys, server->revocations,
                                       server->cors, server->ratelimit)))
        return -1;
    if (config->http_port != GW_PORT_OFF
    &&  !(server->http = gw_http_new (config, config->http_port, NULL,
                                      server->bus, server->keys, server->revocations,
                                      server->cors, server->ratelimit)))
        return -1;
    return 0;
}

static int
s_in_flight (server_t *server)
{
    return (server->https? gw_http_requests (server->https): 0)
         + (server->http? gw_http_requests (server->http): 0);
}

//  A stop (SIGTERM, a rolling restart) lets the requests in flight finish: no
//  new connections, then up to one bus deadline for the services to answer
//  them, since none waits longer than that anyway. Only what is left after it
//  gets a 503, when the bus closes and resumes them; the close runs the daemons
//  until those have left, and MHD can only stop once no connection is suspended.
static void
s_stop (server_t *server, int grace_ms)
{
    if (server->https)
        gw_http_quiesce (server->https);
    if (server->http)
        gw_http_quiesce (server->http);
    int64_t until = zclock_mono () + grace_ms;
    while (server->bus && s_in_flight (server) > 0 && zclock_mono () < until)
        zclock_sleep (10);
    int left = s_in_flight (server);
    if (left > 0) {
        char count [16];
        snprintf (count, sizeof count, "%d", left);
        pst_log (PST_LOG_WARN, "gateway_drain_cut", "in_flight", count, NULL);
    }
    if (server->bus)
        gw_bus_close (server->bus);
    gw_http_destroy (&server->https);
    gw_http_destroy (&server->http);
    gw_bus_destroy (&server->bus);
    gw_keys_destroy (&server->keys);
    gw_revocations_destroy (&server->revocations);
    gw_cors_destroy (&server->cors);
    gw_ratelimit_destroy (&server->ratelimit);
    gw_tls_destroy (&server->tls);
}

void
gw_server_actor (zsock_t *pipe, void *args)
{
    pst_actor_name ("gw-main");
    const gw_config_t *config = (const gw_config_t *) args;
    server_t server = { NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL };
    if (s_start (&server, config) != 0) {
        s_stop (&server, 0);
        pst_actor_failed (pipe, "gateway could not start");
        return;
    }
    int https_port = server.https? gw_http_port (server.https): 0;
    int http_port = server.http? gw_http_port (server.http): 0;
    char https_text [8], http_text [8];
    snprintf (https_text, sizeof https_text, "%d", https_port);
    snprintf (http_text, sizeof http_text, "%d", http_port);
    pst_log (PST_LOG_INFO, "gateway_started", "address", config->bind_address,
             "https_port", https_text, "http_port", http_text, "domain", config->domain, NULL);
    pst_actor_ready (pipe, "ii", https_port, http_port);
    pst_actor_wait_term (pipe);
    char in_flight [16];
    snprintf (in_flight, sizeof in_flight, "%d", s_in_flight (&server));
    pst_log (PST_LOG_INFO, "gateway_draining", "in_flight", in_flight, NULL);
    s_stop (&server, config->bus_timeout_ms);
}
