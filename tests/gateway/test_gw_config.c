/*  gw_config: defaults, environment overrides, and "0 = off" for ports. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include "gw_config.h"

static const char *s_names [] = {
    "POSTERN_BIND_ADDRESS", "POSTERN_HTTPS_PORT", "POSTERN_HTTP_PORT", "POSTERN_TLS_CERT",
    "POSTERN_TLS_KEY", "POSTERN_AUTHN_ENDPOINT", "POSTERN_MFA_ENDPOINT",
    "POSTERN_BUS_TIMEOUT_MS", "POSTERN_DOMAIN", "POSTERN_MAX_BODY",
    "POSTERN_CONNECTION_TIMEOUT_S", "POSTERN_MAX_CONNECTIONS", "POSTERN_MAX_CONNECTIONS_PER_IP",
    "POSTERN_REQUEST_DEADLINE_S", "POSTERN_DATA_DIR", "POSTERN_KEYS_DIR", "POSTERN_KEY_NAME",
    "POSTERN_MGMT_RATE_LIMIT", "POSTERN_MGMT_RATE_PER_S", NULL
};

static int
s_clear (void **state)
{
    (void) state;
    for (int i = 0; s_names [i]; i++)
        unsetenv (s_names [i]);
    return 0;
}

static void
test_defaults (void **state)
{
    (void) state;
    gw_config_t *config = gw_config_from_env ();
    assert_non_null (config);
    assert_string_equal (config->bind_address, "127.0.0.1");
    assert_int_equal (config->https_port, 8443);
    assert_int_equal (config->http_port, GW_PORT_OFF);
    assert_null (config->tls_cert);
    assert_null (config->tls_key);
    //  ipc sockets in the data directory (./data unless POSTERN_DATA_DIR says)
    assert_string_equal (config->authn_endpoint, "ipc://./data/bus/authn.sock");
    assert_string_equal (config->mfa_endpoint, "ipc://./data/bus/mfa.sock");
    assert_string_equal (config->key_name, "gateway");
    assert_int_equal (config->bus_timeout_ms, 2000);
    assert_string_equal (config->domain, "localhost:8443");
    assert_int_equal (config->max_body, 16384);
    assert_int_equal (config->connection_timeout_s, 15);
    assert_int_equal (config->max_connections, 1024);
    gw_config_destroy (&config);
    assert_null (config);
    gw_config_destroy (&config);
}

static void
test_environment (void **state)
{
    (void) state;
    setenv ("POSTERN_BIND_ADDRESS", "0.0.0.0", 1);
    setenv ("POSTERN_HTTPS_PORT", "0", 1);
    setenv ("POSTERN_HTTP_PORT", "8080", 1);
    setenv ("POSTERN_TLS_CERT", "/etc/postern/cert.pem", 1);
    setenv ("POSTERN_TLS_KEY", "/etc/postern/key.pem", 1);
    setenv ("POSTERN_AUTHN_ENDPOINT", "tcp://authn:5601", 1);
    setenv ("POSTERN_MFA_ENDPOINT", "tcp://mfa:5602", 1);
    setenv ("POSTERN_BUS_TIMEOUT_MS", "750", 1);
    setenv ("POSTERN_DOMAIN", "auth.example.com", 1);
    setenv ("POSTERN_MAX_BODY", "4096", 1);
    setenv ("POSTERN_CONNECTION_TIMEOUT_S", "5", 1);
    setenv ("POSTERN_MAX_CONNECTIONS", "64", 1);
    gw_config_t *config = gw_config_from_env ();
    assert_non_null (config);
    assert_string_equal (config->bind_address, "0.0.0.0");
    assert_int_equal (config->https_port, GW_PORT_OFF);
    assert_int_equal (config->http_port, 8080);
    assert_string_equal (config->tls_cert, "/etc/postern/cert.pem");
    assert_string_equal (config->tls_key, "/etc/postern/key.pem");
    assert_string_equal (config->authn_endpoint, "tcp://authn:5601");
    assert_string_equal (config->mfa_endpoint, "tcp://mfa:5602");
    assert_int_equal (config->bus_timeout_ms, 750);
    assert_string_equal (config->domain, "auth.example.com");
    assert_int_equal (config->max_body, 4096);
    assert_int_equal (config->connection_timeout_s, 5);
    assert_int_equal (config->max_connections, 64);
    gw_config_destroy (&config);

    //  -1 is off too (README)
    setenv ("POSTERN_HTTPS_PORT", "8444", 1);
    setenv ("POSTERN_HTTP_PORT", "-1", 1);
    config = gw_config_from_env ();
    assert_int_equal (config->https_port, 8444);
    assert_int_equal (config->http_port, GW_PORT_OFF);
    gw_config_destroy (&config);
}

static void
test_bad_values_keep_defaults (void **state)
{
    (void) state;
    setenv ("POSTERN_HTTPS_PORT", "70000", 1);
    setenv ("POSTERN_BUS_TIMEOUT_MS", "fast", 1);
    setenv ("POSTERN_MAX_BODY", "-1", 1);
    gw_config_t *config = gw_config_from_env ();
    assert_int_equal (config->https_port, 8443);
    assert_int_equal (config->bus_timeout_ms, 2000);
    assert_int_equal (config->max_body, 16384);
    gw_config_destroy (&config);
}

//  The front door's limits: a share of the connections per address (0 = no
//  limit) and an absolute deadline for each request's headers and body
static void
test_front_door_limits (void **state)
{
    (void) state;
    gw_config_t *config = gw_config_from_env ();
    assert_int_equal (config->max_connections_per_ip, 64);
    assert_int_equal (config->request_deadline_s, 30);
    gw_config_destroy (&config);
    setenv ("POSTERN_MAX_CONNECTIONS_PER_IP", "0", 1);
    setenv ("POSTERN_REQUEST_DEADLINE_S", "5", 1);
    config = gw_config_from_env ();
    assert_int_equal (config->max_connections_per_ip, 0);
    assert_int_equal (config->request_deadline_s, 5);
    gw_config_destroy (&config);
    setenv ("POSTERN_MAX_CONNECTIONS_PER_IP", "-1", 1);
    setenv ("POSTERN_REQUEST_DEADLINE_S", "0", 1);
    config = gw_config_from_env ();
    assert_int_equal (config->max_connections_per_ip, 64);
    assert_int_equal (config->request_deadline_s, 30);
    gw_config_destroy (&config);
}

//  The Management API's rate limit (gw_ratelimit): a bucket of 100 filling
//  at 50 a second unless set; a bad value keeps the default
static void
test_mgmt_rate_limit (void **state)
{
    (void) state;
    gw_config_t *config = gw_config_from_env ();
    assert_int_equal (config->mgmt_rate_limit, 100);
    assert_int_equal (config->mgmt_rate_per_s, 50);
    gw_config_destroy (&config);
    setenv ("POSTERN_MGMT_RATE_LIMIT", "10", 1);
    setenv ("POSTERN_MGMT_RATE_PER_S", "2", 1);
    config = gw_config_from_env ();
    assert_int_equal (config->mgmt_rate_limit, 10);
    assert_int_equal (config->mgmt_rate_per_s, 2);
    gw_config_destroy (&config);
    setenv ("POSTERN_MGMT_RATE_LIMIT", "0", 1);
    setenv ("POSTERN_MGMT_RATE_PER_S", "many", 1);
    config = gw_config_from_env ();
    assert_int_equal (config->mgmt_rate_limit, 100);
    assert_int_equal (config->mgmt_rate_per_s, 50);
    gw_config_destroy (&config);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup (test_defaults, s_clear),
        cmocka_unit_test_setup (test_environment, s_clear),
        cmocka_unit_test_setup (test_bad_values_keep_defaults, s_clear),
        cmocka_unit_test_setup (test_front_door_limits, s_clear),
        cmocka_unit_test_setup (test_mgmt_rate_limit, s_clear),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
