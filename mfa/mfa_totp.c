#include "mfa_totp.h"
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char s_base32 [] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int
mfa_totp_base32 (const uint8_t *data, size_t size, char *out, size_t out_size)
{
    size_t needed = (size * 8 + 4) / 5 + 1;
    if (!out || out_size < needed || (size && !data))
        return -1;
    size_t length = 0;
    uint32_t buffer = 0;
    int bits = 0;
    for (size_t i = 0; i < size; i++) {
        buffer = (buffer << 8) | data [i];
        bits += 8;
        while (bits >= 5) {
            out [length++] = s_base32 [(buffer >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0)
        out [length++] = s_base32 [(buffer << (5 - bits)) & 31];
    out [length] = '\0';
    return 0;
}

int64_t
mfa_totp_step (int64_t now_ms)
{
    return now_ms < 0? 0: now_ms / 1000 / MFA_TOTP_PERIOD_S;
}

int
mfa_totp_code (const uint8_t *key, size_t key_size, int64_t step, int digits, char *out)
{
    if (!out)
        return -1;
    out [0] = '\0';
    if (!key || key_size == 0 || key_size > INT32_MAX || step < 0 || digits < 6 || digits > 8)
        return -1;
    //  The counter is the step as 8 big-endian bytes (RFC 4226 §5.1)
    uint8_t counter [8];
    for (int i = 7; i >= 0; i--) {
        counter [i] = (uint8_t) (step & 0xff);
        step >>= 8;
    }
    uint8_t digest [EVP_MAX_MD_SIZE];
    unsigned int digest_size = 0;
    if (!HMAC (EVP_sha1 (), key, (int) key_size, counter, sizeof counter, digest, &digest_size)
    ||  digest_size != 20)
        return -1;
    //  Dynamic truncation (RFC 4226 §5.3)
    int offset = digest [19] & 0x0f;
    uint32_t binary = ((uint32_t) (digest [offset] & 0x7f) << 24)
                    | ((uint32_t) digest [offset + 1] << 16)
                    | ((uint32_t) digest [offset + 2] << 8)
                    |  (uint32_t) digest [offset + 3];
    uint32_t modulus = 1;
    for (int i = 0; i < digits; i++)
        modulus *= 10;
    char text [16];
    snprintf (text, sizeof text, "%0*u", digits, binary % modulus);
    memcpy (out, text, (size_t) digits + 1);
    sodium_memzero (digest, sizeof digest);
    return 0;
}

int64_t
mfa_totp_match (const uint8_t *key, size_t key_size, const char *given, int64_t now_step,
                int64_t last_step)
{
    //  A code of another length is compared too (against a padded copy), so
    //  that the time taken says nothing about what was typed
    char typed [MFA_TOTP_DIGITS + 1] = "";
    int well_formed = given && strlen (given) == MFA_TOTP_DIGITS;
    if (well_formed)
        memcpy (typed, given, sizeof typed);
    int64_t found = -1;
    for (int64_t step = now_step - MFA_TOTP_WINDOW; step <= now_step + MFA_TOTP_WINDOW; step++) {
        char code [MFA_TOTP_DIGITS + 1];
        int ok = mfa_totp_code (key, key_size, step < 0? 0: step, MFA_TOTP_DIGITS, code) == 0;
        int equal = sodium_memcmp (code, typed, MFA_TOTP_DIGITS) == 0;
        //  Only a step after the last one used counts: a code is good once
        if (ok && equal && well_formed && step >= 0 && step > last_step && found < 0)
            found = step;
        sodium_memzero (code, sizeof code);
    }
    sodium_memzero (typed, sizeof typed);
    return found;
}

char *
mfa_totp_uri (const char *issuer, const char *account, const char *secret_b32)
{
    if (!issuer || !account || !secret_b32)
        return NULL;
    //  Since libcurl 7.82 the handle is not needed to escape
    char *label_issuer = curl_easy_escape (NULL, issuer, 0);
    char *label_account = curl_easy_escape (NULL, account, 0);
    char *secret = curl_easy_escape (NULL, secret_b32, 0);
    char *uri = NULL;
    if (label_issuer && label_account && secret
    &&  asprintf (&uri, "otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1&digits=%d"
                  "&period=%d", label_issuer, label_account, secret, label_issuer,
                  MFA_TOTP_DIGITS, MFA_TOTP_PERIOD_S) < 0)
        uri = NULL;
    curl_free (label_issuer);
    curl_free (label_account);
    curl_free (secret);
    return uri;
}
