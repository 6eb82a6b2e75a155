/*  gw_http: the Authorization header parsers (RFC 7617 / RFC 6749 §2.3.1, RFC 6750). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "gw_http.h"

static void
s_basic_ok (const char *header, const char *id, const char *secret)
{
    char *client_id = NULL, *client_secret = NULL;
    assert_int_equal (gw_http_basic_credentials (header, &client_id, &client_secret), 0);
    assert_string_equal (client_id, id);
    assert_string_equal (client_secret, secret);
    free (client_id);
    free (client_secret);
}

static void
s_basic_fails (const char *header)
{
    char *client_id = (char *) "x", *client_secret = (char *) "y";
    assert_int_equal (gw_http_basic_credentials (header, &client_id, &client_secret), -1);
    assert_null (client_id);
    assert_null (client_secret);
}

static void
test_basic (void **state)
{
    (void) state;
    s_basic_ok ("Basic Y2xpZW50OnNlY3JldA==", "client", "secret");       //  client:secret
    s_basic_ok ("basic   Y2xpZW50OnNlY3JldA==  ", "client", "secret");
    s_basic_ok ("Basic Y2xpZW50OnNlY3JldA", "client", "secret");         //  unpadded
    //  RFC 6749 §2.3.1: both halves are form-urlencoded; "a%3Ab:p%2Bq+r"
    s_basic_ok ("Basic YSUzQWI6cCUyQnErcg==", "a:b", "p+q r");
    //  Only the first colon splits: "id:sec:ret"
    s_basic_ok ("Basic aWQ6c2VjOnJldA==", "id", "sec:ret");
    s_basic_ok ("Basic aWQ6", "id", "");                                  //  "id:" public client
    s_basic_fails ("Bearer Y2xpZW50OnNlY3JldA==");
    s_basic_fails ("Basic");
    s_basic_fails ("Basic !!!!");
    s_basic_fails ("Basic bm9jb2xvbg==");                                 //  "nocolon"
    s_basic_fails ("Basic OnNlY3JldA==");                                 //  ":secret"
    s_basic_fails ("Basic aWQ6JXp6");                                     //  "id:%zz"
    s_basic_fails (NULL);
}

static void
test_bearer (void **state)
{
    (void) state;
    char *token = gw_http_bearer_token ("Bearer abc.def-ghi_jkl");
    assert_string_equal (token, "abc.def-ghi_jkl");
    free (token);
    token = gw_http_bearer_token ("bearer  Fe26.2**05abc==  ");
    assert_string_equal (token, "Fe26.2**05abc==");
    free (token);
    assert_null (gw_http_bearer_token ("Bearer "));
    assert_null (gw_http_bearer_token ("Bearer a b"));
    assert_null (gw_http_bearer_token ("Bearer a\tb"));
    assert_null (gw_http_bearer_token ("Basic abc"));
    assert_null (gw_http_bearer_token ("Bearerabc"));
    assert_null (gw_http_bearer_token ("Bearer \xc3\xa9"));
    assert_null (gw_http_bearer_token (NULL));
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_basic),
        cmocka_unit_test (test_bearer),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
