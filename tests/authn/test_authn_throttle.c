//  authn_throttle: the client address sign-in throttling counts under, and the
//  keys an attempt counts under.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include "authn_throttle.h"
#include "pst_crypto.h"

static void
s_assert_counted_as (const char *ip, const char *expected)
{
    char address [INET6_ADDRSTRLEN + 8];
    assert_int_equal (authn_throttle_address (ip, address, sizeof address), 0);
    assert_string_equal (address, expected);
}

//  IPv4 counts by address; IPv6 by /64, so one host cannot rotate through the
//  addresses it was given; an IPv4-mapped address is the IPv4 client it stands for.
static void
test_login_address (void **state)
{
    (void) state;
    s_assert_counted_as ("198.51.100.7", "198.51.100.7");
    s_assert_counted_as ("::ffff:198.51.100.7", "198.51.100.7");
    s_assert_counted_as ("::FFFF:c633:6407", "198.51.100.7");
    s_assert_counted_as ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64");
    s_assert_counted_as ("2001:DB8:1:2::beef", "2001:db8:1:2::/64");
    s_assert_counted_as ("2001:0db8:0001:0002:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64");
    s_assert_counted_as ("2001:db8:1:3::1", "2001:db8:1:3::/64");
    s_assert_counted_as ("2001:db8::1", "2001:db8::/64");
    s_assert_counted_as ("::1", "::/64");
    //  Not an address this parses: counted as it is
    s_assert_counted_as ("fe80::1%eth0", "fe80::1%eth0");
    s_assert_counted_as ("not an address", "not an address");
    s_assert_counted_as ("", "");
    s_assert_counted_as (NULL, "");

    //  Too small a buffer is an error, never a silently shorter key
    char small [8];
    assert_int_equal (authn_throttle_address ("2001:db8:1:2::1", small, sizeof small), -1);
    assert_int_equal (authn_throttle_address ("198.51.100.7", small, sizeof small), -1);
    assert_int_equal (authn_throttle_address ("::1", small, sizeof small), 0);
    assert_string_equal (small, "::/64");
}

//  The user key is the username, case-folded, with the address the client
//  counts as, hashed; the address key is that address alone, hashed.
static void
test_keys (void **state)
{
    (void) state;
    authn_throttle_keys_t keys, again;
    authn_throttle_keys (&keys, "Someone@Example.COM", "2001:db8:1:2::1");
    char material [] = "someone@example.com\n2001:db8:1:2::/64";
    char hash [65], expected [80];
    pst_sha256_hex (material, strlen (material), hash);
    snprintf (expected, sizeof expected, "user:%s", hash);
    assert_string_equal (keys.user, expected);
    pst_sha256_hex ("2001:db8:1:2::/64", strlen ("2001:db8:1:2::/64"), hash);
    snprintf (expected, sizeof expected, "ip:%s", hash);
    assert_string_equal (keys.ip, expected);
    assert_int_equal (keys.ip_window, 0);

    //  The same user from the same /64 is the same pair of keys
    authn_throttle_keys (&again, "someone@example.com", "2001:db8:1:2:ffff::9");
    assert_string_equal (again.user, keys.user);
    assert_string_equal (again.ip, keys.ip);
    //  Another user from there shares the address key only
    authn_throttle_keys (&again, "other@example.com", "2001:db8:1:2::1");
    assert_string_not_equal (again.user, keys.user);
    assert_string_equal (again.ip, keys.ip);
    //  No address reported: counted under the empty one
    authn_throttle_keys (&again, "someone@example.com", NULL);
    pst_sha256_hex ("", 0, hash);
    snprintf (expected, sizeof expected, "ip:%s", hash);
    assert_string_equal (again.ip, expected);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_login_address),
        cmocka_unit_test (test_keys),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
