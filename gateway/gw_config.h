/*  gw_config - the gateway's settings, from POSTERN_* environment variables.

    A plain record (like pst_service_config_t) so tests can fill it in directly.
    Ports: -1 = listener off, 0 = any free port (tests), else the port. In the
    environment -1 and 0 both mean off.
*/
#ifndef GW_CONFIG_H_INCLUDED
#define GW_CONFIG_H_INCLUDED

#include <stddef.h>

#define GW_PORT_OFF         (-1)
#define GW_PORT_EPHEMERAL   0

typedef struct {
    char *bind_address;         //  numeric IPv4 or IPv6 address to listen on
    int https_port;
    int http_port;
    char *tls_cert;             //  PEM path, or NULL to use the development CA
    char *tls_key;              //  PEM path, or NULL to use the development CA
    char *authn_endpoint;
    char *mfa_endpoint;
    char *keys_dir;             //  the bus keys (pst_curve)
    char *key_name;             //  this gateway's key: "gateway"
    int bus_timeout_ms;         //  deadline of every bus request
    char *domain;               //  public host[:port]; issuer is https://{domain}/
    size_t max_body;            //  request body limit in bytes
    unsigned connection_timeout_s;  //  idle connections are closed after this
    unsigned max_connections;
    unsigned max_connections_per_ip;    //  per TCP peer address; 0 = no limit
    unsigned request_deadline_s;    //  a request's headers and body must be in by then
    char *trusted_proxies;      //  addresses/CIDRs whose X-Forwarded-For is believed
                                //  (gw_proxy.h); NULL = none
    int mgmt_rate_limit;        //  Management API: requests a caller may burst
    int mgmt_rate_per_s;        //  ... and the rate its bucket refills at (gw_ratelimit)
    int keys_min_interval_ms;   //  least time between key set fetches for an
                                //  unknown kid; not in the environment (tests)
} gw_config_t;

//  Built-in defaults, ignoring the environment. NULL when out of memory.
gw_config_t *
    gw_config_new (void);

//  Defaults overridden by the environment. NULL when out of memory.
gw_config_t *
    gw_config_from_env (void);

void
    gw_config_destroy (gw_config_t **self_p);

//  Replaces a string setting (e.g. &config->domain) with a copy of value.
void
    gw_config_set_str (char **field_p, const char *value);

#endif
