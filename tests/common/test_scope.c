#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
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

//  An operation that names several scopes wants any one of them
static void
test_any (void **state)
{
    (void) state;
    const char *wanted = "create:signing_keys update:signing_keys";
    assert_true (pst_scope_has_any ("read:users update:signing_keys", wanted));
    assert_true (pst_scope_has_any ("create:signing_keys", wanted));
    assert_true (pst_scope_has_any ("openid", "openid"));
    assert_false (pst_scope_has_any ("read:signing_keys", wanted));
    assert_false (pst_scope_has_any ("create:signing_keys update:signing_keys", "read:signing_keys"));
    assert_false (pst_scope_has_any ("openid", ""));
    assert_false (pst_scope_has_any ("openid", "   "));
    assert_false (pst_scope_has_any (NULL, wanted));
    assert_false (pst_scope_has_any (wanted, NULL));
}

static void
s_assert_normalised (const char *scopes, const char *expected)
{
    char *normalised = pst_scope_normalise (scopes);
    assert_non_null (normalised);
    assert_string_equal (normalised, expected);
    free (normalised);
}

//  One space between words, each word once, first come first kept
static void
test_normalise (void **state)
{
    (void) state;
    s_assert_normalised ("openid profile email", "openid profile email");
    s_assert_normalised ("  openid   profile\temail\t", "openid profile email");
    s_assert_normalised ("email openid email openid", "email openid");
    s_assert_normalised ("read:a read:a read:a", "read:a");
    //  a word that begins, ends or holds another is not that word
    s_assert_normalised ("a ab ba a b ab", "a ab ba b");
    s_assert_normalised ("x", "x");
    s_assert_normalised (" \t ", "");
    s_assert_normalised ("", "");
    s_assert_normalised (NULL, "");
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_words),
        cmocka_unit_test (test_not_words),
        cmocka_unit_test (test_any),
        cmocka_unit_test (test_normalise),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
