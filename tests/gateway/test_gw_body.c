/*  gw_body: the body rules of contract.md §0, one test per rule. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "gw_body.h"

//  Parses text as an Authentication API body; expects success.
static json_t *
s_parse_ok (const char *text)
{
    char *error = NULL;
    json_t *params = gw_body_parse (text, strlen (text), &error);
    if (!params)
        fail_msg ("'%s' refused: %s", text, error? error: "(no error)");
    assert_null (error);
    return params;
}

//  Expects refusal; returns the error text (caller frees).
static char *
s_parse_fails (const char *text)
{
    char *error = NULL;
    json_t *params = gw_body_parse (text, strlen (text), &error);
    if (params)
        fail_msg ("'%s' accepted", text);
    assert_non_null (error);
    return error;
}

static void
s_assert_str (json_t *params, const char *key, const char *expected)
{
    const char *value = json_string_value (json_object_get (params, key));
    if (!value || strcmp (value, expected) != 0)
        fail_msg ("%s: expected '%s', got '%s'", key, expected, value? value: "(absent)");
}

static void
test_seed_json_with_form_content_type (void **state)
{
    (void) state;
    //  The seed's /mfa/associate example: JSON sent with curl's default form type
    json_t *params = s_parse_ok (
        "{ \"authenticator_types\": [\"oob\"], \"oob_channels\": [\"email\"]}");
    json_t *types = json_object_get (params, "authenticator_types");
    assert_true (json_is_array (types));
    assert_string_equal (json_string_value (json_array_get (types, 0)), "oob");
    json_decref (params);
}

static void
test_json_after_blanks_keeps_types (void **state)
{
    (void) state;
    json_t *params = s_parse_ok ("\r\n \t{\"count\": 3, \"flag\": true, \"name\": \"x\"}\n");
    assert_true (json_is_integer (json_object_get (params, "count")));
    assert_true (json_is_true (json_object_get (params, "flag")));
    s_assert_str (params, "name", "x");
    json_decref (params);
}

static void
test_json_malformed_or_duplicate (void **state)
{
    (void) state;
    char *error = s_parse_fails ("{\"a\": 1,");
    assert_non_null (strstr (error, "JSON"));
    free (error);
    free (s_parse_fails ("{\"a\": 1, \"a\": 2}"));
    free (s_parse_fails ("{\"a\": \"\\u0000\"}"));
    free (s_parse_fails ("{\"a\": [[[[[[[[[[1]]]]]]]]]]}"));
}

static void
test_form_seed_password_grant (void **state)
{
    (void) state;
    //  The seed's PHP example, percent-encoded
    json_t *params = s_parse_ok (
        "grant_type=password&username=user%40example.com&password=pwd"
        "&audience=https%3A%2F%2Fsomeapi.com%2Fapi&scope=read%3Asample"
        "&client_id=%24%7Baccount.clientId%7D&client_secret=YOUR_CLIENT_SECRET");
    s_assert_str (params, "username", "user@example.com");
    s_assert_str (params, "audience", "https://someapi.com/api");
    s_assert_str (params, "client_id", "${account.clientId}");
    assert_int_equal (json_object_size (params), 7);
    json_decref (params);
    //  The seed's curl example: curl -d sends these characters unencoded
    params = s_parse_ok ("grant_type=password&username=user@example.com&password=pwd"
                         "&audience=https://someapi.com/api&scope=read:sample");
    s_assert_str (params, "audience", "https://someapi.com/api");
    s_assert_str (params, "scope", "read:sample");
    json_decref (params);
}

static void
test_form_plus_and_escapes (void **state)
{
    (void) state;
    json_t *params = s_parse_ok ("password=p+w%2B%20x&na+me=%C3%A9");
    s_assert_str (params, "password", "p w+ x");
    s_assert_str (params, "na me", "\xC3\xA9");
    json_decref (params);
}

static void
test_form_empty_value_is_absent (void **state)
{
    (void) state;
    json_t *params = s_parse_ok ("a=&b=1&c&&=orphan");
    assert_null (json_object_get (params, "a"));
    assert_null (json_object_get (params, "c"));
    s_assert_str (params, "b", "1");
    assert_int_equal (json_object_size (params), 1);
    json_decref (params);
    params = s_parse_ok ("");
    assert_int_equal (json_object_size (params), 0);
    json_decref (params);
}

static void
test_form_duplicate_parameter (void **state)
{
    (void) state;
    char *error = s_parse_fails ("grant_type=password&grant_type=password");
    assert_string_equal (error, "Duplicate parameter: grant_type");
    free (error);
    //  Repeats count even when one value is empty, and after decoding
    error = s_parse_fails ("scope=&scope=openid");
    assert_string_equal (error, "Duplicate parameter: scope");
    free (error);
    error = s_parse_fails ("client%5Fid=a&client_id=b");
    assert_string_equal (error, "Duplicate parameter: client_id");
    free (error);
}

static void
test_form_bad_escapes (void **state)
{
    (void) state;
    const char *bad [] = { "a=%zz", "a=%4", "a=%", "a%=1", "a=%4g", "%G1=x", "a=1%2" };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++)
        free (s_parse_fails (bad [i]));
}

static void
test_form_nul_and_utf8 (void **state)
{
    (void) state;
    free (s_parse_fails ("a=%00"));
    free (s_parse_fails ("a%00b=1"));
    free (s_parse_fails ("a=%FF"));
    free (s_parse_fails ("a=%C3%28"));            //  broken sequence
    free (s_parse_fails ("a=%ED%A0%80"));         //  UTF-16 surrogate
    free (s_parse_fails ("a=%C0%AF"));            //  overlong '/'
    char raw [] = { 'a', '=', (char) 0xff, 0 };
    free (s_parse_fails (raw));
}

static void
test_form_decode_component (void **state)
{
    (void) state;
    size_t size = 0;
    char *text = gw_body_form_decode ("a+b%3Ac", 7, &size);
    assert_string_equal (text, "a b:c");
    assert_int_equal (size, 5);
    free (text);
    assert_null (gw_body_form_decode ("%2", 2, NULL));
    assert_null (gw_body_form_decode ("%00", 3, NULL));
}

static void
test_json_management_body (void **state)
{
    (void) state;
    char *error = NULL;
    json_t *value = gw_body_parse_json ("[\"all-applications\"]", 20, &error);
    assert_null (error);
    assert_true (json_is_array (value));
    json_decref (value);
    value = gw_body_parse_json ("{\"enabled\": true }", 18, &error);
    assert_null (error);
    assert_true (json_is_true (json_object_get (value, "enabled")));
    json_decref (value);
    //  Empty: no data and no error
    assert_null (gw_body_parse_json ("  ", 2, &error));
    assert_null (error);
    //  Management bodies are JSON only
    assert_null (gw_body_parse_json ("enabled=true", 12, &error));
    assert_non_null (error);
    free (error);
    assert_null (gw_body_parse_json ("[{\"a\":1,\"a\":2}]", 15, &error));
    assert_non_null (error);
    free (error);
    assert_null (gw_body_parse_json ("[[[[[[[[[[1]]]]]]]]]]", 21, &error));
    assert_non_null (error);
    free (error);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_seed_json_with_form_content_type),
        cmocka_unit_test (test_json_after_blanks_keeps_types),
        cmocka_unit_test (test_json_malformed_or_duplicate),
        cmocka_unit_test (test_form_seed_password_grant),
        cmocka_unit_test (test_form_plus_and_escapes),
        cmocka_unit_test (test_form_empty_value_is_absent),
        cmocka_unit_test (test_form_duplicate_parameter),
        cmocka_unit_test (test_form_bad_escapes),
        cmocka_unit_test (test_form_nul_and_utf8),
        cmocka_unit_test (test_form_decode_component),
        cmocka_unit_test (test_json_management_body),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
