/*  pst_x509 - self-signed certificates for signing keys, with OpenSSL 3.
*/
#include "pst_x509.h"
#include "pst_log.h"
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#define CN_MAX          64      //  ub_common_name (RFC 5280)
#define SERIAL_BYTES    16

//  The text a memory BIO holds, NUL-terminated; caller frees
static char *
s_bio_text (BIO *bio)
{
    char *data = NULL;
    long size = BIO_get_mem_data (bio, &data);
    char *text = size > 0? (char *) malloc ((size_t) size + 1): NULL;
    if (text) {
        memcpy (text, data, (size_t) size);
        text [size] = '\0';
    }
    return text;
}

static X509 *
s_load (const char *cert_pem)
{
    if (!cert_pem)
        return NULL;
    BIO *bio = BIO_new_mem_buf (cert_pem, -1);
    X509 *cert = bio? PEM_read_bio_X509 (bio, NULL, NULL, NULL): NULL;
    BIO_free (bio);
    return cert;
}

static EVP_PKEY *
s_private_key (const char *private_pem)
{
    if (!private_pem)
        return NULL;
    BIO *bio = BIO_new_mem_buf (private_pem, -1);
    EVP_PKEY *pkey = bio? PEM_read_bio_PrivateKey (bio, NULL, NULL, NULL): NULL;
    BIO_free (bio);
    return pkey;
}

//  A random positive serial (RFC 5280 §4.1.2.2: at most 20 octets)
static int
s_set_serial (X509 *cert)
{
    unsigned char bytes [SERIAL_BYTES];
    if (RAND_bytes (bytes, sizeof bytes) != 1)
        return -1;
    bytes [0] &= 0x7f;
    bytes [0] |= 0x01;
    BIGNUM *bn = BN_bin2bn (bytes, sizeof bytes, NULL);
    int rc = bn && BN_to_ASN1_INTEGER (bn, X509_get_serialNumber (cert))? 0: -1;
    BN_free (bn);
    return rc;
}

static int
s_add_extension (X509 *cert, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb (&ctx);
    X509V3_set_ctx (&ctx, cert, cert, NULL, NULL, 0);
    X509_EXTENSION *extension = X509V3_EXT_conf_nid (NULL, &ctx, nid, value);
    int rc = extension && X509_add_ext (cert, extension, -1) == 1? 0: -1;
    X509_EXTENSION_free (extension);
    return rc;
}

char *
pst_x509_self_signed (const char *private_pem, const char *common_name, int days)
{
    EVP_PKEY *pkey = s_private_key (private_pem);
    X509 *cert = pkey && common_name && days > 0? X509_new (): NULL;
    char cn [CN_MAX + 1];
    snprintf (cn, sizeof cn, "%s", common_name? common_name: "");
    X509_NAME *name = cert? X509_get_subject_name (cert): NULL;
    int ok = name
          && X509_set_version (cert, X509_VERSION_3) == 1
          && s_set_serial (cert) == 0
          && X509_gmtime_adj (X509_getm_notBefore (cert), 0)
          && X509_gmtime_adj (X509_getm_notAfter (cert), (long) days * 86400L)
          && X509_set_pubkey (cert, pkey) == 1
          && X509_NAME_add_entry_by_txt (name, "CN", MBSTRING_UTF8,
                                         (const unsigned char *) cn, -1, -1, 0) == 1
          && X509_set_issuer_name (cert, name) == 1
          && s_add_extension (cert, NID_basic_constraints, "critical,CA:FALSE") == 0
          && s_add_extension (cert, NID_key_usage, "critical,digitalSignature") == 0
          && s_add_extension (cert, NID_subject_key_identifier, "hash") == 0
          && X509_sign (cert, pkey, EVP_sha256 ()) > 0;
    char *pem = NULL;
    BIO *bio = ok? BIO_new (BIO_s_mem ()): NULL;
    if (bio && PEM_write_bio_X509 (bio, cert) == 1)
        pem = s_bio_text (bio);
    if (!pem)
        pst_log (PST_LOG_ERROR, "x509_self_signed_failed", NULL);
    BIO_free (bio);
    X509_free (cert);
    EVP_PKEY_free (pkey);
    return pem;
}

char *
pst_x509_der_base64 (const char *cert_pem)
{
    X509 *cert = s_load (cert_pem);
    unsigned char *der = NULL;
    int size = cert? i2d_X509 (cert, &der): -1;
    X509_free (cert);
    if (size <= 0)
        return NULL;
    //  EVP_EncodeBlock: standard base64 with padding, no line breaks
    char *text = (char *) malloc ((size_t) (size + 2) / 3 * 4 + 1);
    if (text)
        EVP_EncodeBlock ((unsigned char *) text, der, size);
    OPENSSL_free (der);
    return text;
}

int
pst_x509_sha1 (const char *cert_pem, uint8_t digest [PST_X509_SHA1_SIZE])
{
    X509 *cert = s_load (cert_pem);
    unsigned int size = 0;
    int rc = cert && X509_digest (cert, EVP_sha1 (), digest, &size) == 1
          && size == PST_X509_SHA1_SIZE? 0: -1;
    X509_free (cert);
    return rc;
}

char *
pst_x509_pkcs7 (const char *cert_pem)
{
    X509 *cert = s_load (cert_pem);
    PKCS7 *p7 = cert? PKCS7_new (): NULL;
    char *pem = NULL;
    //  Signed-data with no signers: the usual way to carry certificates alone
    if (p7
    &&  PKCS7_set_type (p7, NID_pkcs7_signed) == 1
    &&  PKCS7_content_new (p7, NID_pkcs7_data) == 1
    &&  PKCS7_add_certificate (p7, cert) == 1) {
        BIO *bio = BIO_new (BIO_s_mem ());
        if (bio && PEM_write_bio_PKCS7 (bio, p7) == 1)
            pem = s_bio_text (bio);
        BIO_free (bio);
    }
    PKCS7_free (p7);
    X509_free (cert);
    return pem;
}

int
pst_x509_matches_key (const char *cert_pem, const char *private_pem)
{
    X509 *cert = s_load (cert_pem);
    EVP_PKEY *pkey = s_private_key (private_pem);
    EVP_PKEY *public_key = cert? X509_get0_pubkey (cert): NULL;
    int matches = public_key && pkey && EVP_PKEY_eq (public_key, pkey) == 1;
    EVP_PKEY_free (pkey);
    X509_free (cert);
    return matches;
}
