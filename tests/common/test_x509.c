//  pst_x509: the self-signed certificate of a signing key, read back with
//  OpenSSL itself: its name, its signature, its key, its DER and thumbprint.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "pst_crypto.h"
#include "pst_jwt.h"
#include "pst_x509.h"

static char *s_pem;
static char *s_other_pem;

static int
s_setup (void **state)
{
    (void) state;
    if (pst_crypto_init () != 0)
        return -1;
    s_pem = pst_jwt_generate_key_pem (2048);
    s_other_pem = pst_jwt_generate_key_pem (2048);
    return s_pem && s_other_pem? 0: -1;
}

static int
s_teardown (void **state)
{
    (void) state;
    free (s_pem);
    free (s_other_pem);
    return 0;
}

static X509 *
s_load (const char *pem)
{
    BIO *bio = BIO_new_mem_buf (pem, -1);
    X509 *cert = PEM_read_bio_X509 (bio, NULL, NULL, NULL);
    BIO_free (bio);
    return cert;
}

static void
test_self_signed (void **state)
{
    (void) state;
    char *pem = pst_x509_self_signed (s_pem, "auth.example.com:8443", 3650);
    assert_non_null (pem);
    assert_int_equal (strncmp (pem, "-----BEGIN CERTIFICATE-----", 27), 0);
    X509 *cert = s_load (pem);
    assert_non_null (cert);
    assert_int_equal (X509_get_version (cert), X509_VERSION_3);
    //  Its own issuer, named by the domain
    char cn [128] = "";
    X509_NAME_get_text_by_NID (X509_get_subject_name (cert), NID_commonName, cn, sizeof cn);
    assert_string_equal (cn, "auth.example.com:8443");
    assert_int_equal (X509_NAME_cmp (X509_get_subject_name (cert), X509_get_issuer_name (cert)), 0);
    //  Signed by the key it carries
    assert_int_equal (X509_verify (cert, X509_get0_pubkey (cert)), 1);
    assert_int_equal (X509_get_signature_nid (cert), NID_sha256WithRSAEncryption);
    //  Valid now, for about ten years
    assert_true (X509_cmp_current_time (X509_get0_notBefore (cert)) <= 0);
    int days = 0, seconds = 0;
    assert_int_equal (ASN1_TIME_diff (&days, &seconds, X509_get0_notBefore (cert),
                                      X509_get0_notAfter (cert)), 1);
    assert_int_equal (days, 3650);
    //  Not a CA, for signatures only
    assert_int_equal (X509_check_ca (cert), 0);
    assert_true (X509_get_key_usage (cert) & KU_DIGITAL_SIGNATURE);
    assert_false (X509_get_key_usage (cert) & KU_KEY_CERT_SIGN);
    X509_free (cert);

    assert_true (pst_x509_matches_key (pem, s_pem));
    assert_false (pst_x509_matches_key (pem, s_other_pem));
    assert_false (pst_x509_matches_key ("not a certificate", s_pem));

    //  Two certificates of one key differ by serial
    char *again = pst_x509_self_signed (s_pem, "auth.example.com:8443", 3650);
    assert_non_null (again);
    assert_string_not_equal (pem, again);
    free (again);

    //  A long name is cut to what X.509 allows, never refused
    char name [200];
    memset (name, 'a', sizeof name - 1);
    name [sizeof name - 1] = '\0';
    char *long_name = pst_x509_self_signed (s_pem, name, 1);
    assert_non_null (long_name);
    free (long_name);
    free (pem);

    assert_null (pst_x509_self_signed ("not a key", "x", 1));
    assert_null (pst_x509_self_signed (NULL, "x", 1));
    assert_null (pst_x509_self_signed (s_pem, NULL, 1));
    assert_null (pst_x509_self_signed (s_pem, "x", 0));
}

//  x5c is the DER in standard base64; x5t the base64url of its SHA-1
static void
test_der_and_thumbprint (void **state)
{
    (void) state;
    char *pem = pst_x509_self_signed (s_pem, "auth.example.com", 30);
    assert_non_null (pem);
    char *der_b64 = pst_x509_der_base64 (pem);
    assert_non_null (der_b64);
    assert_null (strchr (der_b64, '\n'));
    assert_null (strchr (der_b64, '-'));
    assert_null (strchr (der_b64, '_'));
    unsigned char der [4096];
    int size = EVP_DecodeBlock (der, (const unsigned char *) der_b64, (int) strlen (der_b64));
    assert_true (size > 0);
    //  EVP_DecodeBlock counts the padding's zero bytes: drop them
    size_t length = strlen (der_b64);
    size -= (der_b64 [length - 1] == '=') + (der_b64 [length - 2] == '=');
    const unsigned char *at = der;
    X509 *cert = d2i_X509 (NULL, &at, size);
    assert_non_null (cert);
    X509 *from_pem = s_load (pem);
    assert_int_equal (X509_cmp (cert, from_pem), 0);
    X509_free (from_pem);
    X509_free (cert);

    uint8_t digest [PST_X509_SHA1_SIZE], expected [EVP_MAX_MD_SIZE];
    unsigned int expected_size = 0;
    assert_int_equal (pst_x509_sha1 (pem, digest), 0);
    assert_int_equal (EVP_Digest (der, (size_t) size, expected, &expected_size, EVP_sha1 (), NULL), 1);
    assert_int_equal (expected_size, PST_X509_SHA1_SIZE);
    assert_memory_equal (digest, expected, PST_X509_SHA1_SIZE);
    char *x5t = pst_b64url_encode (digest, sizeof digest);
    assert_int_equal (strlen (x5t), 27);
    free (x5t);

    assert_null (pst_x509_der_base64 ("nothing"));
    assert_null (pst_x509_der_base64 (NULL));
    assert_int_equal (pst_x509_sha1 ("nothing", digest), -1);
    free (der_b64);
    free (pem);
}

static void
test_pkcs7 (void **state)
{
    (void) state;
    char *pem = pst_x509_self_signed (s_pem, "auth.example.com", 30);
    char *p7_pem = pst_x509_pkcs7 (pem);
    assert_non_null (p7_pem);
    assert_int_equal (strncmp (p7_pem, "-----BEGIN PKCS7-----", 21), 0);
    BIO *bio = BIO_new_mem_buf (p7_pem, -1);
    PKCS7 *p7 = PEM_read_bio_PKCS7 (bio, NULL, NULL, NULL);
    BIO_free (bio);
    assert_non_null (p7);
    assert_true (PKCS7_type_is_signed (p7));
    STACK_OF (X509) *certs = p7->d.sign->cert;
    assert_int_equal (sk_X509_num (certs), 1);
    X509 *cert = s_load (pem);
    assert_int_equal (X509_cmp (sk_X509_value (certs, 0), cert), 0);
    X509_free (cert);
    PKCS7_free (p7);
    assert_null (pst_x509_pkcs7 ("nothing"));
    free (p7_pem);
    free (pem);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_self_signed),
        cmocka_unit_test (test_der_and_thumbprint),
        cmocka_unit_test (test_pkcs7),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
