/*  Unit tests of pst_payload: which payloads pass the member check, and the
    refusal's code and text to the byte, for both ways of showing a name.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pst_payload.h"
#include "pst_error.h"
#include <stdio.h>
#include <string.h>

#define REFUSAL_HEAD    "Payload validation error: 'Additional properties not allowed: "
#define REFUSAL_TAIL    "' (a member Postern does not support; docs/auth0.md)"

static const char *const s_known [] = { "email", "password", "user_metadata", NULL };

//  Runs the check of the JSON text; returns its result and leaves the reply
//  in *reply_p for the caller to read and destroy
static int
s_check (const char *text, pst_payload_name_t names, pst_msg_t **reply_p)
{
    json_error_t error;
    json_t *object = json_loads (text, 0, &error);
    assert_non_null (object);
    pst_msg_t *request = pst_msg_new_request ("users.create", 1000);
    assert_non_null (request);
    *reply_p = pst_msg_new_reply (request);
    assert_non_null (*reply_p);
    pst_msg_destroy (&request);
    int rc = pst_payload_only (*reply_p, object, s_known, names);
    json_decref (object);
    return rc;
}

//  The check refuses text, naming shown
static void
s_assert_refused (const char *text, pst_payload_name_t names, const char *shown)
{
    pst_msg_t *reply;
    assert_int_equal (s_check (text, names, &reply), -1);
    assert_true (pst_msg_is_error (reply));
    assert_string_equal (pst_msg_error (reply), PST_ERR_INVALID_BODY);
    char expected [200];
    snprintf (expected, sizeof expected, REFUSAL_HEAD "%s" REFUSAL_TAIL, shown);
    assert_string_equal (pst_msg_error_text (reply), expected);
    pst_msg_destroy (&reply);
}

static void
s_assert_passed (const char *text, pst_payload_name_t names)
{
    pst_msg_t *reply;
    assert_int_equal (s_check (text, names, &reply), 0);
    assert_false (pst_msg_is_error (reply));
    pst_msg_destroy (&reply);
}

static void
test_known_members_pass (void **state)
{
    (void) state;
    for (int names = PST_PAYLOAD_NAME_PRINTABLE; names <= PST_PAYLOAD_NAME_WORD; names++) {
        s_assert_passed ("{}", names);
        s_assert_passed ("{\"email\": \"a@b.c\"}", names);
        //  values are not looked at, nested members neither
        s_assert_passed ("{\"password\": null, \"user_metadata\": {\"blocked\": true}, \"email\": 3}", names);
    }
}

static void
test_not_an_object_passes (void **state)
{
    (void) state;
    pst_msg_t *request = pst_msg_new_request ("users.create", 1000);
    pst_msg_t *reply = pst_msg_new_reply (request);
    assert_int_equal (pst_payload_only (reply, NULL, s_known, PST_PAYLOAD_NAME_WORD), 0);
    json_t *array = json_pack ("[s]", "blocked");
    assert_int_equal (pst_payload_only (reply, array, s_known, PST_PAYLOAD_NAME_PRINTABLE), 0);
    assert_false (pst_msg_is_error (reply));
    json_decref (array);
    pst_msg_destroy (&reply);
    pst_msg_destroy (&request);
}

static void
test_unknown_member_refused (void **state)
{
    (void) state;
    for (int names = PST_PAYLOAD_NAME_PRINTABLE; names <= PST_PAYLOAD_NAME_WORD; names++) {
        s_assert_refused ("{\"blocked\": true}", names, "blocked");
        s_assert_refused ("{\"email\": \"a@b.c\", \"app_metadata\": {}}", names, "app_metadata");
        //  the first unknown one, in the payload's order
        s_assert_refused ("{\"email\": \"a@b.c\", \"name\": 1, \"blocked\": true}", names, "name");
        //  names are compared whole and with case
        s_assert_refused ("{\"Email\": \"a@b.c\"}", names, "Email");
        s_assert_refused ("{\"email \": \"a@b.c\"}", names,
                          names == PST_PAYLOAD_NAME_WORD? "(a member)": "email ");
        s_assert_refused ("{\"\": 1}", names, "");
        s_assert_refused ("{\"x.y-z_0\": 1}", names, "x.y-z_0");
    }
}

static void
test_names_shown (void **state)
{
    (void) state;
    //  64 bytes are shown, 65 are not
    char text [100], name [70];
    memset (name, 'a', 64);
    name [64] = '\0';
    snprintf (text, sizeof text, "{\"%s\": 1}", name);
    s_assert_refused (text, PST_PAYLOAD_NAME_PRINTABLE, name);
    s_assert_refused (text, PST_PAYLOAD_NAME_WORD, name);
    snprintf (text, sizeof text, "{\"%sa\": 1}", name);
    s_assert_refused (text, PST_PAYLOAD_NAME_PRINTABLE, "(a member)");
    s_assert_refused (text, PST_PAYLOAD_NAME_WORD, "(a member)");

    //  control characters are never shown
    s_assert_refused ("{\"a\\nb\": 1}", PST_PAYLOAD_NAME_PRINTABLE, "(a member)");
    s_assert_refused ("{\"a\\u007fb\": 1}", PST_PAYLOAD_NAME_PRINTABLE, "(a member)");
    s_assert_refused ("{\"a\\tb\": 1}", PST_PAYLOAD_NAME_WORD, "(a member)");

    //  other punctuation and non-ASCII only by PRINTABLE
    s_assert_refused ("{\"a'b\": 1}", PST_PAYLOAD_NAME_PRINTABLE, "a'b");
    s_assert_refused ("{\"a'b\": 1}", PST_PAYLOAD_NAME_WORD, "(a member)");
    s_assert_refused ("{\"caf\\u00e9\": 1}", PST_PAYLOAD_NAME_PRINTABLE, "caf\xc3\xa9");
    s_assert_refused ("{\"caf\\u00e9\": 1}", PST_PAYLOAD_NAME_WORD, "(a member)");
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_known_members_pass),
        cmocka_unit_test (test_not_an_object_passes),
        cmocka_unit_test (test_unknown_member_refused),
        cmocka_unit_test (test_names_shown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
