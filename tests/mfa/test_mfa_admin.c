//  Service tests of the Management API operations: factors and policies, with
//  the scopes the op table demands.

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include "mfa_test_support.h"

static int
s_setup (void **state)
{
    *state = mfa_harness_new (NULL);
    return 0;
}

static int
s_teardown (void **state)
{
    mfa_harness_t *mfa = (mfa_harness_t *) *state;
    mfa_harness_destroy (&mfa);
    return 0;
}

static void
test_factors (void **state)
{
    mfa_harness_t *mfa = (mfa_harness_t *) *state;
    pst_msg_t *reply = mfa_test_call (mfa, "factors.list", NULL, "read:guardian_factors", 3000);
    assert_reply_ok (reply);
    char *text = json_dumps (json_object_get (pst_msg_body (reply), "result"), JSON_COMPACT);
    assert_string_equal (text,
        "[{\"name\":\"email\",\"enabled\":false},{\"name\":\"otp\",\"enabled\":false},"
        "{\"name\":\"recovery-code\",\"enabled\":true},{\"name\":\"sms\",\"enabled\":false},"
        "{\"name\":\"push-notification\",\"enabled\":false},{\"name\":\"duo\",\"enabled\":false},"
        "{\"name\":\"webauthn-roaming\",\"enabled\":false},"
        "{\"name\":\"webauthn-platform\",\"enabled\":false}]");
    free (text);
    pst_msg_destroy (&reply);

    reply = mfa_test_call (mfa, "factors.update",
        json_pack ("{s:s, s:{s:b}}", "id", "email", "data", "enabled", 1),
        "update:guardian_factors", 3000);
    assert_reply_ok (reply);
    assert_true (json_is_true (json_object_get (pst_msg_body (reply), "enabled")));
    pst_msg_destroy (&reply);
    reply = mfa_test_call (mfa, "factors.update",
        json_pack ("{s:s, s:{s:b}}", "id", "otp", "data", "enabled", 1),
        "update:guardian_factors", 3000);
    assert_reply_ok (reply);
    assert_true (json_is_true (json_object_get (pst_msg_body (reply), "enabled")));
    pst_msg_destroy (&reply);
    reply = mfa_test_call (mfa, "factors.update",
        json_pack ("{s:s, s:{s:b}}", "id", "sms", "data", "enabled", 1),
        "update:guardian_factors", 3000);
    assert_reply_error (reply, "bad_request", "Factor sms is not supported yet");
    pst_msg_destroy (&reply);
    //  Turning an unsupported factor off is harmless
    reply = mfa_test_call (mfa, "factors.update",
        json_pack ("{s:s, s:{s:b}}", "id", "sms", "data", "enabled", 0),
        "update:guardian_factors", 3000);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    reply = mfa_test_call (mfa, "factors.update",
        json_pack ("{s:s, s:{s:s}}", "id", "email", "data", "enabled", "yes"),
        "update:guardian_factors", 3000);
    assert_reply_error (reply, "bad_request", NULL);
    pst_msg_destroy (&reply);
    reply = mfa_test_call (mfa, "factors.update",
        json_pack ("{s:s, s:{s:b}}", "id", "carrier-pigeon", "data", "enabled", 1),
        "update:guardian_factors", 3000);
    assert_reply_error (reply, "bad_request", NULL);
    pst_msg_destroy (&reply);

    //  Without the scope: refused, nothing changed
    reply = mfa_test_call (mfa, "factors.update",
        json_pack ("{s:s, s:{s:b}}", "id", "email", "data", "enabled", 0),
        "read:guardian_factors", 3000);
    assert_reply_error (reply, "insufficient_scope", NULL);
    pst_msg_destroy (&reply);
    reply = mfa_test_call (mfa, "factors.list", NULL, NULL, 3000);
    assert_reply_error (reply, "insufficient_scope", NULL);
    pst_msg_destroy (&reply);
    assert_int_equal (mfa_test_db_int (mfa,
        "SELECT enabled FROM factors WHERE name = 'email'"), 1);
    assert_int_equal (mfa_test_db_int (mfa,
        "SELECT enabled FROM factors WHERE name = 'otp'"), 1);
    assert_int_equal (mfa_test_db_int (mfa,
        "SELECT count(*) FROM audit WHERE type = 'gd_tenant_update' AND result = 'success'"), 3);
}

static void
test_policies (void **state)
{
    mfa_harness_t *mfa = (mfa_harness_t *) *state;
    pst_msg_t *reply = mfa_test_call (mfa, "policies.get", NULL, "read:mfa_policies", 3000);
    assert_reply_ok (reply);
    json_t *result = json_object_get (pst_msg_body (reply), "result");
    assert_int_equal (json_array_size (result), 1);
    assert_string_equal (json_string_value (json_array_get (result, 0)), "all-applications");
    pst_msg_destroy (&reply);

    reply = mfa_test_call (mfa, "policies.set", json_pack ("{s:[]}", "data"),
                           "update:mfa_policies", 3000);
    assert_reply_ok (reply);
    assert_int_equal (json_array_size (json_object_get (pst_msg_body (reply), "result")), 0);
    pst_msg_destroy (&reply);
    reply = mfa_test_call (mfa, "policies.set", json_pack ("{s:[s]}", "data", "confidence-score"),
                           "update:mfa_policies", 3000);
    assert_reply_error (reply, "bad_request", NULL);
    pst_msg_destroy (&reply);
    reply = mfa_test_call (mfa, "policies.set", json_pack ("{s:s}", "data", "all-applications"),
                           "update:mfa_policies", 3000);
    assert_reply_error (reply, "bad_request", NULL);
    pst_msg_destroy (&reply);
    reply = mfa_test_call (mfa, "policies.set", json_pack ("{s:[s]}", "data", "all-applications"),
                           "read:mfa_policies", 3000);
    assert_reply_error (reply, "insufficient_scope", NULL);
    pst_msg_destroy (&reply);

    reply = mfa_test_call (mfa, "policies.set", json_pack ("{s:[s]}", "data", "all-applications"),
                           "update:mfa_policies", 3000);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    reply = mfa_test_call (mfa, "policies.get", NULL, "read:mfa_policies", 3000);
    assert_reply_ok (reply);
    result = json_object_get (pst_msg_body (reply), "result");
    assert_int_equal (json_array_size (result), 1);
    pst_msg_destroy (&reply);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_factors, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_policies, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
