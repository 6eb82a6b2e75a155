#include "gw_http.h"
#include "gw_auth.h"
#include "gw_deadline.h"
#include "gw_proxy.h"
#include "gw_request.h"
#include "pst_log.h"
#include <microhttpd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TLS_PRIORITIES      "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

struct _gw_http_t {
    struct MHD_Daemon *daemon;
    gw_request_shared_t shared; //  what its requests share; it owns auth, proxies, deadlines
    int port;
    atomic_int requests;        //  requests begun and not yet completed
};

//  ---------------------------------------------------------------------------
//  Connections and requests

//  The per-connection record of gw_deadline, NULL when it has none
static gw_deadline_conn_t *
s_deadline (struct MHD_Connection *connection)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info (connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info? (gw_deadline_conn_t *) info->socket_context: NULL;
}

static enum MHD_Result
s_access (void *cls, struct MHD_Connection *connection, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_data_size,
          void **con_cls)
{
    (void) cls;
    (void) version;
    gw_request_t *req = (gw_request_t *) *con_cls;
    if (!req)
        return MHD_NO;          //  the URI callback ran out of memory
    return gw_request_access (req, connection, url, method, upload_data, upload_data_size);
}

//  Runs before the headers are parsed, with the raw request target: the query
//  string is kept undecoded so the form rules (bad escapes, repeats) apply, and
//  a %00 in the path is seen before libmicrohttpd decodes it.
static void *
s_on_uri (void *cls, const char *uri, struct MHD_Connection *connection)
{
    gw_http_t *self = (gw_http_t *) cls;
    gw_request_t *req = gw_request_new (&self->shared, uri, s_deadline (connection));
    if (req)
        atomic_fetch_add (&self->requests, 1);
    return req;
}

static void
s_on_completed (void *cls, struct MHD_Connection *connection, void **con_cls,
                enum MHD_RequestTerminationCode toe)
{
    gw_http_t *self = (gw_http_t *) cls;
    //  Kept alive, the connection's next request has a deadline of its own
    gw_deadline_restart (self->shared.deadlines, s_deadline (connection));
    gw_request_t *req = (gw_request_t *) *con_cls;
    if (!req)
        return;
    atomic_fetch_sub (&self->requests, 1);
    gw_request_log (req, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
    gw_request_destroy (&req);
    *con_cls = NULL;
}

//  Connections are tracked from their accept, so the deadline also covers a slow
//  TLS handshake and a request line sent a byte at a time. libmicrohttpd tells
//  of the close before it closes the socket.
static void
s_on_connection (void *cls, struct MHD_Connection *connection, void **socket_context,
                 enum MHD_ConnectionNotificationCode code)
{
    gw_http_t *self = (gw_http_t *) cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info (connection, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = info? gw_deadline_track (self->shared.deadlines, info->connect_fd): NULL;
    }
    else
        gw_deadline_untrack (self->shared.deadlines, (gw_deadline_conn_t **) socket_context);
}

static void
s_on_mhd_error (void *cls, const char *format, va_list args)
{
    (void) cls;
    char text [256];
    vsnprintf (text, sizeof text, format, args);
    text [strcspn (text, "\r\n")] = 0;
    pst_log (PST_LOG_WARN, "http_daemon", "detail", text, NULL);
}

//  ---------------------------------------------------------------------------
//  Daemon

static int
s_address (const char *text, int port, struct sockaddr_storage *address, unsigned int *flags)
{
    memset (address, 0, sizeof *address);
    struct sockaddr_in *v4 = (struct sockaddr_in *) address;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *) address;
    if (inet_pton (AF_INET, text, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons ((uint16_t) port);
        return 0;
    }
    if (inet_pton (AF_INET6, text, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons ((uint16_t) port);
        *flags |= MHD_USE_IPv6;
        return 0;
    }
    return -1;
}

gw_http_t *
gw_http_new (const gw_config_t *config, int port, gw_tls_t *tls, gw_bus_t *bus, gw_keys_t *keys,
             gw_revocations_t *revocations, gw_cors_t *cors, gw_ratelimit_t *ratelimit)
{
    gw_http_t *self = (gw_http_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->shared.bus = bus;
    self->shared.ratelimit = ratelimit;
    self->shared.cors = cors;
    self->shared.max_body = config->max_body;
    self->shared.timeout_ms = config->bus_timeout_ms;
    self->shared.keys = keys;
    self->shared.auth = gw_auth_context_new (keys, revocations, config->domain);
    self->shared.deadlines = gw_deadline_new (config->request_deadline_s);
    char *error = NULL;
    self->shared.proxies = gw_proxy_new (config->trusted_proxies, &error);
    if (!self->shared.proxies) {
        pst_log (PST_LOG_ERROR, "http_bad_trusted_proxies", "reason", error, NULL);
        free (error);
        gw_http_destroy (&self);
        return NULL;
    }

    //  No thread of its own: gw_bus's loop runs it, beside the bus sockets
    unsigned int flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (tls)
        flags |= MHD_USE_TLS;
    struct sockaddr_storage address;
    if (s_address (config->bind_address, port, &address, &flags) != 0) {
        pst_log (PST_LOG_ERROR, "http_bad_bind_address", "address", config->bind_address, NULL);
        gw_http_destroy (&self);
        return NULL;
    }
    struct MHD_OptionItem tls_options [] = {
        { tls? MHD_OPTION_HTTPS_MEM_KEY: MHD_OPTION_END, 0, tls? (void *) gw_tls_key_pem (tls): NULL },
        { tls? MHD_OPTION_HTTPS_MEM_CERT: MHD_OPTION_END, 0, tls? (void *) gw_tls_cert_pem (tls): NULL },
        //  TLS 1.2 and 1.3 only (GnuTLS priority string)
        { tls? MHD_OPTION_HTTPS_PRIORITIES: MHD_OPTION_END, 0, (void *) TLS_PRIORITIES },
        { MHD_OPTION_END, 0, NULL }
    };
    if (self->shared.auth && self->shared.deadlines)
        self->daemon = MHD_start_daemon (flags, (uint16_t) port, NULL, NULL, s_access, self,
            MHD_OPTION_EXTERNAL_LOGGER, s_on_mhd_error, NULL,
            MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &address,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) config->connection_timeout_s,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned int) config->max_connections,
            //  The TCP peer: one address cannot take every connection. Behind a
            //  proxy that is the proxy (X-Forwarded-For is for logs and throttling)
            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int) config->max_connections_per_ip,
            MHD_OPTION_NOTIFY_CONNECTION, s_on_connection, self,
            MHD_OPTION_NOTIFY_COMPLETED, s_on_completed, self,
            MHD_OPTION_URI_LOG_CALLBACK, s_on_uri, self,
            MHD_OPTION_ARRAY, tls_options,
            MHD_OPTION_END);
    const union MHD_DaemonInfo *info = self->daemon
        ? MHD_get_daemon_info (self->daemon, MHD_DAEMON_INFO_BIND_PORT): NULL;
    if (!info || info->port == 0) {
        pst_log (PST_LOG_ERROR, "http_start_failed", "address", config->bind_address,
                 "tls", tls? "yes": "no", NULL);
        gw_http_destroy (&self);
        return NULL;
    }
    self->port = info->port;
    if (gw_bus_serve (bus, self->daemon, &self->requests) != 0) {
        pst_log (PST_LOG_ERROR, "http_start_failed", "address", config->bind_address,
                 "reason", "the gateway's loop has ended", NULL);
        gw_http_destroy (&self);
        return NULL;
    }
    return self;
}

void
gw_http_quiesce (gw_http_t *self)
{
    atomic_store (&self->shared.stopping, 1);
    if (self->daemon)
        gw_bus_unlisten (self->shared.bus, self->daemon);
}

int
gw_http_requests (gw_http_t *self)
{
    return atomic_load (&self->requests);
}

void
gw_http_destroy (gw_http_t **self_p)
{
    if (self_p && *self_p) {
        gw_http_t *self = *self_p;
        if (self->daemon)
            MHD_stop_daemon (self->daemon);
        gw_proxy_destroy (&self->shared.proxies);
        gw_auth_context_destroy (&self->shared.auth);
        gw_deadline_destroy (&self->shared.deadlines);
        free (self);
        *self_p = NULL;
    }
}

int
gw_http_port (gw_http_t *self)
{
    return self->port;
}
