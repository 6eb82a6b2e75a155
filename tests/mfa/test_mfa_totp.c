//  Unit tests of mfa_totp: RFC 6238's SHA-1 vectors (and RFC 4226's HOTP
//  ones), RFC 4648's base32 vectors, the ±1-step window, a step used once,
//  and the otpauth:// URI's percent-encoding.

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "mfa_totp.h"

static const uint8_t s_rfc_key [] = "12345678901234567890";
#define RFC_KEY_SIZE    20

static void
test_rfc6238_sha1 (void **state)
{
    (void) state;
    //  RFC 6238 Appendix B, the SHA-1 rows: 8 digits, 30-second steps
    const struct {
        int64_t seconds;
        const char *code;
    } vectors [] = {
        { 59, "94287082" },
        { 1111111109, "07081804" },
        { 1111111111, "14050471" },
        { 1234567890, "89005924" },
        { 2000000000, "69279037" },
        { 20000000000LL, "65353130" },
    };
    for (size_t i = 0; i < sizeof vectors / sizeof vectors [0]; i++) {
        char code [9];
        int64_t step = mfa_totp_step (vectors [i].seconds * 1000);
        assert_int_equal (mfa_totp_code (s_rfc_key, RFC_KEY_SIZE, step, 8, code), 0);
        assert_string_equal (code, vectors [i].code);
    }
}

static void
test_rfc4226_hotp (void **state)
{
    (void) state;
    //  RFC 4226 Appendix D: 6 digits, counters 0 to 9
    const char *expected [] = { "755224", "287082", "359152", "969429", "338314",
                                "254676", "287922", "162583", "399871", "520489" };
    for (int64_t counter = 0; counter < 10; counter++) {
        char code [7];
        assert_int_equal (mfa_totp_code (s_rfc_key, RFC_KEY_SIZE, counter, 6, code), 0);
        assert_string_equal (code, expected [counter]);
    }
    char code [9] = "x";
    assert_int_equal (mfa_totp_code (s_rfc_key, RFC_KEY_SIZE, 0, 5, code), -1);
    assert_string_equal (code, "");
    assert_int_equal (mfa_totp_code (s_rfc_key, RFC_KEY_SIZE, 0, 9, code), -1);
    assert_int_equal (mfa_totp_code (s_rfc_key, 0, 0, 6, code), -1);
    assert_int_equal (mfa_totp_code (s_rfc_key, RFC_KEY_SIZE, -1, 6, code), -1);
}

static void
test_step (void **state)
{
    (void) state;
    assert_int_equal (mfa_totp_step (0), 0);
    assert_int_equal (mfa_totp_step (29999), 0);
    assert_int_equal (mfa_totp_step (30000), 1);
    assert_int_equal (mfa_totp_step (-5000), 0);
    assert_int_equal (mfa_totp_step (59000), 1);
}

static void
test_base32 (void **state)
{
    (void) state;
    //  RFC 4648 §10, without the padding (an otpauth secret carries none)
    const struct {
        const char *data;
        const char *text;
    } vectors [] = {
        { "", "" }, { "f", "MY" }, { "fo", "MZXQ" }, { "foo", "MZXW6" },
        { "foob", "MZXW6YQ" }, { "fooba", "MZXW6YTB" }, { "foobar", "MZXW6YTBOI" },
        { "12345678901234567890", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" },
    };
    for (size_t i = 0; i < sizeof vectors / sizeof vectors [0]; i++) {
        char text [64];
        const char *data = vectors [i].data;
        assert_int_equal (mfa_totp_base32 ((const uint8_t *) data, strlen (data), text,
                                           sizeof text), 0);
        assert_string_equal (text, vectors [i].text);
    }
    //  A 160-bit secret is 32 characters exactly, and needs room for them
    char text [MFA_TOTP_SECRET_B32 + 1];
    assert_int_equal (mfa_totp_base32 (s_rfc_key, MFA_TOTP_SECRET_SIZE, text, sizeof text), 0);
    assert_int_equal (strlen (text), MFA_TOTP_SECRET_B32);
    assert_int_equal (mfa_totp_base32 (s_rfc_key, MFA_TOTP_SECRET_SIZE, text, sizeof text - 1),
                      -1);
}

static void
test_window_and_replay (void **state)
{
    (void) state;
    int64_t now = 1000;
    char code [7];
    //  Now, and one step either side
    for (int64_t delta = -1; delta <= 1; delta++) {
        assert_int_equal (mfa_totp_code (s_rfc_key, RFC_KEY_SIZE, now + delta, 6, code), 0);
        assert_int_equal (mfa_totp_match (s_rfc_key, RFC_KEY_SIZE, code, now, -1), now + delta);
    }
    //  Two steps away: refused
    assert_int_equal (mfa_totp_code (s_rfc_key, RFC_KEY_SIZE, now + 2, 6, code), 0);
    assert_int_equal (mfa_totp_match (s_rfc_key, RFC_KEY_SIZE, code, now, -1), -1);
    assert_int_equal (mfa_totp_code (s_rfc_key, RFC_KEY_SIZE, now - 2, 6, code), 0);
    assert_int_equal (mfa_totp_match (s_rfc_key, RFC_KEY_SIZE, code, now, -1), -1);
    //  A step once used, or any before it, does not count again
    assert_int_equal (mfa_totp_code (s_rfc_key, RFC_KEY_SIZE, now, 6, code), 0);
    assert_int_equal (mfa_totp_match (s_rfc_key, RFC_KEY_SIZE, code, now, now), -1);
    assert_int_equal (mfa_totp_match (s_rfc_key, RFC_KEY_SIZE, code, now, now + 1), -1);
    assert_int_equal (mfa_totp_match (s_rfc_key, RFC_KEY_SIZE, code, now, now - 1), now);
    assert_int_equal (mfa_totp_code (s_rfc_key, RFC_KEY_SIZE, now - 1, 6, code), 0);
    assert_int_equal (mfa_totp_match (s_rfc_key, RFC_KEY_SIZE, code, now, now - 1), -1);
    //  Malformed codes never match
    const char *bad [] = { "", "12345", "1234567", "abcdef", NULL };
    for (int i = 0; bad [i]; i++)
        assert_int_equal (mfa_totp_match (s_rfc_key, RFC_KEY_SIZE, bad [i], now, -1), -1);
    assert_int_equal (mfa_totp_match (s_rfc_key, RFC_KEY_SIZE, NULL, now, -1), -1);
    //  Step 0: there is no step -1 to look at
    assert_int_equal (mfa_totp_code (s_rfc_key, RFC_KEY_SIZE, 0, 6, code), 0);
    assert_int_equal (mfa_totp_match (s_rfc_key, RFC_KEY_SIZE, code, 0, -1), 0);
}

static void
test_uri (void **state)
{
    (void) state;
    char *uri = mfa_totp_uri ("Postern", "bob@example.com", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    assert_non_null (uri);
    assert_string_equal (uri, "otpauth://totp/Postern:bob%40example.com"
        "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Postern&algorithm=SHA1&digits=6"
        "&period=30");
    free (uri);
    //  Whatever a tenant name or address holds stays inside its own component
    uri = mfa_totp_uri ("Acme & Co: R/D?", "a+b#c@x.io", "MY");
    assert_non_null (uri);
    assert_string_equal (uri, "otpauth://totp/Acme%20%26%20Co%3A%20R%2FD%3F:a%2Bb%23c%40x.io"
        "?secret=MY&issuer=Acme%20%26%20Co%3A%20R%2FD%3F&algorithm=SHA1&digits=6&period=30");
    free (uri);
    uri = mfa_totp_uri ("Z\xc3\xbcrich", "u@x.io", "MY");
    assert_non_null (strstr (uri, "totp/Z%C3%BCrich:"));
    free (uri);
    assert_null (mfa_totp_uri (NULL, "u@x.io", "MY"));
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_rfc6238_sha1),
        cmocka_unit_test (test_rfc4226_hotp),
        cmocka_unit_test (test_step),
        cmocka_unit_test (test_base32),
        cmocka_unit_test (test_window_and_replay),
        cmocka_unit_test (test_uri),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
