/*  Unit tests of pst_json: what a bounded JSON body may and may not be.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pst_json.h"
#include <stdlib.h>
#include <string.h>

//  Parses a C string; returns the object or NULL and the reason.
static json_t *
s_parse (const char *text, const char **reason_p)
{
    return pst_json_parse_object (text, strlen (text), reason_p);
}

static void
s_assert_refused (const char *text, const char *reason)
{
    const char *why = NULL;
    json_t *value = s_parse (text, &why);
    if (value)
        fail_msg ("accepted: %s", text);
    assert_non_null (why);
    if (reason)
        assert_string_equal (why, reason);
}

//  "[[[...]]]" nested depth times inside {"a": ...}
static char *
s_nested (int depth)
{
    char *text = malloc ((size_t) depth * 2 + 16);
    if (!text) {
        //  cmocka's fail() longjmps out of the test, but is not declared
        //  noreturn: abort() tells the compiler text is not NULL below
        fail_msg ("out of memory");
        abort ();
    }
    char *cursor = text + sprintf (text, "{\"a\":");
    for (int i = 0; i < depth - 1; i++)
        *cursor++ = '[';
    for (int i = 0; i < depth - 1; i++)
        *cursor++ = ']';
    strcpy (cursor, "}");
    return text;
}

static void
test_parse_object (void **state)
{
    (void) state;
    const char *why = "unset";
    json_t *value = s_parse ("{\"username\": \"a@b.c\", \"n\": 3, \"list\": [1, {\"x\": null}]}", &why);
    assert_non_null (value);
    assert_null (why);
    assert_string_equal (pst_json_str (value, "username"), "a@b.c");
    assert_int_equal (json_integer_value (json_object_get (value, "n")), 3);
    json_decref (value);

    //  only size bytes are read
    const char *text = "{}garbage";
    value = pst_json_parse_object (text, 2, &why);
    assert_non_null (value);
    json_decref (value);

    //  reason_p is optional
    value = pst_json_parse_object ("{}", 2, NULL);
    assert_non_null (value);
    json_decref (value);
    assert_null (pst_json_parse_object ("[]", 2, NULL));
}

static void
test_parse_not_object (void **state)
{
    (void) state;
    s_assert_refused ("[]", "not an object");
    s_assert_refused ("[{\"a\": 1}]", "not an object");
    s_assert_refused ("1", NULL);
    s_assert_refused ("\"text\"", NULL);
    s_assert_refused ("null", NULL);
}

static void
test_parse_empty (void **state)
{
    (void) state;
    const char *why = NULL;
    assert_null (pst_json_parse_object ("", 0, &why));
    assert_string_equal (why, "empty body");
    why = NULL;
    assert_null (pst_json_parse_object (NULL, 0, &why));
    assert_non_null (why);
    s_assert_refused ("   ", "malformed JSON");
}

static void
test_parse_malformed (void **state)
{
    (void) state;
    s_assert_refused ("{", "malformed JSON");
    s_assert_refused ("{\"a\":", "malformed JSON");
    s_assert_refused ("{\"a\" 1}", "malformed JSON");
    s_assert_refused ("{'a': 1}", "malformed JSON");
    s_assert_refused ("{\"a\": 1,}", "malformed JSON");
    s_assert_refused ("{\"a\": tru}", "malformed JSON");
    s_assert_refused ("{\"a\": \"unterminated}", "malformed JSON");
    s_assert_refused ("{\"a\": NaN}", "malformed JSON");
}

static void
test_parse_trailing_data (void **state)
{
    (void) state;
    s_assert_refused ("{} x", "malformed JSON");
    s_assert_refused ("{}{}", "malformed JSON");
    s_assert_refused ("{\"a\":1}]", "malformed JSON");
    //  trailing white space is not data
    const char *why = NULL;
    json_t *value = s_parse ("{}\r\n ", &why);
    assert_non_null (value);
    json_decref (value);
}

static void
test_parse_duplicate_keys (void **state)
{
    (void) state;
    s_assert_refused ("{\"a\": 1, \"a\": 2}", "duplicate key");
    s_assert_refused ("{\"x\": {\"b\": 1, \"b\": 1}}", "duplicate key");
    s_assert_refused ("{\"x\": [{\"c\": 1, \"c\": 2}]}", "duplicate key");
}

static void
test_parse_invalid_utf8 (void **state)
{
    (void) state;
    static const char *bad [] = {
        "{\"a\": \"\xff\"}",                    //  never valid
        "{\"a\": \"\xc3\"}",                    //  truncated sequence
        "{\"a\": \"\xc0\xaf\"}",                //  overlong "/"
        "{\"a\": \"\xed\xa0\x80\"}",            //  UTF-16 surrogate
        "{\"a\": \"\xf4\x90\x80\x80\"}",        //  beyond U+10FFFF
        "{\"\xfe\": 1}",                        //  in a key
        "{\"a\": 1}\xff",
        NULL
    };
    for (int i = 0; bad [i]; i++)
        s_assert_refused (bad [i], "invalid UTF-8");
    //  escaped lone surrogates are just as bad
    s_assert_refused ("{\"a\": \"\\ud800\"}", NULL);
    //  while real multi-byte text is fine
    json_t *value = s_parse ("{\"a\": \"h\xc3\xa9llo \xf0\x9f\x98\x80\"}", NULL);
    assert_non_null (value);
    assert_string_equal (pst_json_str (value, "a"), "h\xc3\xa9llo \xf0\x9f\x98\x80");
    json_decref (value);
}

static void
test_parse_nul (void **state)
{
    (void) state;
    //  "admin\u0000x" would read as "admin" in C
    s_assert_refused ("{\"user\": \"admin\\u0000x\"}", "NUL character");
    s_assert_refused ("{\"us\\u0000er\": 1}", NULL);
    const char raw [] = "{\"a\": \"x\0y\"}";
    const char *why = NULL;
    assert_null (pst_json_parse_object (raw, sizeof raw - 1, &why));
    assert_non_null (why);
}

static void
test_parse_numbers (void **state)
{
    (void) state;
    s_assert_refused ("{\"n\": 92233720368547758070}", "number out of range");
    s_assert_refused ("{\"n\": 1e999}", "number out of range");
    json_t *value = s_parse ("{\"n\": -9223372036854775808, \"r\": 0.25}", NULL);
    assert_non_null (value);
    assert_true (json_is_integer (json_object_get (value, "n")));
    assert_true (json_is_real (json_object_get (value, "r")));
    json_decref (value);
}

static void
test_parse_depth (void **state)
{
    (void) state;
    char *text = s_nested (PST_JSON_MAX_DEPTH);
    json_t *value = s_parse (text, NULL);
    assert_non_null (value);
    assert_int_equal (pst_json_depth (value), PST_JSON_MAX_DEPTH);
    json_decref (value);
    free (text);

    text = s_nested (PST_JSON_MAX_DEPTH + 1);
    s_assert_refused (text, "nesting too deep");
    free (text);

    //  far beyond jansson's own limit it is still a clean refusal
    text = s_nested (5000);
    s_assert_refused (text, NULL);
    free (text);
}

static void
test_depth (void **state)
{
    (void) state;
    json_t *value = json_integer (1);
    assert_int_equal (pst_json_depth (value), 0);
    json_decref (value);
    assert_int_equal (pst_json_depth (json_null ()), 0);

    value = json_loads ("[]", 0, NULL);
    assert_int_equal (pst_json_depth (value), 1);
    json_decref (value);
    value = json_loads ("[[1]]", 0, NULL);
    assert_int_equal (pst_json_depth (value), 2);
    json_decref (value);
    value = json_loads ("{\"a\": {\"b\": []}, \"c\": 1}", 0, NULL);
    assert_int_equal (pst_json_depth (value), 3);
    json_decref (value);
    //  the deepest branch counts, wherever it is
    value = json_loads ("[1, [], [[[[]]]], {}]", 0, NULL);
    assert_int_equal (pst_json_depth (value), 5);
    json_decref (value);
    value = json_loads ("{\"a\": 1, \"b\": {}, \"c\": {\"d\": [[]]}}", 0, NULL);
    assert_int_equal (pst_json_depth (value), 4);
    json_decref (value);
}

static void
test_depth_is_capped (void **state)
{
    (void) state;
    //  Built in code, deeper than any parser would allow
    json_t *root = json_array ();
    json_t *inner = root;
    for (int i = 0; i < 10000; i++) {
        json_t *next = json_array ();
        json_array_append_new (inner, next);
        inner = next;
    }
    int depth = pst_json_depth (root);
    assert_true (depth > PST_JSON_MAX_DEPTH);
    assert_int_equal (depth, PST_JSON_MAX_DEPTH + 1);
    //  jansson frees recursively: peel the levels off one by one instead
    while (json_array_size (root)) {
        json_t *child = json_incref (json_array_get (root, 0));
        json_decref (root);
        root = child;
    }
    json_decref (root);
}

static void
test_str (void **state)
{
    (void) state;
    json_t *object = json_pack ("{s:s, s:s, s:n, s:i, s:[s]}",
                                "name", "Ada", "empty", "", "nothing", "number", 5,
                                "list", "x");
    assert_string_equal (pst_json_str (object, "name"), "Ada");
    assert_null (pst_json_str (object, "empty"));
    assert_null (pst_json_str (object, "nothing"));
    assert_null (pst_json_str (object, "number"));
    assert_null (pst_json_str (object, "list"));
    assert_null (pst_json_str (object, "absent"));
    assert_null (pst_json_str (object, NULL));
    assert_null (pst_json_str (NULL, "name"));
    json_t *array = json_pack ("[s]", "name");
    assert_null (pst_json_str (array, "name"));
    json_decref (array);
    json_decref (object);
}

static void
test_dump (void **state)
{
    (void) state;
    json_t *value = s_parse ("{ \"a\" : 1 ,\n \"b\" : [ true , null , 0.5 , \"\xc3\xa9\" ] , \"c\" : { } }", NULL);
    assert_non_null (value);
    char *text = pst_json_dump (value);
    assert_non_null (text);
    assert_string_equal (text, "{\"a\":1,\"b\":[true,null,0.5,\"\xc3\xa9\"],\"c\":{}}");
    //  and it parses back to the same value
    json_t *again = s_parse (text, NULL);
    assert_true (json_equal (value, again));
    json_decref (again);
    free (text);
    json_decref (value);

    value = json_integer (42);
    text = pst_json_dump (value);
    assert_string_equal (text, "42");
    free (text);
    json_decref (value);
    assert_null (pst_json_dump (NULL));
}


int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_parse_object),
        cmocka_unit_test (test_parse_not_object),
        cmocka_unit_test (test_parse_empty),
        cmocka_unit_test (test_parse_malformed),
        cmocka_unit_test (test_parse_trailing_data),
        cmocka_unit_test (test_parse_duplicate_keys),
        cmocka_unit_test (test_parse_invalid_utf8),
        cmocka_unit_test (test_parse_nul),
        cmocka_unit_test (test_parse_numbers),
        cmocka_unit_test (test_parse_depth),
        cmocka_unit_test (test_depth),
        cmocka_unit_test (test_depth_is_capped),
        cmocka_unit_test (test_str),
        cmocka_unit_test (test_dump),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
