/*  mfa_totp - the arithmetic of time-based one-time passwords (RFC 6238 over
    RFC 4226's HOTP): HMAC-SHA-1 (OpenSSL), dynamic truncation, 30-second
    steps, the ±1-step window and the rule that a step is used once; the
    base32 form of the secret and the otpauth:// URI an authenticator app
    scans. Pure: no clock, no database, no state, so the RFC's test vectors
    drive it directly.
*/
#ifndef MFA_TOTP_H_INCLUDED
#define MFA_TOTP_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#define MFA_TOTP_SECRET_SIZE    20      //  160 bits: RFC 4226's recommended length
#define MFA_TOTP_SECRET_B32     32      //  its base32 characters (no padding needed)
#define MFA_TOTP_PERIOD_S       30
#define MFA_TOTP_DIGITS         6
#define MFA_TOTP_WINDOW         1       //  steps accepted either side of now

//  RFC 4648 base32 (upper case, no padding) of size bytes into out, which
//  must hold (size * 8 + 4) / 5 + 1 bytes. 0, or -1 when it does not.
int
    mfa_totp_base32 (const uint8_t *data, size_t size, char *out, size_t out_size);

//  The step a Unix time in ms falls in: floor (seconds / 30). Negative times
//  give step 0.
int64_t
    mfa_totp_step (int64_t now_ms);

//  The HOTP of step under key: digits (6 to 8) decimal digits with leading
//  zeros, into out (digits + 1 bytes). 0, or -1 on bad arguments or an
//  OpenSSL failure (out is then "").
int
    mfa_totp_code (const uint8_t *key, size_t key_size, int64_t step, int digits,
                   char *out);

//  The step, among now_step - 1 .. now_step + 1 and later than last_step (-1:
//  none used yet), whose 6-digit code is given; -1 when none is. Every
//  candidate is computed and compared in constant time, whatever matches.
int64_t
    mfa_totp_match (const uint8_t *key, size_t key_size, const char *given,
                    int64_t now_step, int64_t last_step);

//  otpauth://totp/<issuer>:<account>?secret=..&issuer=..&algorithm=SHA1&digits=6&period=30,
//  issuer and account percent-encoded (libcurl). Caller frees; NULL on failure.
char *
    mfa_totp_uri (const char *issuer, const char *account, const char *secret_b32);

#endif
