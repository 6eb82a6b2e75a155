/*  gw_proxy: trusted-proxy lists, and the client address behind them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "gw_proxy.h"

static gw_proxy_t *
s_proxies (const char *list)
{
    char *error = NULL;
    gw_proxy_t *proxies = gw_proxy_new (list, &error);
    assert_non_null (proxies);
    assert_null (error);
    return proxies;
}

static void
s_assert_refused (const char *list, const char *mentions)
{
    char *error = NULL;
    gw_proxy_t *proxies = gw_proxy_new (list, &error);
    assert_null (proxies);
    assert_non_null (error);
    assert_non_null (strstr (error, mentions));
    free (error);
}

static void
test_list_parsing (void **state)
{
    (void) state;
    gw_proxy_t *proxies = s_proxies (" 10.1.0.0/16 ,127.0.0.1,, 2001:db8::/32 ,[::1]");
    assert_true (gw_proxy_trusts (proxies, "10.1.255.3"));
    assert_false (gw_proxy_trusts (proxies, "10.2.0.1"));
    assert_true (gw_proxy_trusts (proxies, "127.0.0.1"));
    assert_false (gw_proxy_trusts (proxies, "127.0.0.2"));
    assert_true (gw_proxy_trusts (proxies, "2001:db8:ffff::1"));
    assert_false (gw_proxy_trusts (proxies, "2001:db9::1"));
    assert_true (gw_proxy_trusts (proxies, "::1"));
    //  An IPv4 range covers the same address written v4-mapped
    assert_true (gw_proxy_trusts (proxies, "::ffff:10.1.0.9"));
    assert_false (gw_proxy_trusts (proxies, "not an address"));
    assert_false (gw_proxy_trusts (proxies, ""));
    gw_proxy_destroy (&proxies);
    assert_null (proxies);

    //  Odd prefixes are honoured bit by bit
    proxies = s_proxies ("192.168.0.128/25");
    assert_true (gw_proxy_trusts (proxies, "192.168.0.200"));
    assert_false (gw_proxy_trusts (proxies, "192.168.0.127"));
    gw_proxy_destroy (&proxies);

    //  Nothing, or an empty list, trusts nobody
    proxies = s_proxies (NULL);
    assert_false (gw_proxy_trusts (proxies, "127.0.0.1"));
    gw_proxy_destroy (&proxies);
    proxies = s_proxies ("  ");
    assert_false (gw_proxy_trusts (proxies, "127.0.0.1"));
    gw_proxy_destroy (&proxies);
}

static void
test_bad_lists (void **state)
{
    (void) state;
    s_assert_refused ("10.0.0.0/33", "10.0.0.0/33");
    s_assert_refused ("::/129", "::/129");
    s_assert_refused ("10.0.0.0/", "10.0.0.0/");
    s_assert_refused ("10.0.0.0/8x", "10.0.0.0/8x");
    s_assert_refused ("127.0.0.1, proxy.example.com", "proxy.example.com");
    s_assert_refused ("10.0.0.0/-1", "is not an address");
    char *many = (char *) malloc (GW_PROXY_RANGES_MAX * 12 + 16);
    assert_non_null (many);
    *many = '\0';
    for (int index = 0; index <= GW_PROXY_RANGES_MAX; index++)
        strcat (many, "127.0.0.1,");
    s_assert_refused (many, "more than");
    free (many);
    char *long_list = (char *) malloc (GW_PROXY_LIST_MAX + 2);
    assert_non_null (long_list);
    memset (long_list, ' ', GW_PROXY_LIST_MAX + 1);
    long_list [GW_PROXY_LIST_MAX + 1] = '\0';
    s_assert_refused (long_list, "too long");
    free (long_list);
}

static void
test_client_address (void **state)
{
    (void) state;
    gw_proxy_t *proxies = s_proxies ("127.0.0.1, 10.0.0.0/8");
    char client [64];

    //  An untrusted peer's header is ignored: anyone can write one
    assert_int_equal (gw_proxy_client (proxies, "198.51.100.1", "203.0.113.9", client,
                                       sizeof client), 0);
    assert_string_equal (client, "198.51.100.1");

    //  Trusted hops are skipped from the right; the first other one is the client
    assert_int_equal (gw_proxy_client (proxies, "127.0.0.1",
                      "6.6.6.6, 203.0.113.9, 10.0.0.5", client, sizeof client), 1);
    assert_string_equal (client, "203.0.113.9");

    //  Spacing and case do not matter; IPv6 comes out canonical
    assert_int_equal (gw_proxy_client (proxies, "127.0.0.1", "  2001:DB8:0:0::7 ",
                                       client, sizeof client), 1);
    assert_string_equal (client, "2001:db8::7");
    assert_int_equal (gw_proxy_client (proxies, "127.0.0.1", "[2001:db8::8]",
                                       client, sizeof client), 1);
    assert_string_equal (client, "2001:db8::8");

    //  A hop that is not an address ends the walk at the last good one
    assert_int_equal (gw_proxy_client (proxies, "127.0.0.1", "203.0.113.9, garbage, 10.0.0.5",
                                       client, sizeof client), 1);
    assert_string_equal (client, "10.0.0.5");
    assert_int_equal (gw_proxy_client (proxies, "127.0.0.1", "203.0.113.9,", client,
                                       sizeof client), 0);
    assert_string_equal (client, "127.0.0.1");
    assert_int_equal (gw_proxy_client (proxies, "127.0.0.1", "", client, sizeof client), 0);
    assert_string_equal (client, "127.0.0.1");
    assert_int_equal (gw_proxy_client (proxies, "127.0.0.1", NULL, client, sizeof client), 0);
    assert_string_equal (client, "127.0.0.1");

    //  All hops trusted: the farthest one read
    assert_int_equal (gw_proxy_client (proxies, "127.0.0.1", "10.0.0.1, 10.0.0.2",
                                       client, sizeof client), 1);
    assert_string_equal (client, "10.0.0.1");
    gw_proxy_destroy (&proxies);

    //  No list: the peer, whatever the header says
    proxies = s_proxies (NULL);
    assert_int_equal (gw_proxy_client (proxies, "127.0.0.1", "203.0.113.9", client,
                                       sizeof client), 0);
    assert_string_equal (client, "127.0.0.1");
    gw_proxy_destroy (&proxies);
}

//  A header full of trusted hops is read only so far
static void
test_hop_limit (void **state)
{
    (void) state;
    gw_proxy_t *proxies = s_proxies ("10.0.0.0/8");
    char header [1024] = "203.0.113.9";
    for (int index = 0; index < GW_PROXY_HOPS_MAX; index++)
        strcat (header, ", 10.0.0.1");
    char client [64];
    assert_int_equal (gw_proxy_client (proxies, "10.0.0.2", header, client, sizeof client), 1);
    assert_string_equal (client, "10.0.0.1");
    gw_proxy_destroy (&proxies);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_list_parsing),
        cmocka_unit_test (test_bad_lists),
        cmocka_unit_test (test_client_address),
        cmocka_unit_test (test_hop_limit),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
