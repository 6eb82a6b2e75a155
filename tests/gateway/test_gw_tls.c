/*  gw_tls: the development CA is created once, reused, and its server
    certificate chains to it and names the right hosts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "gw_tls.h"

static char s_dir [64];

static int
s_setup (void **state)
{
    (void) state;
    snprintf (s_dir, sizeof s_dir, "/tmp/gw_tls_test.XXXXXX");
    return mkdtemp (s_dir)? 0: -1;
}

static int
s_teardown (void **state)
{
    (void) state;
    char command [128];
    snprintf (command, sizeof command, "rm -rf '%s'", s_dir);
    return system (command) == 0? 0: -1;
}

static char *
s_path (const char *file)
{
    char *path = NULL;
    assert_true (asprintf (&path, "%s/%s", s_dir, file) > 0);
    return path;
}

static X509 *
s_cert_of_pem (const char *pem)
{
    BIO *bio = BIO_new_mem_buf (pem, -1);
    X509 *cert = PEM_read_bio_X509 (bio, NULL, NULL, NULL);
    BIO_free (bio);
    assert_non_null (cert);
    return cert;
}

static X509 *
s_cert_of_file (const char *file)
{
    char *path = s_path (file);
    FILE *handle = fopen (path, "r");
    assert_non_null (handle);
    X509 *cert = PEM_read_X509 (handle, NULL, NULL, NULL);
    fclose (handle);
    free (path);
    assert_non_null (cert);
    return cert;
}

static mode_t
s_mode (const char *file)
{
    char *path = s_path (file);
    struct stat info;
    assert_int_equal (stat (path, &info), 0);
    free (path);
    return info.st_mode & 0777;
}

//  1 when cert verifies against ca as the only trust anchor, for TLS servers.
static int
s_chains_to (X509 *cert, X509 *ca)
{
    X509_STORE *store = X509_STORE_new ();
    X509_STORE_add_cert (store, ca);
    X509_STORE_CTX *context = X509_STORE_CTX_new ();
    X509_STORE_CTX_init (context, store, cert, NULL);
    X509_STORE_CTX_set_purpose (context, X509_PURPOSE_SSL_SERVER);
    int ok = X509_verify_cert (context) == 1;
    X509_STORE_CTX_free (context);
    X509_STORE_free (store);
    return ok;
}

static void
test_domain_host (void **state)
{
    (void) state;
    const char *cases [][2] = {
        { "localhost:8443", "localhost" }, { "auth.example.com", "auth.example.com" },
        { "[::1]:8443", "::1" }, { "10.0.0.5:443", "10.0.0.5" }, { "::1", "::1" }
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        char *host = gw_tls_domain_host (cases [i][0]);
        assert_string_equal (host, cases [i][1]);
        free (host);
    }
}

static void
test_development_ca_created_and_reused (void **state)
{
    (void) state;
    gw_tls_t *tls = gw_tls_new_dev (s_dir, "auth.example.test:8443");
    assert_non_null (tls);
    char *ca_path = s_path ("ca.pem");
    assert_string_equal (gw_tls_ca_path (tls), ca_path);
    free (ca_path);
    assert_int_equal (s_mode ("ca.key"), 0600);
    assert_int_equal (s_mode ("server.key"), 0600);
    assert_non_null (strstr (gw_tls_key_pem (tls), "PRIVATE KEY"));

    X509 *ca = s_cert_of_file ("ca.pem");
    X509 *server = s_cert_of_pem (gw_tls_cert_pem (tls));
    assert_true (s_chains_to (server, ca));
    assert_int_equal (X509_check_host (server, "localhost", 0, 0, NULL), 1);
    assert_int_equal (X509_check_host (server, "auth.example.test", 0, 0, NULL), 1);
    assert_int_equal (X509_check_ip_asc (server, "127.0.0.1", 0), 1);
    assert_int_not_equal (X509_check_host (server, "evil.example", 0, 0, NULL), 1);
    //  825 days, give or take the hour of back-dating
    int days = 0, seconds = 0;
    assert_int_equal (ASN1_TIME_diff (&days, &seconds, X509_get0_notBefore (server),
                                      X509_get0_notAfter (server)), 1);
    assert_true (days == 825 || (days == 824 && seconds > 0));
    //  The CA cannot be mistaken for a server certificate, nor the server for a CA
    assert_int_equal (X509_check_ca (ca), 1);
    assert_int_equal (X509_check_ca (server), 0);

    //  Second start: same files, same certificate
    char *first_pem = strdup (gw_tls_cert_pem (tls));
    gw_tls_destroy (&tls);
    assert_null (tls);
    tls = gw_tls_new_dev (s_dir, "auth.example.test:8443");
    assert_non_null (tls);
    assert_string_equal (gw_tls_cert_pem (tls), first_pem);
    gw_tls_destroy (&tls);

    //  Another domain lies outside the CA's name constraints: a new CA, and a
    //  server certificate that chains to it and not to the old one
    tls = gw_tls_new_dev (s_dir, "other.example.test");
    assert_non_null (tls);
    assert_string_not_equal (gw_tls_cert_pem (tls), first_pem);
    X509 *reissued = s_cert_of_pem (gw_tls_cert_pem (tls));
    X509 *ca_again = s_cert_of_file ("ca.pem");
    assert_int_not_equal (X509_cmp (ca, ca_again), 0);
    assert_true (s_chains_to (reissued, ca_again));
    assert_false (s_chains_to (reissued, ca));
    assert_int_equal (X509_check_host (reissued, "other.example.test", 0, 0, NULL), 1);
    gw_tls_destroy (&tls);
    //  A domain the new CA permits (loopback) keeps it
    tls = gw_tls_new_dev (s_dir, "localhost:8443");
    assert_non_null (tls);
    X509 *ca_third = s_cert_of_file ("ca.pem");
    assert_int_equal (X509_cmp (ca_again, ca_third), 0);
    X509_free (ca_third);
    gw_tls_destroy (&tls);

    free (first_pem);
    X509_free (ca);
    X509_free (ca_again);
    X509_free (server);
    X509_free (reissued);
}

//  A certificate for a name outside the constraints, signed with the CA's own
//  key, does not verify: a stolen development CA key cannot vouch for other sites
static void
test_ca_name_constraints (void **state)
{
    (void) state;
    gw_tls_t *tls = gw_tls_new_dev (s_dir, "auth.example.test:8443");
    assert_non_null (tls);
    gw_tls_destroy (&tls);
    X509 *ca = s_cert_of_file ("ca.pem");
    assert_true (X509_get_ext_by_NID (ca, NID_name_constraints, -1) >= 0);
    char *key_path = s_path ("ca.key");
    FILE *handle = fopen (key_path, "r");
    assert_non_null (handle);
    EVP_PKEY *ca_key = PEM_read_PrivateKey (handle, NULL, NULL, NULL);
    fclose (handle);
    free (key_path);
    assert_non_null (ca_key);
    const char *names [] = {
        "DNS:evil.example", "DNS:auth.example.test", "DNS:www.auth.example.test",
        "DNS:localhost", "IP:127.0.0.1", "IP:10.0.0.1", "DNS:example.test"
    };
    int expected [] = { 0, 1, 1, 1, 1, 0, 0 };
    for (size_t i = 0; i < sizeof names / sizeof names [0]; i++) {
        EVP_PKEY *key = EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-256");
        X509 *cert = X509_new ();
        assert_non_null (key);
        assert_non_null (cert);
        X509_set_version (cert, X509_VERSION_3);
        ASN1_INTEGER_set (X509_get_serialNumber (cert), (long) i + 2);
        X509_gmtime_adj (X509_getm_notBefore (cert), -60);
        X509_gmtime_adj (X509_getm_notAfter (cert), 3600);
        X509_set_pubkey (cert, key);
        X509_NAME *subject = X509_NAME_new ();
        X509_NAME_add_entry_by_txt (subject, "CN", MBSTRING_ASC, (const unsigned char *) "x", -1, -1, 0);
        X509_set_subject_name (cert, subject);
        X509_set_issuer_name (cert, X509_get_subject_name (ca));
        X509V3_CTX context;
        X509V3_set_ctx_nodb (&context);
        X509V3_set_ctx (&context, ca, cert, NULL, NULL, 0);
        X509_EXTENSION *san = X509V3_EXT_conf_nid (NULL, &context, NID_subject_alt_name, names [i]);
        assert_non_null (san);
        X509_add_ext (cert, san, -1);
        X509_EXTENSION_free (san);
        assert_true (X509_sign (cert, ca_key, EVP_sha256 ()) > 0);
        if (s_chains_to (cert, ca) != expected [i])
            print_error ("%s: chains %d\n", names [i], !expected [i]);
        assert_int_equal (s_chains_to (cert, ca), expected [i]);
        X509_NAME_free (subject);
        X509_free (cert);
        EVP_PKEY_free (key);
    }
    EVP_PKEY_free (ca_key);
    X509_free (ca);
}

static void
test_operator_files (void **state)
{
    (void) state;
    gw_tls_t *dev = gw_tls_new_dev (s_dir, "localhost:8443");
    assert_non_null (dev);
    char *cert = s_path ("server.pem");
    char *key = s_path ("server.key");
    char *ca_key = s_path ("ca.key");
    gw_tls_t *tls = gw_tls_new (cert, key, "localhost:8443");
    assert_non_null (tls);
    assert_null (gw_tls_ca_path (tls));
    assert_string_equal (gw_tls_cert_pem (tls), gw_tls_cert_pem (dev));
    gw_tls_destroy (&tls);
    //  Half a configuration, a key that does not match, a missing file
    assert_null (gw_tls_new (cert, NULL, "localhost:8443"));
    assert_null (gw_tls_new (NULL, key, "localhost:8443"));
    assert_null (gw_tls_new (cert, ca_key, "localhost:8443"));
    assert_null (gw_tls_new ("/nonexistent/cert.pem", key, "localhost:8443"));
    gw_tls_destroy (&dev);
    free (cert);
    free (key);
    free (ca_key);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_domain_host),
        cmocka_unit_test_setup_teardown (test_development_ca_created_and_reused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_ca_name_constraints, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_operator_files, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
