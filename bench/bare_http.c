/*  bare_http - the ceiling of the gateway's HTTP layer: libmicrohttpd with the
    gateway's daemon flags (internal polling thread + epoll, suspend/resume allowed)
    and, with --tls, the gateway's TLS setup (certificate and key from PEM files,
    the same GnuTLS priorities), answering every request with one fixed body.

    No routing, no bus, no JSON work: what a request costs when the server does
    nothing but HTTP. bench/run.sh points wrk at it with the same connections it
    uses against the gateway.

    bare_http --body FILE --port-file FILE [--seconds N] [--tls CERT KEY]

    Listens on 127.0.0.1 only, on a free port written to --port-file once it
    listens. Stops on SIGTERM/SIGINT or after --seconds (default 600).
*/
#include <microhttpd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

//  As gateway/gw_http.c: TLS 1.2 and 1.3 only
#define TLS_PRIORITIES  "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

static volatile sig_atomic_t s_stop;

static void
s_on_signal (int signum)
{
    (void) signum;
    s_stop = 1;
}

static char *
s_slurp (const char *path, size_t *size_p)
{
    FILE *file = fopen (path, "rb");
    if (!file)
        return NULL;
    char *data = NULL;
    size_t size = 0;
    if (fseek (file, 0, SEEK_END) == 0) {
        long length = ftell (file);
        if (length >= 0 && fseek (file, 0, SEEK_SET) == 0) {
            data = (char *) malloc ((size_t) length + 1);
            if (data && fread (data, 1, (size_t) length, file) == (size_t) length) {
                data [length] = '\0';
                size = (size_t) length;
            }
            else {
                free (data);
                data = NULL;
            }
        }
    }
    fclose (file);
    *size_p = size;
    return data;
}

static enum MHD_Result
s_access (void *cls, struct MHD_Connection *connection, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_data_size, void **state)
{
    (void) url; (void) method; (void) version; (void) upload_data;
    //  A POST body arrives in further calls: take it, answer after the last
    static int first_call;
    if (*state == NULL) {
        *state = &first_call;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    return MHD_queue_response (connection, MHD_HTTP_OK, (struct MHD_Response *) cls);
}

int
main (int argc, char **argv)
{
    const char *body_path = NULL, *port_file = NULL, *cert_path = NULL, *key_path = NULL;
    long seconds = 600;
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv [i], "--body") == 0 && i + 1 < argc)
            body_path = argv [++i];
        else
        if (strcmp (argv [i], "--port-file") == 0 && i + 1 < argc)
            port_file = argv [++i];
        else
        if (strcmp (argv [i], "--seconds") == 0 && i + 1 < argc)
            seconds = atol (argv [++i]);
        else
        if (strcmp (argv [i], "--tls") == 0 && i + 2 < argc) {
            cert_path = argv [++i];
            key_path = argv [++i];
        }
        else {
            fprintf (stderr, "usage: bare_http --body FILE --port-file FILE [--seconds N] [--tls CERT KEY]\n");
            return 2;
        }
    }
    if (!body_path || !port_file || seconds <= 0) {
        fprintf (stderr, "bare_http: --body and --port-file are required\n");
        return 2;
    }
    size_t body_size = 0, size = 0;
    char *body = s_slurp (body_path, &body_size);
    char *cert = cert_path? s_slurp (cert_path, &size): NULL;
    char *key = key_path? s_slurp (key_path, &size): NULL;
    if (!body || (cert_path && (!cert || !key))) {
        fprintf (stderr, "bare_http: cannot read the body, certificate or key\n");
        return 1;
    }
    struct MHD_Response *response = MHD_create_response_from_buffer (body_size, body,
                                                                     MHD_RESPMEM_PERSISTENT);
    if (!response
    ||  MHD_add_response_header (response, "Content-Type", "application/json") != MHD_YES) {
        fprintf (stderr, "bare_http: cannot build the response\n");
        return 1;
    }
    struct sockaddr_in address;
    memset (&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    address.sin_port = 0;

    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL
                       | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (cert)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem tls_options [] = {
        { cert? MHD_OPTION_HTTPS_MEM_KEY: MHD_OPTION_END, 0, key },
        { cert? MHD_OPTION_HTTPS_MEM_CERT: MHD_OPTION_END, 0, cert },
        { cert? MHD_OPTION_HTTPS_PRIORITIES: MHD_OPTION_END, 0, (void *) TLS_PRIORITIES },
        { MHD_OPTION_END, 0, NULL }
    };
    //  The gateway's limits: 15 s idle timeout, 1024 connections
    struct MHD_Daemon *daemon = MHD_start_daemon (flags, 0, NULL, NULL, s_access, response,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &address,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) 15,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int) 1024,
        MHD_OPTION_ARRAY, tls_options,
        MHD_OPTION_END);
    const union MHD_DaemonInfo *info = daemon
        ? MHD_get_daemon_info (daemon, MHD_DAEMON_INFO_BIND_PORT): NULL;
    if (!info || info->port == 0) {
        fprintf (stderr, "bare_http: cannot start the daemon\n");
        return 1;
    }
    char tmp_path [4096];
    snprintf (tmp_path, sizeof tmp_path, "%s.tmp", port_file);
    FILE *out = fopen (tmp_path, "w");
    if (!out || fprintf (out, "%u\n", (unsigned) info->port) < 0 || fclose (out) != 0
    ||  rename (tmp_path, port_file) != 0) {
        fprintf (stderr, "bare_http: cannot write the port file\n");
        return 1;
    }
    signal (SIGTERM, s_on_signal);
    signal (SIGINT, s_on_signal);
    for (long tick = 0; !s_stop && tick < seconds * 10; tick++)
        usleep (100 * 1000);
    MHD_stop_daemon (daemon);
    MHD_destroy_response (response);
    free (body);
    free (cert);
    free (key);
    return 0;
}
