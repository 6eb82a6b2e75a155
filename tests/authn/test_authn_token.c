//  authn_token: the client address sign-in throttling counts under.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include "authn_token.h"

static void
s_assert_counted_as (const char *ip, const char *expected)
{
    char address [INET6_ADDRSTRLEN + 8];
    assert_int_equal (authn_token_login_address (ip, address, sizeof address), 0);
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
    assert_int_equal (authn_token_login_address ("2001:db8:1:2::1", small, sizeof small), -1);
    assert_int_equal (authn_token_login_address ("198.51.100.7", small, sizeof small), -1);
    assert_int_equal (authn_token_login_address ("::1", small, sizeof small), 0);
    assert_string_equal (small, "::/64");
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_login_address),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
