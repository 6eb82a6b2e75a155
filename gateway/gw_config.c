#include "gw_config.h"
#include "pst_config.h"
#include <stdlib.h>
#include <string.h>

void
gw_config_set_str (char **field_p, const char *value)
{
    free (*field_p);
    *field_p = value? strdup (value): NULL;
}

gw_config_t *
gw_config_new (void)
{
    gw_config_t *self = (gw_config_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->bind_address = strdup ("127.0.0.1");
    self->https_port = 8443;
    self->http_port = GW_PORT_OFF;
    self->authn_endpoint = strdup ("ipc://./data/bus/authn.sock");
    self->mfa_endpoint = strdup ("ipc://./data/bus/mfa.sock");
    self->keys_dir = strdup ("./data/keys");
    self->key_name = strdup ("gateway");
    self->bus_timeout_ms = 2000;
    self->domain = strdup ("localhost:8443");
    self->max_body = 16384;
    self->connection_timeout_s = 15;
    self->max_connections = 1024;
    self->max_connections_per_ip = 64;
    self->request_deadline_s = 30;
    self->mgmt_rate_limit = 100;
    self->mgmt_rate_per_s = 50;
    self->keys_min_interval_ms = 10 * 1000;
    if (!self->bind_address || !self->authn_endpoint || !self->mfa_endpoint || !self->domain
    ||  !self->keys_dir || !self->key_name)
        gw_config_destroy (&self);
    return self;
}

//  Replaces *field_p with value, taking it; 0, or -1 when value is NULL.
static int
s_take_str (char **field_p, char *value)
{
    if (!value)
        return -1;
    free (*field_p);
    *field_p = value;
    return 0;
}

//  In the environment both -1 (README) and 0 switch a listener off; an
//  ephemeral port only makes sense for tests, which set the record directly.
static int
s_env_port (const char *name, int dflt)
{
    long port = pst_config_int (name, dflt, -1, 65535);
    return port <= 0? GW_PORT_OFF: (int) port;
}

static void
s_env_str (char **field_p, const char *name)
{
    const char *value = pst_config_str (name, NULL);
    if (value)
        gw_config_set_str (field_p, value);
}

gw_config_t *
gw_config_from_env (void)
{
    gw_config_t *self = gw_config_new ();
    if (!self)
        return NULL;
    s_env_str (&self->bind_address, "POSTERN_BIND_ADDRESS");
    self->https_port = s_env_port ("POSTERN_HTTPS_PORT", self->https_port);
    self->http_port = s_env_port ("POSTERN_HTTP_PORT", self->http_port);
    s_env_str (&self->tls_cert, "POSTERN_TLS_CERT");
    s_env_str (&self->tls_key, "POSTERN_TLS_KEY");
    int rc = s_take_str (&self->authn_endpoint,
                         pst_config_bus_endpoint ("POSTERN_AUTHN_ENDPOINT", "authn.sock"))
           | s_take_str (&self->mfa_endpoint,
                         pst_config_bus_endpoint ("POSTERN_MFA_ENDPOINT", "mfa.sock"))
           | s_take_str (&self->keys_dir, pst_config_keys_dir ())
           | s_take_str (&self->key_name, pst_config_key_name ("gateway"));
    self->bus_timeout_ms = (int) pst_config_int ("POSTERN_BUS_TIMEOUT_MS",
                                                 self->bus_timeout_ms, 10, 600000);
    gw_config_set_str (&self->domain, pst_config_domain ());
    self->max_body = (size_t) pst_config_int ("POSTERN_MAX_BODY",
                                              (long) self->max_body, 256, 1024 * 1024);
    self->connection_timeout_s = (unsigned) pst_config_int ("POSTERN_CONNECTION_TIMEOUT_S",
                                              self->connection_timeout_s, 1, 3600);
    self->max_connections = (unsigned) pst_config_int ("POSTERN_MAX_CONNECTIONS",
                                              self->max_connections, 1, 65536);
    self->max_connections_per_ip = (unsigned) pst_config_int ("POSTERN_MAX_CONNECTIONS_PER_IP",
                                              self->max_connections_per_ip, 0, 65536);
    self->request_deadline_s = (unsigned) pst_config_int ("POSTERN_REQUEST_DEADLINE_S",
                                              self->request_deadline_s, 1, 3600);
    s_env_str (&self->trusted_proxies, "POSTERN_TRUSTED_PROXIES");
    self->mgmt_rate_limit = (int) pst_config_int ("POSTERN_MGMT_RATE_LIMIT",
                                                  self->mgmt_rate_limit, 1, 1000000);
    self->mgmt_rate_per_s = (int) pst_config_int ("POSTERN_MGMT_RATE_PER_S",
                                                  self->mgmt_rate_per_s, 1, 1000000);
    if (rc || !self->bind_address || !self->authn_endpoint || !self->mfa_endpoint || !self->domain)
        gw_config_destroy (&self);
    return self;
}

void
gw_config_destroy (gw_config_t **self_p)
{
    if (self_p && *self_p) {
        gw_config_t *self = *self_p;
        free (self->bind_address);
        free (self->tls_cert);
        free (self->tls_key);
        free (self->authn_endpoint);
        free (self->mfa_endpoint);
        free (self->keys_dir);
        free (self->key_name);
        free (self->domain);
        free (self->trusted_proxies);
        free (self);
        *self_p = NULL;
    }
}
