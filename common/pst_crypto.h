/*  pst_crypto - thin wrappers over libsodium and OpenSSL. No primitive is ours.

    Random values come from the OS CSPRNG (randombytes_*); uniform integers use
    libsodium's rejection sampling, so there is no modulo bias.
*/
#ifndef PST_CRYPTO_H_INCLUDED
#define PST_CRYPTO_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

//  Call once per process before any other function here; 0 or -1.
int
    pst_crypto_init (void);

//  Fills out with base64url (no padding) of `bytes` random bytes. out_size must be
//  ≥ pst_b64url_len (bytes) + 1. 0 or -1.
int
    pst_random_token (char *out, size_t out_size, size_t bytes);

//  Lower-case hex of `bytes` random bytes into out (out_size ≥ 2*bytes+1).
int
    pst_random_hex (char *out, size_t out_size, size_t bytes);

//  A 6-digit decimal code with leading zeros, uniform over 000000..999999.
void
    pst_random_code6 (char out [7]);

//  length characters uniform over alphabet (recovery codes). out has length+1 bytes.
void
    pst_random_string (char *out, size_t length, const char *alphabet);

//  Uniform integer in [0, upper).
uint32_t
    pst_random_uniform (uint32_t upper);

//  argon2id PHC string of password (libsodium crypto_pwhash_str_alg) with the
//  policy limits; caller frees. NULL on failure (out of memory).
char *
    pst_password_hash (const char *password);
//  0 when password matches the PHC string, -1 otherwise.
int
    pst_password_verify (const char *phc, const char *password);
//  1 when the PHC string differs from the current policy (weaker, stronger, another
//  algorithm or unreadable): libsodium's rule, so a login rehashes it.
int
    pst_password_needs_rehash (const char *phc);
//  Verifies against a fixed dummy hash: same cost for unknown users.
void
    pst_password_burn (const char *password);

//  Constant-time equality of two buffers of the same length: 1 equal, 0 not.
int
    pst_ct_equal (const void *a, const void *b, size_t size);
//  Constant-time equality of two NUL-terminated strings (length may leak).
int
    pst_ct_streq (const char *a, const char *b);

//  Hex SHA-256 of data into out [65]; on an OpenSSL failure (logged) out is "",
//  which never equals a real digest.
void
    pst_sha256_hex (const void *data, size_t size, char out [65]);
//  Hex HMAC-SHA-256 of data under key into out [65].
void
    pst_hmac_sha256_hex (const uint8_t *key, size_t key_size,
                         const void *data, size_t size, char out [65]);
//  1 when the hex SHA-256 of the NUL-terminated secret equals expected_hex,
//  compared in constant time; 0 otherwise, or when either is NULL.
int
    pst_sha256_matches_hex (const char *secret, const char *expected_hex);

//  base64url without padding.
size_t
    pst_b64url_len (size_t bytes);
//  Caller frees.
char *
    pst_b64url_encode (const void *data, size_t size);
//  Decodes into out (max bytes); 0 and *size_p, or -1 on bad input / overflow.
int
    pst_b64url_decode (const char *text, size_t text_len,
                       uint8_t *out, size_t max, size_t *size_p);

#endif
