/*  gw_tls - the HTTPS listener's certificate and key.

    Either the operator's PEM files (POSTERN_TLS_CERT / POSTERN_TLS_KEY), or a
    development CA plus a server certificate it signs, generated on first run in
    the data directory and reused afterwards, so `curl --cacert ca.pem` keeps
    working across restarts. The server certificate is re-issued from the same CA
    when it no longer names the configured domain or is about to expire.
*/
#ifndef GW_TLS_H_INCLUDED
#define GW_TLS_H_INCLUDED

typedef struct _gw_tls_t gw_tls_t;

//  Operator files when both paths are set; the development CA in
//  pst_config_data_path ("tls") when both are NULL; NULL (logged) otherwise or
//  when the files are unusable.
gw_tls_t *
    gw_tls_new (const char *cert_path, const char *key_path, const char *domain);

//  The development CA in dir (ca.pem, ca.key, server.pem, server.key), creating
//  what is missing. The server certificate names localhost, 127.0.0.1 and the
//  host part of domain.
gw_tls_t *
    gw_tls_new_dev (const char *dir, const char *domain);

void
    gw_tls_destroy (gw_tls_t **self_p);

//  PEM texts for the HTTPS daemon. Borrowed.
const char *
    gw_tls_cert_pem (gw_tls_t *self);
const char *
    gw_tls_key_pem (gw_tls_t *self);

//  Path of the development CA certificate; NULL with operator files.
const char *
    gw_tls_ca_path (gw_tls_t *self);

//  Host part of a domain ("localhost:8443" -> "localhost", "[::1]:8443" -> "::1").
//  Caller frees.
char *
    gw_tls_domain_host (const char *domain);

#endif
