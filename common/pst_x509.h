/*  pst_x509 - the self-signed X.509 certificate that vouches for a signing key.

    A JWKS publishes it beside the key (x5c, and x5t its SHA-1 thumbprint: RFC
    7517 §4.7-4.8), as Auth0's does, for verifiers that read certificates rather
    than n and e; the Management API lists it with its fingerprints. It proves
    nothing by itself (it is self-signed): the JWKS, fetched over TLS, is the
    trust anchor, as with Auth0.
*/
#ifndef PST_X509_H_INCLUDED
#define PST_X509_H_INCLUDED

#include <stdint.h>

#define PST_X509_SHA1_SIZE  20

//  A self-signed certificate for the RSA private key private_pem: subject and
//  issuer CN=common_name (cut to 64 characters), a random serial, valid from
//  now for days, signed with SHA-256, for digital signatures only. PEM; caller
//  frees; NULL on failure (logged).
char *
    pst_x509_self_signed (const char *private_pem, const char *common_name, int days);

//  The certificate's DER in standard base64, without line breaks: an x5c
//  entry. Caller frees; NULL when cert_pem is no certificate.
char *
    pst_x509_der_base64 (const char *cert_pem);

//  SHA-1 of the certificate's DER into digest (x5t is its base64url, Auth0's
//  thumbprint its hex). 0, or -1 when cert_pem is no certificate.
int
    pst_x509_sha1 (const char *cert_pem, uint8_t digest [PST_X509_SHA1_SIZE]);

//  The certificate alone in a PKCS#7 (certs-only, as `openssl crl2pkcs7
//  -nocrl` makes), PEM. Caller frees; NULL on failure.
char *
    pst_x509_pkcs7 (const char *cert_pem);

//  1 when the certificate's public key is private_pem's, 0 when not or when
//  either does not load.
int
    pst_x509_matches_key (const char *cert_pem, const char *private_pem);

#endif
