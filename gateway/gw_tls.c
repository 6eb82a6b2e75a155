#include "gw_tls.h"
#include "pst_config.h"
#include "pst_log.h"
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define VALIDITY_DAYS       825
#define RENEW_BEFORE_DAYS   30
#define MAX_PEM_SIZE        (1024 * 1024)

struct _gw_tls_t {
    char *cert_pem;
    char *key_pem;
    char *ca_path;
};

//  A certificate with its key, as loaded or generated.
typedef struct {
    X509 *cert;
    EVP_PKEY *key;
} keypair_t;

static void
s_keypair_free (keypair_t *pair)
{
    X509_free (pair->cert);
    EVP_PKEY_free (pair->key);
    pair->cert = NULL;
    pair->key = NULL;
}

char *
gw_tls_domain_host (const char *domain)
{
    if (!domain)
        return NULL;
    if (*domain == '[') {
        const char *end = strchr (domain, ']');
        return end? strndup (domain + 1, (size_t) (end - domain - 1)): NULL;
    }
    const char *colon = strchr (domain, ':');
    //  More than one colon without brackets is a bare IPv6 address
    if (colon && strchr (colon + 1, ':'))
        return strdup (domain);
    return colon? strndup (domain, (size_t) (colon - domain)): strdup (domain);
}

//  ---------------------------------------------------------------------------
//  Files

static char *
s_read_file (const char *path)
{
    FILE *file = fopen (path, "rb");
    if (!file)
        return NULL;
    char *data = (char *) malloc (MAX_PEM_SIZE + 1);
    size_t size = data? fread (data, 1, MAX_PEM_SIZE + 1, file): 0;
    fclose (file);
    if (!data || size == 0 || size > MAX_PEM_SIZE) {
        free (data);
        return NULL;
    }
    data [size] = 0;
    return data;
}

//  Writes atomically (temp file + rename) so a crash never leaves half a key.
static int
s_write_file (const char *path, const char *data, mode_t mode)
{
    char *temp = NULL;
    if (asprintf (&temp, "%s.tmp", path) < 0)
        return -1;
    int fd = open (temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    int rc = fd >= 0? 0: -1;
    size_t size = strlen (data);
    if (rc == 0 && (fchmod (fd, mode) != 0 || write (fd, data, size) != (ssize_t) size
                ||  fsync (fd) != 0))
        rc = -1;
    if (fd >= 0 && close (fd) != 0)
        rc = -1;
    if (rc == 0 && rename (temp, path) != 0)
        rc = -1;
    if (rc != 0) {
        pst_log (PST_LOG_ERROR, "tls_write_failed", "path", path, "reason", strerror (errno), NULL);
        unlink (temp);
    }
    free (temp);
    return rc;
}

static char *
s_bio_string (BIO *bio)
{
    char *data = NULL;
    long size = BIO_get_mem_data (bio, &data);
    return size > 0? strndup (data, (size_t) size): NULL;
}

static char *
s_cert_pem (X509 *cert)
{
    BIO *bio = BIO_new (BIO_s_mem ());
    char *pem = bio && PEM_write_bio_X509 (bio, cert) == 1? s_bio_string (bio): NULL;
    BIO_free (bio);
    return pem;
}

//  PKCS#8, which GnuTLS (libmicrohttpd's TLS) reads for any key type.
static char *
s_key_pem (EVP_PKEY *key)
{
    BIO *bio = BIO_new (BIO_s_mem ());
    char *pem = bio && PEM_write_bio_PrivateKey (bio, key, NULL, NULL, 0, NULL, NULL) == 1
              ? s_bio_string (bio): NULL;
    BIO_free (bio);
    return pem;
}

static X509 *
s_parse_cert (const char *pem)
{
    BIO *bio = pem? BIO_new_mem_buf (pem, -1): NULL;
    X509 *cert = bio? PEM_read_bio_X509 (bio, NULL, NULL, NULL): NULL;
    BIO_free (bio);
    return cert;
}

static EVP_PKEY *
s_parse_key (const char *pem)
{
    BIO *bio = pem? BIO_new_mem_buf (pem, -1): NULL;
    EVP_PKEY *key = bio? PEM_read_bio_PrivateKey (bio, NULL, NULL, NULL): NULL;
    BIO_free (bio);
    return key;
}

//  Loads a matching certificate and key; 0 or -1 (nothing loaded).
static int
s_load_pair (const char *cert_path, const char *key_path, keypair_t *pair)
{
    char *cert_pem = s_read_file (cert_path);
    char *key_pem = s_read_file (key_path);
    pair->cert = s_parse_cert (cert_pem);
    pair->key = s_parse_key (key_pem);
    free (cert_pem);
    if (key_pem)
        OPENSSL_cleanse (key_pem, strlen (key_pem));
    free (key_pem);
    if (!pair->cert || !pair->key || X509_check_private_key (pair->cert, pair->key) != 1) {
        s_keypair_free (pair);
        return -1;
    }
    return 0;
}

static int
s_save_pair (const char *cert_path, const char *key_path, keypair_t *pair)
{
    char *cert_pem = s_cert_pem (pair->cert);
    char *key_pem = s_key_pem (pair->key);
    int rc = cert_pem && key_pem
          && s_write_file (key_path, key_pem, 0600) == 0
          && s_write_file (cert_path, cert_pem, 0644) == 0? 0: -1;
    free (cert_pem);
    if (key_pem)
        OPENSSL_cleanse (key_pem, strlen (key_pem));
    free (key_pem);
    return rc;
}

//  ---------------------------------------------------------------------------
//  Certificates

static int
s_add_ext (X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb (&ctx);
    X509V3_set_ctx (&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid (NULL, &ctx, nid, value);
    int rc = ext && X509_add_ext (cert, ext, -1) == 1? 0: -1;
    X509_EXTENSION_free (ext);
    return rc;
}

//  The extensions of each kind of certificate, as data.
typedef struct {
    int nid;
    const char *value;
} ext_spec_t;

//  Three, then the name constraints of the configured domain (s_generate_ca)
static const ext_spec_t s_ca_exts [] = {
    { NID_basic_constraints,        "critical,CA:TRUE,pathlen:0" },
    { NID_key_usage,                "critical,keyCertSign,cRLSign" },
    { NID_subject_key_identifier,   "hash" },
    { 0, NULL }
};

static const ext_spec_t s_server_exts [] = {
    { NID_basic_constraints,        "critical,CA:FALSE" },
    { NID_key_usage,                "critical,digitalSignature" },
    { NID_ext_key_usage,            "serverAuth" },
    { NID_subject_key_identifier,   "hash" },
    { NID_authority_key_identifier, "keyid:always" },
    { 0, NULL }
};

static int
s_is_ip (const char *host)
{
    ASN1_OCTET_STRING *ip = a2i_IPADDRESS (host);
    int is_ip = ip != NULL;
    ASN1_OCTET_STRING_free (ip);
    return is_ip;
}

//  Only plain host names and addresses reach the SAN: the value is parsed as an
//  OpenSSL config string, where a comma would add names of the caller's choosing.
static int
s_host_is_safe (const char *host)
{
    if (!host || !*host || strlen (host) > 253)
        return 0;
    return strspn (host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:")
           == strlen (host);
}

static char *
s_subject_alt_names (const char *domain)
{
    char *host = gw_tls_domain_host (domain);
    char *names = NULL;
    int builtin = host && (strcmp (host, "localhost") == 0 || strcmp (host, "127.0.0.1") == 0);
    int extra = host && !builtin && s_host_is_safe (host);
    if (host && !builtin && !extra)
        pst_log (PST_LOG_WARN, "tls_domain_not_in_certificate", "domain", domain, NULL);
    if (extra) {
        if (asprintf (&names, "DNS:localhost,IP:127.0.0.1,%s:%s",
                      s_is_ip (host)? "IP": "DNS", host) < 0)
            names = NULL;
    }
    else
        names = strdup ("DNS:localhost,IP:127.0.0.1");
    free (host);
    return names;
}

static int
s_set_serial (X509 *cert)
{
    BIGNUM *serial = BN_new ();
    int rc = serial
          && BN_rand (serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1
          && BN_to_ASN1_INTEGER (serial, X509_get_serialNumber (cert))? 0: -1;
    BN_free (serial);
    return rc;
}

//  A certificate for key named common_name, signed by issuer (NULL: self-signed).
static X509 *
s_issue (EVP_PKEY *key, const char *common_name, const ext_spec_t *exts,
         const char *alt_names, keypair_t *issuer)
{
    X509 *cert = X509_new ();
    X509_NAME *name = X509_NAME_new ();
    int ok = cert && name
        && X509_set_version (cert, X509_VERSION_3) == 1
        && s_set_serial (cert) == 0
        //  An hour back, so a client whose clock runs a little late accepts it
        && X509_gmtime_adj (X509_getm_notBefore (cert), -3600)
        && X509_gmtime_adj (X509_getm_notAfter (cert), (long) VALIDITY_DAYS * 86400)
        && X509_set_pubkey (cert, key) == 1
        && X509_NAME_add_entry_by_txt (name, "O", MBSTRING_ASC,
                                       (const unsigned char *) "Postern", -1, -1, 0) == 1
        && X509_NAME_add_entry_by_txt (name, "CN", MBSTRING_ASC,
                                       (const unsigned char *) common_name, -1, -1, 0) == 1
        && X509_set_subject_name (cert, name) == 1
        && X509_set_issuer_name (cert, issuer? X509_get_subject_name (issuer->cert): name) == 1;
    X509 *issuer_cert = issuer? issuer->cert: cert;
    for (const ext_spec_t *ext = exts; ok && ext->nid; ext++)
        ok = s_add_ext (cert, issuer_cert, ext->nid, ext->value) == 0;
    if (ok && alt_names)
        ok = s_add_ext (cert, issuer_cert, NID_subject_alt_name, alt_names) == 0;
    if (ok)
        ok = X509_sign (cert, issuer? issuer->key: key, EVP_sha256 ()) > 0;
    X509_NAME_free (name);
    if (!ok) {
        X509_free (cert);
        cert = NULL;
    }
    return cert;
}

//  The names the development CA may vouch for: loopback and the configured
//  domain's host. Clients are told to trust this CA, so a stolen CA key must
//  not be able to impersonate any other site to them (RFC 5280 §4.2.1.10).
static char *
s_name_constraints (const char *domain)
{
    static const char *loopback = "critical,permitted;DNS:localhost,"
        "permitted;IP:127.0.0.0/255.0.0.0,permitted;IP:::1/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
    char *host = gw_tls_domain_host (domain);
    int builtin = !host || strcmp (host, "localhost") == 0 || strcmp (host, "127.0.0.1") == 0
               || !s_host_is_safe (host);
    char *constraints = NULL;
    int rc;
    if (builtin)
        rc = asprintf (&constraints, "%s", loopback);
    else
    if (s_is_ip (host))
        rc = asprintf (&constraints, "%s,permitted;IP:%s/%s", loopback, host,
                       strchr (host, ':')? "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
                                         : "255.255.255.255");
    else
        rc = asprintf (&constraints, "%s,permitted;DNS:%s", loopback, host);
    free (host);
    return rc < 0? NULL: constraints;
}

static int
s_generate_ca (keypair_t *ca, const char *domain)
{
    char *constraints = s_name_constraints (domain);
    ext_spec_t exts [] = {
        s_ca_exts [0], s_ca_exts [1], s_ca_exts [2],
        { NID_name_constraints, constraints },
        { 0, NULL }
    };
    ca->key = constraints? EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-256"): NULL;
    ca->cert = ca->key? s_issue (ca->key, "Postern development CA", exts, NULL, NULL): NULL;
    free (constraints);
    if (!ca->cert) {
        s_keypair_free (ca);
        return -1;
    }
    return 0;
}

static int
s_generate_server (keypair_t *ca, const char *domain, keypair_t *server)
{
    char *alt_names = s_subject_alt_names (domain);
    server->key = alt_names? EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-256"): NULL;
    server->cert = server->key
                 ? s_issue (server->key, "localhost", s_server_exts, alt_names, ca): NULL;
    free (alt_names);
    if (!server->cert) {
        s_keypair_free (server);
        return -1;
    }
    return 0;
}

//  A server certificate is kept while the CA signed it, it names the domain's
//  host and it has more than RENEW_BEFORE_DAYS left.
static int
s_server_usable (keypair_t *server, keypair_t *ca, const char *domain)
{
    if (X509_verify (server->cert, ca->key) != 1)
        return 0;
    time_t renew_at = time (NULL) + (time_t) RENEW_BEFORE_DAYS * 86400;
    if (X509_cmp_time (X509_get0_notAfter (server->cert), &renew_at) <= 0)
        return 0;
    char *host = gw_tls_domain_host (domain);
    int named = 1;
    if (host && s_host_is_safe (host))
        named = s_is_ip (host)
              ? X509_check_ip_asc (server->cert, host, 0) == 1
              : X509_check_host (server->cert, host, 0, 0, NULL) == 1;
    free (host);
    return named;
}

//  ---------------------------------------------------------------------------
//  Development CA

typedef struct {
    char *ca_cert, *ca_key, *server_cert, *server_key, *lock;
} dev_paths_t;

static int
s_dev_paths (const char *dir, dev_paths_t *paths)
{
    memset (paths, 0, sizeof *paths);
    if (asprintf (&paths->ca_cert, "%s/ca.pem", dir) < 0
    ||  asprintf (&paths->ca_key, "%s/ca.key", dir) < 0
    ||  asprintf (&paths->server_cert, "%s/server.pem", dir) < 0
    ||  asprintf (&paths->server_key, "%s/server.key", dir) < 0
    ||  asprintf (&paths->lock, "%s/.lock", dir) < 0)
        return -1;
    return 0;
}

static void
s_dev_paths_free (dev_paths_t *paths)
{
    free (paths->ca_cert);
    free (paths->ca_key);
    free (paths->server_cert);
    free (paths->server_key);
    free (paths->lock);
}

//  1 when cert verifies against ca alone as a TLS server certificate: the
//  signature, the dates and the CA's name constraints.
static int
s_chains_to (X509 *cert, X509 *ca)
{
    X509_STORE *store = X509_STORE_new ();
    X509_STORE_CTX *context = X509_STORE_CTX_new ();
    int ok = store && context && X509_STORE_add_cert (store, ca) == 1
          && X509_STORE_CTX_init (context, store, cert, NULL) == 1
          && X509_STORE_CTX_set_purpose (context, X509_PURPOSE_SSL_SERVER) == 1
          && X509_verify_cert (context) == 1;
    X509_STORE_CTX_free (context);
    X509_STORE_free (store);
    return ok;
}

//  Loads or creates CA and server pair; called with the directory lock held. A
//  CA without name constraints (made before they existed), or whose constraints
//  leave out the configured domain, is replaced: clients must trust the new one.
static int
s_dev_prepare (dev_paths_t *paths, const char *domain, keypair_t *server)
{
    keypair_t ca = { NULL, NULL };
    int have_ca = s_load_pair (paths->ca_cert, paths->ca_key, &ca) == 0;
    if (have_ca && X509_get_ext_by_NID (ca.cert, NID_name_constraints, -1) < 0) {
        pst_log (PST_LOG_WARN, "tls_ca_replaced", "path", paths->ca_cert,
                 "reason", "no name constraints", NULL);
        s_keypair_free (&ca);
        have_ca = 0;
    }
    int rc = -1;
    for (int attempt = 0; attempt < 2 && rc != 0; attempt++) {
        if (!have_ca) {
            if (s_generate_ca (&ca, domain) != 0
            ||  s_save_pair (paths->ca_cert, paths->ca_key, &ca) != 0)
                break;
            pst_log (PST_LOG_INFO, "tls_ca_created", "path", paths->ca_cert, "domain", domain, NULL);
            have_ca = 1;
        }
        if (s_load_pair (paths->server_cert, paths->server_key, server) == 0
        &&  (!s_server_usable (server, &ca, domain) || !s_chains_to (server->cert, ca.cert)))
            s_keypair_free (server);
        if (server->cert) {
            rc = 0;
            break;
        }
        if (s_generate_server (&ca, domain, server) != 0)
            break;
        if (!s_chains_to (server->cert, ca.cert)) {
            pst_log (PST_LOG_WARN, "tls_ca_replaced", "path", paths->ca_cert, "domain", domain,
                     "reason", "domain outside its name constraints", NULL);
            s_keypair_free (server);
            s_keypair_free (&ca);
            have_ca = 0;
            continue;
        }
        if (s_save_pair (paths->server_cert, paths->server_key, server) != 0)
            break;
        pst_log (PST_LOG_INFO, "tls_server_certificate_issued",
                 "path", paths->server_cert, "domain", domain, NULL);
        rc = 0;
    }
    if (rc != 0)
        s_keypair_free (server);
    s_keypair_free (&ca);
    return rc;
}

static gw_tls_t *
s_new_from_pair (keypair_t *pair)
{
    gw_tls_t *self = (gw_tls_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->cert_pem = s_cert_pem (pair->cert);
    self->key_pem = s_key_pem (pair->key);
    if (!self->cert_pem || !self->key_pem)
        gw_tls_destroy (&self);
    return self;
}

gw_tls_t *
gw_tls_new_dev (const char *dir, const char *domain)
{
    if (mkdir (dir, 0700) != 0 && errno != EEXIST) {
        pst_log (PST_LOG_ERROR, "tls_dir_unusable", "path", dir, "reason", strerror (errno), NULL);
        return NULL;
    }
    dev_paths_t paths;
    gw_tls_t *self = NULL;
    keypair_t server = { NULL, NULL };
    int lock = -1;
    if (s_dev_paths (dir, &paths) == 0)
        lock = open (paths.lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    //  Replicas sharing a data directory must not mint two different CAs
    if (lock >= 0 && flock (lock, LOCK_EX) == 0 && s_dev_prepare (&paths, domain, &server) == 0) {
        self = s_new_from_pair (&server);
        if (self)
            self->ca_path = strdup (paths.ca_cert);
        if (self && !self->ca_path)
            gw_tls_destroy (&self);
    }
    if (!self)
        pst_log (PST_LOG_ERROR, "tls_setup_failed", "path", dir, NULL);
    if (lock >= 0)
        close (lock);
    s_keypair_free (&server);
    s_dev_paths_free (&paths);
    return self;
}

gw_tls_t *
gw_tls_new (const char *cert_path, const char *key_path, const char *domain)
{
    if (!cert_path && !key_path) {
        char *dir = pst_config_data_path ("tls");
        gw_tls_t *self = dir? gw_tls_new_dev (dir, domain): NULL;
        free (dir);
        return self;
    }
    if (!cert_path || !key_path) {
        pst_log (PST_LOG_ERROR, "tls_config_incomplete",
                 "reason", "set both POSTERN_TLS_CERT and POSTERN_TLS_KEY, or neither", NULL);
        return NULL;
    }
    keypair_t pair = { NULL, NULL };
    if (s_load_pair (cert_path, key_path, &pair) != 0) {
        pst_log (PST_LOG_ERROR, "tls_files_unusable", "path", cert_path,
                 "reason", "unreadable, not PEM, or the key does not match", NULL);
        return NULL;
    }
    s_keypair_free (&pair);
    //  The operator's file may hold a chain: hand it over as it is
    gw_tls_t *self = (gw_tls_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->cert_pem = s_read_file (cert_path);
    self->key_pem = s_read_file (key_path);
    if (!self->cert_pem || !self->key_pem)
        gw_tls_destroy (&self);
    return self;
}

void
gw_tls_destroy (gw_tls_t **self_p)
{
    if (self_p && *self_p) {
        gw_tls_t *self = *self_p;
        free (self->cert_pem);
        if (self->key_pem)
            OPENSSL_cleanse (self->key_pem, strlen (self->key_pem));
        free (self->key_pem);
        free (self->ca_path);
        free (self);
        *self_p = NULL;
    }
}

const char *
gw_tls_cert_pem (gw_tls_t *self)
{
    return self->cert_pem;
}

const char *
gw_tls_key_pem (gw_tls_t *self)
{
    return self->key_pem;
}

const char *
gw_tls_ca_path (gw_tls_t *self)
{
    return self->ca_path;
}
