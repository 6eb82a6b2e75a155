//  Service tests of several authenticators per user: a further one associated
//  with an access token holding enroll (the caller), confirmed by its first
//  verification, challenged by authenticator_id; mfa_requirements; the
//  Management API's Guardian enrollments (list, delete).

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "mfa_test_support.h"
#include "mfa_totp.h"

typedef mfa_fixture_t fixture_t;

#define ALICE   "auth0|alice"

static int
s_setup (void **state)
{
    fixture_t *fixture = mfa_fixture_new (NULL);
    mfa_test_factor (fixture->mfa, "otp", 1);
    *state = fixture;
    return 0;
}

static int
s_teardown (void **state)
{
    mfa_fixture_destroy ((mfa_fixture_t **) state);
    mfa_test_clock_reset ();
    return 0;
}

//  One second into a TOTP step, so the test has 29 seconds before it changes
static void
s_align (void)
{
    int64_t into = mfa_test_now_ms () % (MFA_TOTP_PERIOD_S * 1000);
    mfa_test_clock_advance (MFA_TOTP_PERIOD_S * 1000 - into + 1000);
}

//  The code an app shows for a base32 secret, delta steps from now
static void
s_code (const char *secret, int delta, char code [7])
{
    const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    uint8_t key [64];
    uint32_t buffer = 0;
    int bits = 0;
    size_t size = 0;
    for (const char *scan = secret; *scan; scan++) {
        const char *at = strchr (alphabet, *scan);
        assert_non_null (at);
        buffer = (buffer << 5) | (uint32_t) (at - alphabet);
        bits += 5;
        if (bits >= 8) {
            assert_true (size < sizeof key);
            key [size++] = (uint8_t) (buffer >> (bits - 8));
            bits -= 8;
        }
    }
    assert_int_equal (mfa_totp_code (key, size, mfa_totp_step (mfa_test_now_ms ()) + delta,
                                     6, code), 0);
}

//  mfa.associate as the gateway sends it for an access token of the MFA API
static pst_msg_t *
s_associate_as (mfa_harness_t *mfa, const char *user_id, const char *scopes, json_t *body)
{
    return mfa_test_call_as (mfa, "mfa.associate", body, user_id, scopes, 3000);
}

static pst_msg_t *
s_challenge (mfa_harness_t *mfa, const char *token, const char *type, const char *id)
{
    return mfa_test_call (mfa, "challenge.create",
        json_pack ("{s:s, s:s, s:s, s:s}", "mfa_token", token, "client_id", "app1",
                   "challenge_type", type, "authenticator_id", id), NULL, 3000);
}

static char *
s_requirements (mfa_harness_t *mfa, const char *user_id)
{
    pst_msg_t *reply = mfa_test_call (mfa, "mfa.begin",
        json_pack ("{s:s, s:s}", "user_id", user_id, "client_id", "app1"), NULL, 3000);
    assert_reply_ok (reply);
    char *text = json_dumps (json_object_get (pst_msg_body (reply), "mfa_requirements"),
                             JSON_COMPACT | JSON_ENCODE_ANY);
    pst_msg_destroy (&reply);
    return text? text: strdup ("null");
}

//  The user's enrollments as the Management API lists them; caller decrefs
static json_t *
s_enrollments (mfa_harness_t *mfa, const char *user_id)
{
    pst_msg_t *reply = mfa_test_call (mfa, "enrollments.list",
        json_pack ("{s:s}", "id", user_id), "read:users", 3000);
    assert_reply_ok (reply);
    json_t *result = json_incref (json_object_get (pst_msg_body (reply), "result"));
    assert_true (json_is_array (result));
    pst_msg_destroy (&reply);
    return result;
}

static const char *
s_member (const json_t *list, size_t index, const char *key)
{
    return json_string_value (json_object_get (json_array_get (list, index), key));
}

static void
test_further_authenticator (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_harness_t *mfa = fixture->mfa;
    s_align ();
    json_t *otp_body = json_pack ("{s:[s]}", "authenticator_types", "otp");

    //  No active authenticator yet: an access token cannot choose the first
    pst_msg_t *reply = s_associate_as (mfa, ALICE, "enroll", json_deep_copy (otp_body));
    assert_reply_error (reply, "access_denied",
                        "Enrol a first authenticator with the mfa_token of a sign-in.");
    pst_msg_destroy (&reply);
    mfa_test_enrol (mfa, fixture->mailer, ALICE, "alice@example.com", NULL);
    char *requirements = s_requirements (mfa, ALICE);
    assert_string_equal (requirements, "{\"challenge\":[{\"type\":\"email\"}]}");
    free (requirements);

    //  Without enroll: refused before anything; a second email: refused
    reply = s_associate_as (mfa, ALICE, "read:authenticators", json_deep_copy (otp_body));
    assert_reply_error (reply, "insufficient_scope", NULL);
    pst_msg_destroy (&reply);
    reply = s_associate_as (mfa, ALICE, "enroll",
        json_pack ("{s:[s], s:[s], s:s}", "authenticator_types", "oob", "oob_channels", "email",
                   "email", "alice2@example.com"));
    assert_reply_error (reply, "access_denied",
                        "The user already has an active email authenticator.");
    pst_msg_destroy (&reply);

    //  The otp one: its secret, no recovery code, pending until its first code
    int mails = test_mailer_count (fixture->mailer);
    reply = s_associate_as (mfa, ALICE, "enroll", otp_body);
    assert_reply_ok (reply);
    assert_string_equal (pst_msg_get_str (reply, "authenticator_type"), "otp");
    assert_null (json_object_get (pst_msg_body (reply), "recovery_codes"));
    char *secret = strdup (pst_msg_get_str (reply, "secret"));
    char *otp_id = strdup (pst_msg_get_str (reply, "id"));
    pst_msg_destroy (&reply);
    assert_int_equal (test_mailer_count (fixture->mailer), mails);
    json_t *list = s_enrollments (mfa, ALICE);
    assert_int_equal (json_array_size (list), 2);
    assert_string_equal (s_member (list, 0, "type"), "email");
    assert_string_equal (s_member (list, 0, "status"), "confirmed");
    assert_string_equal (s_member (list, 0, "identifier"), "alice@example.com");
    assert_non_null (s_member (list, 0, "enrolled_at"));
    assert_string_equal (s_member (list, 1, "id"), otp_id);
    assert_string_equal (s_member (list, 1, "type"), "authenticator");
    assert_string_equal (s_member (list, 1, "auth_method"), "authenticator");
    assert_string_equal (s_member (list, 1, "status"), "pending");
    char *email_id = strdup (s_member (list, 0, "id"));
    json_decref (list);
    requirements = s_requirements (mfa, ALICE);
    assert_string_equal (requirements, "{\"challenge\":[{\"type\":\"email\"}]}");
    free (requirements);

    //  A sign-in challenges it by id and confirms it with the app's code
    char *token = mfa_test_begin (mfa, ALICE, "alice@example.com");
    reply = s_challenge (mfa, token, "otp", otp_id);
    assert_reply_ok (reply);
    assert_string_equal (pst_msg_get_str (reply, "challenge_type"), "otp");
    pst_msg_destroy (&reply);
    char code [7];
    s_code (secret, 0, code);
    reply = mfa_test_call (mfa, "mfa.verify_otp",
        json_pack ("{s:s, s:s, s:s}", "mfa_token", token, "client_id", "app1", "otp", code),
        NULL, 3000);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    free (token);
    list = s_enrollments (mfa, ALICE);
    assert_string_equal (s_member (list, 1, "status"), "confirmed");
    json_decref (list);
    requirements = s_requirements (mfa, ALICE);
    assert_string_equal (requirements,
                         "{\"challenge\":[{\"type\":\"email\"},{\"type\":\"otp\"}]}");
    free (requirements);
    assert_int_equal (mfa_test_db_int (mfa, "SELECT count(*) FROM audit"
        " WHERE type = 'gd_enrollment_complete' AND user_id = 'auth0|alice'"), 2);

    //  Either one by its id: the email one mails a code
    token = mfa_test_begin (mfa, ALICE, "alice@example.com");
    reply = s_challenge (mfa, token, "oob", email_id);
    assert_reply_ok (reply);
    assert_string_equal (pst_msg_get_str (reply, "challenge_type"), "oob");
    assert_int_equal (test_mailer_count (fixture->mailer), mails + 1);
    pst_msg_destroy (&reply);
    //  A type the named one is not: refused
    reply = s_challenge (mfa, token, "otp", email_id);
    assert_reply_error (reply, "unsupported_challenge_type", NULL);
    pst_msg_destroy (&reply);
    free (token);

    //  The Management API deletes the email one; the otp one still signs in
    reply = mfa_test_call (mfa, "enrollments.delete", json_pack ("{s:s}", "id", email_id),
                           "delete:guardian_enrollments", 3000);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    reply = mfa_test_call (mfa, "enrollments.delete", json_pack ("{s:s}", "id", email_id),
                           "delete:guardian_enrollments", 3000);
    assert_reply_error (reply, "not_found", NULL);
    pst_msg_destroy (&reply);
    list = s_enrollments (mfa, ALICE);
    assert_int_equal (json_array_size (list), 1);
    assert_string_equal (s_member (list, 0, "id"), otp_id);
    json_decref (list);
    token = mfa_test_begin (mfa, ALICE, "alice@example.com");
    s_code (secret, 1, code);
    reply = mfa_test_call (mfa, "mfa.verify_otp",
        json_pack ("{s:s, s:s, s:s}", "mfa_token", token, "client_id", "app1", "otp", code),
        NULL, 3000);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    free (token);

    //  With the otp one active, a further email one is pending until a sign-in
    //  challenges it by id and the mailed code comes back
    reply = s_associate_as (mfa, ALICE, "enroll",
        json_pack ("{s:[s], s:[s], s:s}", "authenticator_types", "oob", "oob_channels", "email",
                   "email", "alice2@example.com"));
    assert_reply_ok (reply);
    assert_string_equal (pst_msg_get_str (reply, "oob_channel"), "email");
    assert_null (json_object_get (pst_msg_body (reply), "oob_code"));
    char *new_email = strdup (pst_msg_get_str (reply, "id"));
    pst_msg_destroy (&reply);
    assert_int_equal (test_mailer_count (fixture->mailer), mails + 1);
    token = mfa_test_begin (mfa, ALICE, "alice@example.com");
    reply = s_challenge (mfa, token, "oob", new_email);
    assert_reply_ok (reply);
    char *oob_code = strdup (pst_msg_get_str (reply, "oob_code"));
    pst_msg_destroy (&reply);
    char *mailed = test_mailer_code (fixture->mailer);
    char *job = test_mailer_last (fixture->mailer);
    assert_non_null (strstr (job, "alice2@example.com"));
    free (job);
    reply = mfa_test_verify (mfa, token, oob_code, mailed);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    list = s_enrollments (mfa, ALICE);
    assert_int_equal (json_array_size (list), 2);
    assert_string_equal (s_member (list, 0, "status"), "confirmed");
    json_decref (list);

    free (mailed);
    free (oob_code);
    free (token);
    free (new_email);
    free (email_id);
    free (otp_id);
    free (secret);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_further_authenticator, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
