//  Unit tests of pst_origin: which texts are origins, their normalized form,
//  and how a wildcard matches.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include "pst_origin.h"

static void
test_valid (void **state)
{
    (void) state;
    const char *good [] = {
        "https://app.example.com", "http://localhost:3000", "https://app.example.com/",
        "HTTPS://App.Example.COM:8443", "http://127.0.0.1:8080", "http://[::1]:3000",
        "capacitor://localhost", "chrome-extension://abcdefghijklmnop", "https://my_app.test",
        NULL
    };
    for (const char **text = good; *text; text++)
        assert_int_equal (pst_origin_valid (*text, 0), 0);
    const char *bad [] = {
        "", "app.example.com", "https://", "https://app.example.com/path",
        "https://app.example.com/?q=1", "https://app.example.com#x", "https://user@app.test",
        "https://app.example.com:", "https://app.example.com:0", "https://app.example.com:65536",
        "https://app.example.com:123456", "https://app..example.com", "https://app.example.com.",
        "https://app example.com", "https://[::1", "https://[nothex]", "http://1.2.3",
        "http://256.1.1.1", "1https://x.test", "https://x.test//", "null", "*",
        "https://app.example.com\n", NULL
    };
    for (const char **text = bad; *text; text++) {
        if (pst_origin_valid (*text, 1) == 0)
            fail_msg ("accepted %s", *text);
    }
    //  Too long
    char long_origin [PST_ORIGIN_MAX + 16] = "https://";
    memset (long_origin + 8, 'a', sizeof long_origin - 8 - 5);
    memcpy (long_origin + sizeof long_origin - 5, ".com", 5);
    assert_int_equal (pst_origin_valid (long_origin, 1), -1);
}

static void
test_wildcards (void **state)
{
    (void) state;
    assert_int_equal (pst_origin_valid ("https://*.example.com", 1), 0);
    assert_int_equal (pst_origin_valid ("https://app-*-x.example.com:8443", 1), 0);
    //  only when asked for, once, in the leftmost label of a name, under http(s)
    assert_int_equal (pst_origin_valid ("https://*.example.com", 0), -1);
    assert_int_equal (pst_origin_valid ("https://*.com", 1), -1);
    assert_int_equal (pst_origin_valid ("https://sub.*.example.com", 1), -1);
    assert_int_equal (pst_origin_valid ("https://*.*.example.com", 1), -1);
    assert_int_equal (pst_origin_valid ("https://a**.example.com", 1), -1);
    assert_int_equal (pst_origin_valid ("https://*.1.2.3", 1), -1);
    assert_int_equal (pst_origin_valid ("capacitor://*.example.com", 1), -1);
    assert_int_equal (pst_origin_valid ("https://[*::1]", 1), -1);
}

static void
s_assert_normal (const char *text, const char *expected)
{
    char out [PST_ORIGIN_MAX + 1];
    assert_int_equal (pst_origin_normalize (text, out, sizeof out), 0);
    assert_string_equal (out, expected);
}

static void
test_normalize (void **state)
{
    (void) state;
    s_assert_normal ("HTTPS://App.Example.COM:443/", "https://app.example.com");
    s_assert_normal ("http://localhost:80", "http://localhost");
    s_assert_normal ("http://localhost:443", "http://localhost:443");
    s_assert_normal ("https://localhost:80", "https://localhost:80");
    s_assert_normal ("http://[::1]:3000", "http://[::1]:3000");
    s_assert_normal ("https://*.Example.com", "https://*.example.com");
    char out [PST_ORIGIN_MAX + 1];
    assert_int_equal (pst_origin_normalize ("https://x.test/a", out, sizeof out), -1);
    assert_int_equal (pst_origin_normalize ("https://x.test", out, 8), -1);
}

static void
test_match (void **state)
{
    (void) state;
    assert_true (pst_origin_match ("https://app.example.com", "https://app.example.com"));
    assert_false (pst_origin_match ("https://app.example.com", "http://app.example.com"));
    assert_false (pst_origin_match ("https://app.example.com", "https://app.example.com:8443"));
    assert_false (pst_origin_is_pattern ("https://app.example.com"));
    assert_true (pst_origin_is_pattern ("https://*.example.com"));
    //  one label, one or more characters
    assert_true (pst_origin_match ("https://*.example.com", "https://a.example.com"));
    assert_true (pst_origin_match ("https://*.example.com", "https://a-b_c.example.com"));
    assert_false (pst_origin_match ("https://*.example.com", "https://example.com"));
    assert_false (pst_origin_match ("https://*.example.com", "https://.example.com"));
    assert_false (pst_origin_match ("https://*.example.com", "https://a.b.example.com"));
    assert_false (pst_origin_match ("https://*.example.com", "https://a.example.com:8443"));
    assert_false (pst_origin_match ("https://*.example.com", "http://a.example.com"));
    assert_false (pst_origin_match ("https://*.example.com", "https://a.example.com.evil.test"));
    assert_false (pst_origin_match ("https://*.example.com", "https://evil.test/.example.com"));
    assert_true (pst_origin_match ("https://app-*.example.com", "https://app-42.example.com"));
    assert_false (pst_origin_match ("https://app-*.example.com", "https://app-.example.com"));
    assert_false (pst_origin_match ("https://app-*.example.com", "https://xapp-1.example.com"));
    assert_false (pst_origin_match (NULL, "https://a.test"));
    assert_false (pst_origin_match ("https://a.test", NULL));
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_valid),
        cmocka_unit_test (test_wildcards),
        cmocka_unit_test (test_normalize),
        cmocka_unit_test (test_match),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
