/*  Unit tests of pst_email: the one address rule every service applies. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pst_email.h"
#include <string.h>

static void
test_accepts_ordinary_addresses (void **state)
{
    (void) state;
    static const char *const good [] = {
        "user@example.com", "first.last@sub.example.org", "a+tag@example.com",
        "o'brien@example.ie", "x@y", "UPPER@EXAMPLE.COM", "{}|~^`!#$%&*=?/_-@a-b.c", NULL
    };
    for (const char *const *address = good; *address; address++)
        assert_int_equal (pst_email_valid (*address), 1);
}

static void
test_refuses_what_the_mailer_cannot_send (void **state)
{
    (void) state;
    static const char *const bad [] = {
        "", "@", "user", "user@", "@example.com", "a@b@c", "user name@example.com",
        "user@exa mple.com", ".user@example.com", "user.@example.com", "us..er@example.com",
        "user@.example.com", "user@example.com.", "user@exa..mple.com", "\"quoted\"@example.com",
        "user@[127.0.0.1]", "us\ter@example.com", "user@example.com\r\nBcc: x@y",
        "us\x7f" "er@example.com", "j\xc3\xbcrgen@example.de", "user@ex_ample.com",
        "user@example.com>", "<user@example.com", "user,other@example.com", NULL
    };
    for (const char *const *address = bad; *address; address++) {
        if (pst_email_valid (*address) != 0)
            fail_msg ("accepted %s", *address);
    }
    assert_int_equal (pst_email_valid (NULL), 0);
}

static void
test_length_limits (void **state)
{
    (void) state;
    char address [PST_EMAIL_MAX + 2];
    //  Local part: 64 octets pass, 65 do not
    memset (address, 'a', 64);
    strcpy (address + 64, "@example.com");
    assert_int_equal (pst_email_valid (address), 1);
    memset (address, 'a', 65);
    strcpy (address + 65, "@example.com");
    assert_int_equal (pst_email_valid (address), 0);
    //  Whole address: 254 octets pass, 255 do not
    memset (address, 'd', sizeof address);
    memcpy (address, "user@", 5);
    address [PST_EMAIL_MAX] = '\0';
    assert_int_equal (pst_email_valid (address), 1);
    address [PST_EMAIL_MAX] = 'd';
    address [PST_EMAIL_MAX + 1] = '\0';
    assert_int_equal (pst_email_valid (address), 0);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_accepts_ordinary_addresses),
        cmocka_unit_test (test_refuses_what_the_mailer_cannot_send),
        cmocka_unit_test (test_length_limits),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
