/*  Unit tests of pst_crypto: randomness quality checks, argon2id policy, digests
    against published vectors and base64url strictness. Key files: test_keyfile.c.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pst_crypto.h"
#include <sodium.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CODE_DRAWS  200000

//  Pearson chi-square of observed counts against a uniform expectation
static double
s_chi_square (const long *counts, int bins, long total)
{
    double expected = (double) total / bins;
    double sum = 0;
    for (int i = 0; i < bins; i++) {
        double delta = counts [i] - expected;
        sum += delta * delta / expected;
    }
    return sum;
}

static void
test_code6_format (void **state)
{
    (void) state;
    for (int i = 0; i < 1000; i++) {
        char code [7];
        memset (code, 'x', sizeof code);
        pst_random_code6 (code);
        assert_int_equal (strlen (code), 6);
        for (int j = 0; j < 6; j++)
            assert_true (code [j] >= '0' && code [j] <= '9');
    }
}

//  Each digit position must be uniform: a constant, a skewed digit or the
//  byte % 10 modulo bias (digits 0-5 at 10.2%, 6-9 at 9.8%) gives a chi-square
//  near 70 per position, while a fair generator exceeds 45 with p < 1e-6 (9 dof).
static void
test_code6_distribution (void **state)
{
    (void) state;
    static long counts [6][10];
    memset (counts, 0, sizeof counts);
    long leading_zero = 0;
    long distinct_first = 0;
    char first [7] = "";
    for (long i = 0; i < CODE_DRAWS; i++) {
        char code [7];
        pst_random_code6 (code);
        for (int j = 0; j < 6; j++)
            counts [j][code [j] - '0']++;
        if (code [0] == '0')
            leading_zero++;
        if (i == 0)
            memcpy (first, code, 7);
        else
        if (strcmp (code, first) != 0)
            distinct_first++;
    }
    double total = 0;
    for (int j = 0; j < 6; j++) {
        double chi = s_chi_square (counts [j], 10, CODE_DRAWS);
        if (chi >= 45.0)
            print_error ("digit position %d: chi-square %.1f\n", j, chi);
        assert_true (chi < 45.0);
        total += chi;
    }
    //  All positions together (54 dof, mean 54): the byte % 10 bias gives ~400
    assert_true (total < 120.0);
    //  About 10% of codes start with 0 (S1); standard deviation here is 0.07%
    double ratio = (double) leading_zero / CODE_DRAWS;
    assert_true (ratio > 0.09 && ratio < 0.11);
    assert_true (distinct_first > CODE_DRAWS * 99 / 100);
}

//  upper = 3 * 2^30: "rand32 % upper" would make [0, 2^30) twice as likely
//  (1/2 of draws instead of 1/3). Rejection sampling keeps it at 1/3.
static void
test_uniform_no_modulo_bias (void **state)
{
    (void) state;
    const uint32_t upper = 3u << 30;
    const long draws = 60000;
    long low = 0;
    for (long i = 0; i < draws; i++) {
        uint32_t value = pst_random_uniform (upper);
        assert_true (value < upper);
        if (value < (1u << 30))
            low++;
    }
    double ratio = (double) low / draws;
    assert_true (ratio > 0.31 && ratio < 0.357);

    //  Small ranges: every value reachable, none outside
    long counts [7] = { 0 };
    for (int i = 0; i < 7000; i++) {
        uint32_t value = pst_random_uniform (7);
        assert_true (value < 7);
        counts [value]++;
    }
    for (int i = 0; i < 7; i++)
        assert_true (counts [i] > 700);
}

static void
test_random_string (void **state)
{
    (void) state;
    const char *alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    char text [25];
    int seen [256] = { 0 };
    for (int round = 0; round < 200; round++) {
        memset (text, 'x', sizeof text);
        pst_random_string (text, 24, alphabet);
        assert_int_equal (strlen (text), 24);
        for (int i = 0; i < 24; i++) {
            assert_non_null (strchr (alphabet, text [i]));
            seen [(unsigned char) text [i]]++;
        }
    }
    //  4800 draws over 32 symbols: every symbol shows up
    for (const char *c = alphabet; *c; c++)
        assert_true (seen [(unsigned char) *c] > 50);
}

static void
test_random_token_and_hex (void **state)
{
    (void) state;
    char a [64], b [64];
    assert_int_equal (pst_random_token (a, sizeof a, 32), 0);
    assert_int_equal (pst_random_token (b, sizeof b, 32), 0);
    assert_int_equal (strlen (a), pst_b64url_len (32));
    assert_int_equal (strlen (a), 43);
    assert_string_not_equal (a, b);
    assert_null (strpbrk (a, "+/="));
    uint8_t raw [64];
    size_t size = 0;
    assert_int_equal (pst_b64url_decode (a, strlen (a), raw, sizeof raw, &size), 0);
    assert_int_equal (size, 32);
    //  Buffer one byte short is refused
    assert_int_equal (pst_random_token (a, 43, 32), -1);

    char hex [33];
    assert_int_equal (pst_random_hex (hex, sizeof hex, 16), 0);
    assert_int_equal (strlen (hex), 32);
    assert_int_equal (strspn (hex, "0123456789abcdef"), 32);
    assert_int_equal (pst_random_hex (hex, 32, 16), -1);
}

static void
test_password_hash_policy (void **state)
{
    (void) state;
    char *phc = pst_password_hash ("correct horse battery staple");
    assert_non_null (phc);
    const char *prefix = "$argon2id$v=19$m=19456,t=2,p=1$";
    assert_memory_equal (phc, prefix, strlen (prefix));
    assert_int_equal (pst_password_verify (phc, "correct horse battery staple"), 0);
    assert_int_equal (pst_password_verify (phc, "correct horse battery stapl"), -1);
    assert_int_equal (pst_password_verify (phc, ""), -1);
    assert_int_equal (pst_password_verify (phc, NULL), -1);
    assert_int_equal (pst_password_verify (NULL, "x"), -1);
    assert_int_equal (pst_password_verify ("not a phc string", "x"), -1);
    assert_int_equal (pst_password_needs_rehash (phc), 0);

    //  Salted: the same password never gives the same string
    char *again = pst_password_hash ("correct horse battery staple");
    assert_non_null (again);
    assert_string_not_equal (phc, again);
    free (again);
    free (phc);
}

static void
test_password_needs_rehash (void **state)
{
    (void) state;
    char weak [crypto_pwhash_STRBYTES];
    //  Below policy on both axes: t=1, m=8 MiB
    assert_int_equal (crypto_pwhash_str_alg (weak, "pw", 2, 1, 8u * 1024 * 1024,
                                             crypto_pwhash_ALG_ARGON2ID13), 0);
    assert_int_equal (pst_password_needs_rehash (weak), 1);
    //  Still verifies, so the login can succeed and upgrade it
    assert_int_equal (pst_password_verify (weak, "pw"), 0);

    //  argon2i is not the policy's algorithm, even with higher limits
    //  (libsodium's argon2i needs t >= 3)
    assert_int_equal (crypto_pwhash_str_alg (weak, "pw", 2, 3, 19u * 1024 * 1024,
                                             crypto_pwhash_ALG_ARGON2I13), 0);
    assert_int_equal (pst_password_needs_rehash (weak), 1);

    assert_int_equal (pst_password_needs_rehash ("garbage"), 1);
    assert_int_equal (pst_password_needs_rehash (NULL), 1);
}

static void *
s_burn_thread (void *args)
{
    pst_password_burn ((const char *) args);
    return NULL;
}

//  Lazy initialisation must be safe when the first calls race
static void
test_password_burn_threads (void **state)
{
    (void) state;
    pthread_t threads [2];
    for (int i = 0; i < 2; i++)
        assert_int_equal (pthread_create (&threads [i], NULL, s_burn_thread, "guess"), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal (pthread_join (threads [i], NULL), 0);
    pst_password_burn (NULL);
}

static void
test_constant_time_compare (void **state)
{
    (void) state;
    assert_true (pst_ct_equal ("abcdef", "abcdef", 6));
    assert_false (pst_ct_equal ("abcdef", "abcdeg", 6));
    assert_false (pst_ct_equal ("Xbcdef", "abcdef", 6));
    assert_true (pst_ct_equal ("a", "b", 0));

    assert_true (pst_ct_streq ("123456", "123456"));
    assert_false (pst_ct_streq ("123456", "123457"));
    assert_false (pst_ct_streq ("123456", "1234567"));
    assert_false (pst_ct_streq ("1234567", "123456"));
    assert_false (pst_ct_streq ("", "1"));
    assert_true (pst_ct_streq ("", ""));
    assert_false (pst_ct_streq (NULL, ""));
    assert_false (pst_ct_streq ("", NULL));
    assert_false (pst_ct_streq (NULL, NULL));
}

static void
test_sha256_vectors (void **state)
{
    (void) state;
    char hex [65];
    pst_sha256_hex ("abc", 3, hex);
    assert_string_equal (hex,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    pst_sha256_hex ("", 0, hex);
    assert_string_equal (hex,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void
test_sha256_matches_hex (void **state)
{
    (void) state;
    const char *abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    assert_true (pst_sha256_matches_hex ("abc", abc));
    assert_false (pst_sha256_matches_hex ("abd", abc));
    assert_false (pst_sha256_matches_hex ("ab", abc));
    //  A stored digest in upper case, cut short, or missing never matches
    assert_false (pst_sha256_matches_hex ("abc",
        "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
    assert_false (pst_sha256_matches_hex ("abc", "ba7816bf"));
    assert_false (pst_sha256_matches_hex ("abc", ""));
    assert_false (pst_sha256_matches_hex ("abc", NULL));
    assert_false (pst_sha256_matches_hex (NULL, abc));
}

static void
test_hmac_sha256_vectors (void **state)
{
    (void) state;
    char hex [65];
    //  RFC 4231 test case 2
    const char *data = "what do ya want for nothing?";
    pst_hmac_sha256_hex ((const uint8_t *) "Jefe", 4, data, strlen (data), hex);
    assert_string_equal (hex,
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    //  RFC 4231 test case 1
    uint8_t key [20];
    memset (key, 0x0b, sizeof key);
    pst_hmac_sha256_hex (key, sizeof key, "Hi There", 8, hex);
    assert_string_equal (hex,
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

static void
test_b64url_round_trip (void **state)
{
    (void) state;
    uint8_t data [64], back [64];
    for (size_t size = 0; size <= sizeof data; size++) {
        randombytes_buf (data, size);
        char *text = pst_b64url_encode (data, size);
        assert_non_null (text);
        assert_int_equal (strlen (text), pst_b64url_len (size));
        assert_null (strpbrk (text, "+/="));
        size_t back_size = 999;
        assert_int_equal (pst_b64url_decode (text, strlen (text), back, sizeof back,
                                             &back_size), 0);
        assert_int_equal (back_size, size);
        if (size)
            assert_memory_equal (back, data, size);
        free (text);
    }
    //  0xfb 0xff uses both URL-safe characters
    char *text = pst_b64url_encode ("\xfb\xff", 2);
    assert_string_equal (text, "-_8");
    free (text);
}

static void
test_b64url_rejects (void **state)
{
    (void) state;
    uint8_t out [16];
    size_t size = 0;
    const char *bad [] = {
        "+_8",          //  standard alphabet
        "-/8",
        "-_8=",         //  padding
        "-_9",          //  non-zero trailing bits
        "a",            //  impossible length
        "ab c",
        "ab.c",
        NULL
    };
    for (int i = 0; bad [i]; i++) {
        if (pst_b64url_decode (bad [i], strlen (bad [i]), out, sizeof out, &size) != -1)
            print_error ("accepted '%s'\n", bad [i]);
        assert_int_equal (pst_b64url_decode (bad [i], strlen (bad [i]), out, sizeof out,
                                             &size), -1);
    }
    //  An embedded NUL inside the given length is not skipped
    assert_int_equal (pst_b64url_decode ("-_\0" "8", 4, out, sizeof out, &size), -1);
    //  Overflow of the output buffer
    assert_int_equal (pst_b64url_decode ("AAAAAAAA", 8, out, 5, &size), -1);
    assert_int_equal (pst_b64url_decode ("AAAAAAAA", 8, out, 6, &size), 0);
    assert_int_equal (size, 6);
}

int
main (void)
{
    if (pst_crypto_init () != 0)
        return 1;
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_code6_format),
        cmocka_unit_test (test_code6_distribution),
        cmocka_unit_test (test_uniform_no_modulo_bias),
        cmocka_unit_test (test_random_string),
        cmocka_unit_test (test_random_token_and_hex),
        cmocka_unit_test (test_password_hash_policy),
        cmocka_unit_test (test_password_needs_rehash),
        cmocka_unit_test (test_password_burn_threads),
        cmocka_unit_test (test_constant_time_compare),
        cmocka_unit_test (test_sha256_vectors),
        cmocka_unit_test (test_sha256_matches_hex),
        cmocka_unit_test (test_hmac_sha256_vectors),
        cmocka_unit_test (test_b64url_round_trip),
        cmocka_unit_test (test_b64url_rejects),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
