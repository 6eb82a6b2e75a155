#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "pst_scope.h"

static void
test_words (void **state)
{
    (void) state;
    assert_true (pst_scope_has ("openid profile email", "openid"));
    assert_true (pst_scope_has ("openid profile email", "profile"));
    assert_true (pst_scope_has ("openid profile email", "email"));
    assert_true (pst_scope_has ("  read:a   write:b  ", "write:b"));
    assert_true (pst_scope_has ("read:a", "read:a"));
}

static void
test_not_words (void **state)
{
    (void) state;
    //  prefixes, suffixes and substrings of a word are not the word
    assert_false (pst_scope_has ("read:users", "read"));
    assert_false (pst_scope_has ("read:users", "users"));
    assert_false (pst_scope_has ("xread:users", "read:users"));
    assert_false (pst_scope_has ("read:usersx", "read:users"));
    assert_false (pst_scope_has ("read:users update:users", "read:users update:users"));
    assert_false (pst_scope_has ("", "openid"));
    assert_false (pst_scope_has ("   ", "openid"));
    assert_false (pst_scope_has (NULL, "openid"));
    assert_false (pst_scope_has ("openid", NULL));
    assert_false (pst_scope_has ("openid", ""));
    //  the separator is the space: a tab is part of a word
    assert_false (pst_scope_has ("openid\tprofile", "openid"));
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_words),
        cmocka_unit_test (test_not_words),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
