//  Service tests of the otp authenticator: association (Auth0's shape, the
//  secret sealed at rest), the mfa-otp check (window, a step used once,
//  confirmation), the same caps as email codes (attempts per mfa_token, the
//  failure bucket), the factor switch, how it lists, and its challenge.

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "mfa_test_support.h"
#include "mfa_totp.h"

typedef mfa_fixture_t fixture_t;

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

//  Moves the test clock to one second into a step, so that a test has 29
//  seconds before the step changes under it.
static void
s_align (void)
{
    int64_t into = mfa_test_now_ms () % (MFA_TOTP_PERIOD_S * 1000);
    mfa_test_clock_advance (MFA_TOTP_PERIOD_S * 1000 - into + 1000);
}

//  Decodes a base32 secret as an authenticator app does (the test's own
//  reading of RFC 4648, independent of the encoder under test).
static size_t
s_base32_decode (const char *text, uint8_t *out, size_t max)
{
    const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    uint32_t buffer = 0;
    int bits = 0;
    size_t size = 0;
    for (const char *scan = text; *scan; scan++) {
        const char *at = strchr (alphabet, *scan);
        assert_non_null (at);
        buffer = (buffer << 5) | (uint32_t) (at - alphabet);
        bits += 5;
        if (bits >= 8) {
            assert_true (size < max);
            out [size++] = (uint8_t) (buffer >> (bits - 8));
            bits -= 8;
        }
    }
    return size;
}

//  The code an app shows for secret, delta steps from now.
static void
s_code (const char *secret, int delta, char code [7])
{
    uint8_t key [64];
    size_t size = s_base32_decode (secret, key, sizeof key);
    assert_int_equal (size, MFA_TOTP_SECRET_SIZE);
    assert_int_equal (mfa_totp_code (key, size, mfa_totp_step (mfa_test_now_ms ()) + delta,
                                     6, code), 0);
}

static pst_msg_t *
s_associate (mfa_harness_t *mfa, const char *token)
{
    return mfa_test_call (mfa, "mfa.associate",
        json_pack ("{s:s, s:[s]}", "mfa_token", token, "authenticator_types", "otp"), NULL, 3000);
}

static pst_msg_t *
s_verify (mfa_harness_t *mfa, const char *token, const char *otp)
{
    return mfa_test_call (mfa, "mfa.verify_otp",
        json_pack ("{s:s, s:s, s:s}", "mfa_token", token, "client_id", "app1", "otp", otp),
        NULL, 3000);
}

//  Associates otp for user; returns the secret (caller frees).
static char *
s_enrol_start (mfa_harness_t *mfa, const char *user_id, const char *email, char **token_p)
{
    *token_p = mfa_test_begin (mfa, user_id, email);
    pst_msg_t *reply = s_associate (mfa, *token_p);
    assert_reply_ok (reply);
    char *secret = strdup (pst_msg_get_str (reply, "secret"));
    pst_msg_destroy (&reply);
    return secret;
}

//  A user with a confirmed otp authenticator; returns the secret (caller frees).
static char *
s_enrolled (mfa_harness_t *mfa, const char *user_id)
{
    char *token;
    char *secret = s_enrol_start (mfa, user_id, "user@example.com", &token);
    char code [7];
    s_code (secret, 0, code);
    pst_msg_t *reply = s_verify (mfa, token, code);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    free (token);
    return secret;
}

static void
test_enrol_and_verify (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_harness_t *mfa = fixture->mfa;
    s_align ();
    char *token = mfa_test_begin (mfa, "auth0|olga", "olga+mfa@example.com");
    pst_msg_t *reply = s_associate (mfa, token);
    assert_reply_ok (reply);
    char *secret = strdup (pst_msg_get_str (reply, "secret"));
    assert_string_equal (pst_msg_get_str (reply, "authenticator_type"), "otp");
    assert_int_equal (strlen (secret), MFA_TOTP_SECRET_B32);
    assert_int_equal (strspn (secret, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), MFA_TOTP_SECRET_B32);
    char expected [256];
    snprintf (expected, sizeof expected, "otpauth://totp/Postern:olga%%2Bmfa%%40example.com"
              "?secret=%s&issuer=Postern&algorithm=SHA1&digits=6&period=30", secret);
    assert_string_equal (pst_msg_get_str (reply, "barcode_uri"), expected);
    assert_int_equal (strncmp (pst_msg_get_str (reply, "id"), "totp|dev_", 9), 0);
    json_t *codes = json_object_get (pst_msg_body (reply), "recovery_codes");
    assert_int_equal (json_array_size (codes), 1);
    assert_null (json_object_get (pst_msg_body (reply), "oob_code"));
    char *id = strdup (pst_msg_get_str (reply, "id"));
    pst_msg_destroy (&reply);
    //  Nothing was mailed; the secret is nowhere in clear, the row holds it sealed
    assert_int_equal (test_mailer_count (fixture->mailer), 0);
    assert_false (mfa_test_dir_contains (mfa, secret));
    assert_int_equal (mfa_test_db_int (mfa, "SELECT count(*) FROM authenticators"
        " WHERE type = 'otp' AND active = 0 AND length(secret) = 60"), 1);

    //  Listed, not yet active
    reply = mfa_test_call_as (mfa, "authenticators.list",
                              json_pack ("{s:s}", "mfa_token", token), NULL, NULL, 3000);
    assert_reply_ok (reply);
    json_t *list = json_object_get (pst_msg_body (reply), "result");
    assert_int_equal (json_array_size (list), 2);
    json_t *otp = json_array_get (list, 1);
    assert_string_equal (json_string_value (json_object_get (otp, "id")), id);
    assert_string_equal (json_string_value (json_object_get (otp, "authenticator_type")), "otp");
    assert_true (json_is_false (json_object_get (otp, "active")));
    assert_null (json_object_get (otp, "oob_channel"));
    pst_msg_destroy (&reply);

    //  A wrong code first, then the right one: the enrolment completes
    char code [7], wrong [16];
    s_code (secret, 0, code);
    snprintf (wrong, sizeof wrong, "%06d", (atoi (code) + 1) % 1000000);
    reply = s_verify (mfa, token, wrong);
    assert_reply_error (reply, "invalid_grant", "Invalid otp_code.");
    pst_msg_destroy (&reply);
    reply = s_verify (mfa, token, code);
    assert_reply_ok (reply);
    assert_string_equal (pst_msg_get_str (reply, "user_id"), "auth0|olga");
    assert_string_equal (pst_msg_get_str (reply, "client_id"), "app1");
    assert_string_equal (pst_msg_get_str (reply, "audience"), "https://api.example.com/");
    assert_true (pst_msg_get_int (reply, "auth_time", 0) > 0);
    pst_msg_destroy (&reply);
    free (token);
    assert_int_equal (mfa_test_db_int (mfa,
        "SELECT count(*) FROM audit WHERE type = 'gd_enrollment_complete'"), 1);
    assert_int_equal (mfa_test_db_int (mfa,
        "SELECT count(*) FROM authenticators WHERE user_id = 'auth0|olga' AND active = 1"), 2);

    //  The next sign-in: the same step again is refused, the next one works once
    token = mfa_test_begin (mfa, "auth0|olga", "olga+mfa@example.com");
    reply = s_verify (mfa, token, code);
    assert_reply_error (reply, "invalid_grant", "Invalid otp_code.");
    pst_msg_destroy (&reply);
    mfa_test_clock_advance (MFA_TOTP_PERIOD_S * 1000);
    s_code (secret, 0, code);
    reply = s_verify (mfa, token, code);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    free (token);
    assert_int_equal (mfa_test_db_int (mfa,
        "SELECT count(*) FROM audit WHERE type = 'gd_auth_succeed'"), 1);
    token = mfa_test_begin (mfa, "auth0|olga", "olga+mfa@example.com");
    reply = s_verify (mfa, token, code);
    assert_reply_error (reply, "invalid_grant", "Invalid otp_code.");
    pst_msg_destroy (&reply);
    //  A code of the step before the last one used is refused too; the step
    //  after it (within the window) is taken
    s_code (secret, -1, code);
    reply = s_verify (mfa, token, code);
    assert_reply_error (reply, "invalid_grant", "Invalid otp_code.");
    pst_msg_destroy (&reply);
    s_code (secret, 1, code);
    reply = s_verify (mfa, token, code);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    free (token);

    //  Enrolled: a second association is refused
    token = mfa_test_begin (mfa, "auth0|olga", "olga+mfa@example.com");
    reply = s_associate (mfa, token);
    assert_reply_error (reply, "access_denied", "User is already enrolled.");
    pst_msg_destroy (&reply);
    //  The Management API sees it as Auth0's "totp"
    reply = mfa_test_call (mfa, "authentication_methods.list",
        json_pack ("{s:s}", "id", "auth0|olga"), "read:authentication_methods", 3000);
    assert_reply_ok (reply);
    list = json_object_get (pst_msg_body (reply), "result");
    assert_int_equal (json_array_size (list), 2);
    assert_string_equal (json_string_value (json_object_get (json_array_get (list, 1), "type")),
                         "totp");
    assert_true (json_is_true (json_object_get (json_array_get (list, 1), "confirmed")));
    pst_msg_destroy (&reply);
    free (token);
    free (secret);
    free (id);
}

static void
test_window (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    s_align ();
    char *secret = s_enrolled (fixture->mfa, "auth0|pia");
    mfa_test_clock_advance (10 * MFA_TOTP_PERIOD_S * 1000);
    char *token = mfa_test_begin (fixture->mfa, "auth0|pia", "pia@example.com");
    char code [7];
    //  Two steps away either side: refused
    s_code (secret, -2, code);
    pst_msg_t *reply = s_verify (fixture->mfa, token, code);
    assert_reply_error (reply, "invalid_grant", "Invalid otp_code.");
    pst_msg_destroy (&reply);
    s_code (secret, 2, code);
    reply = s_verify (fixture->mfa, token, code);
    assert_reply_error (reply, "invalid_grant", "Invalid otp_code.");
    pst_msg_destroy (&reply);
    //  One step behind: accepted
    s_code (secret, -1, code);
    reply = s_verify (fixture->mfa, token, code);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    free (token);
    free (secret);
}

static void
test_caps (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_harness_t *mfa = fixture->mfa;
    const mfa_config_t *config = mfa->config;
    s_align ();
    char *secret = s_enrolled (mfa, "auth0|quinn");
    mfa_test_clock_advance (MFA_TOTP_PERIOD_S * 1000);
    char code [7], wrong [16];
    s_code (secret, 0, code);
    snprintf (wrong, sizeof wrong, "%06d", (atoi (code) + 500000) % 1000000);

    //  An mfa_token has code_max_attempts guesses, as an oob_code has
    char *token = mfa_test_begin (mfa, "auth0|quinn", "quinn@example.com");
    for (int i = 0; i < config->code_max_attempts; i++) {
        pst_msg_t *reply = s_verify (mfa, token, wrong);
        assert_reply_error (reply, "invalid_grant", "Invalid otp_code.");
        pst_msg_destroy (&reply);
    }
    pst_msg_t *reply = s_verify (mfa, token, code);
    assert_reply_error (reply, "invalid_grant",
                        "Too many attempts with this mfa_token. Sign in again.");
    pst_msg_destroy (&reply);
    free (token);

    //  Wrong codes drain the failure bucket shared with email codes: once empty,
    //  even the right code waits, with email's error and headers
    int failures = config->code_max_attempts;
    while (failures < config->fail_capacity) {
        token = mfa_test_begin (mfa, "auth0|quinn", "quinn@example.com");
        for (int i = 0; i < config->code_max_attempts && failures < config->fail_capacity; i++) {
            reply = s_verify (mfa, token, wrong);
            assert_reply_error (reply, "invalid_grant", "Invalid otp_code.");
            pst_msg_destroy (&reply);
            failures++;
        }
        free (token);
    }
    token = mfa_test_begin (mfa, "auth0|quinn", "quinn@example.com");
    reply = s_verify (mfa, token, code);
    assert_reply_error (reply, "too_many_attempts",
                        "Too many failed codes. Wait for some minutes before retrying.");
    assert_true (pst_msg_get_int (reply, "retry_after", 0) > 0);
    pst_msg_destroy (&reply);
    assert_int_equal (mfa_test_db_int (mfa,
        "SELECT count(*) FROM audit WHERE type = 'gd_otp_rate_limit_exceed'"), 1);
    //  Every wrong code, and the guess past the mfa_token's cap
    assert_int_equal (mfa_test_db_int (mfa,
        "SELECT count(*) FROM audit WHERE type = 'gd_auth_failed'"), config->fail_capacity + 1);

    //  One token back after the refill interval; a success fills the bucket
    mfa_test_clock_advance (config->fail_refill_s * 1000LL);
    s_align ();
    s_code (secret, 0, code);
    reply = s_verify (mfa, token, code);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    free (token);
    assert_int_equal (mfa_test_db_int (mfa, "SELECT level FROM buckets"
        " WHERE user_id = 'auth0|quinn' AND kind = 'fail'"), config->fail_capacity);
    free (secret);
}

static void
test_factor_and_switch (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_harness_t *mfa = fixture->mfa;
    s_align ();
    //  An unconfirmed email association gives way to an otp one, and back
    char *token = mfa_test_begin (mfa, "auth0|ravi", "ravi@example.com");
    pst_msg_t *reply = mfa_test_associate (mfa, token);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    reply = s_associate (mfa, token);
    assert_reply_ok (reply);
    char *secret = strdup (pst_msg_get_str (reply, "secret"));
    pst_msg_destroy (&reply);
    assert_int_equal (mfa_test_db_int (mfa, "SELECT count(*) FROM authenticators"
        " WHERE user_id = 'auth0|ravi' AND type IN ('email', 'otp')"), 1);
    assert_int_equal (mfa_test_db_int (mfa, "SELECT count(*) FROM authenticators"
        " WHERE user_id = 'auth0|ravi' AND type = 'otp'"), 1);
    //  A user with no otp authenticator cannot use the grant
    char *other = mfa_test_begin (mfa, "auth0|sam", "sam@example.com");
    reply = s_verify (mfa, other, "123456");
    assert_reply_error (reply, "invalid_grant", "The user has no otp authenticator.");
    pst_msg_destroy (&reply);
    free (other);

    //  The factor off: neither association nor the grant
    mfa_test_factor (mfa, "otp", 0);
    char code [7];
    s_code (secret, 0, code);
    reply = s_verify (mfa, token, code);
    assert_reply_error (reply, "invalid_grant", "The otp factor is not enabled.");
    pst_msg_destroy (&reply);
    reply = s_associate (mfa, token);
    assert_reply_error (reply, "unsupported_challenge_type", "The otp factor is not enabled.");
    pst_msg_destroy (&reply);
    mfa_test_factor (mfa, "otp", 1);
    reply = s_verify (mfa, token, code);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    free (token);
    free (secret);

    //  Deleting the otp authenticator ends the enrolment: the next sign-in enrols again
    reply = mfa_test_call (mfa, "authentication_methods.delete_all",
        json_pack ("{s:s}", "id", "auth0|ravi"), "delete:authentication_methods", 3000);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    token = mfa_test_begin (mfa, "auth0|ravi", "ravi@example.com");
    reply = s_associate (mfa, token);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    free (token);
}

//  challenge.create for an otp authenticator: Auth0's {"challenge_type": "otp"},
//  no mail, no code; run once per request id like any challenge.
static void
test_challenge (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_harness_t *mfa = fixture->mfa;
    s_align ();
    //  Not enrolled: no mfa_requirements; enrolled: Auth0's shape, the otp kind
    json_t *begin = json_pack ("{s:s, s:s}", "user_id", "auth0|una", "client_id", "app1");
    pst_msg_t *reply = mfa_test_call (mfa, "mfa.begin", json_deep_copy (begin), NULL, 3000);
    assert_reply_ok (reply);
    assert_null (json_object_get (pst_msg_body (reply), "mfa_requirements"));
    pst_msg_destroy (&reply);
    char *secret = s_enrolled (mfa, "auth0|una");
    reply = mfa_test_call (mfa, "mfa.begin", begin, NULL, 3000);
    assert_reply_ok (reply);
    char *requirements = json_dumps (json_object_get (pst_msg_body (reply), "mfa_requirements"),
                                     JSON_COMPACT);
    assert_string_equal (requirements, "{\"challenge\":[{\"type\":\"otp\"}]}");
    free (requirements);
    pst_msg_destroy (&reply);
    int mails = test_mailer_count (fixture->mailer);
    char *token = mfa_test_begin (mfa, "auth0|una", "una@example.com");
    pst_msg_t *request = pst_msg_new_request ("challenge.create", 3000);
    assert_non_null (request);
    json_t *body = json_pack ("{s:s, s:s, s:s}", "mfa_token", token, "client_id", "app1",
                              "challenge_type", "otp");
    pst_msg_set_body (request, &body);
    reply = pst_client_call (mfa->client, request);
    assert_reply_ok (reply);
    assert_int_equal (json_object_size (pst_msg_body (reply)), 1);
    assert_string_equal (pst_msg_get_str (reply, "challenge_type"), "otp");
    pst_msg_destroy (&reply);
    assert_int_equal (test_mailer_count (fixture->mailer), mails);
    assert_int_equal (mfa_test_db_int (mfa, "SELECT count(*) FROM challenges"
        " WHERE user_id = 'auth0|una'"), 0);

    //  The user has no email authenticator: oob is not on offer
    reply = mfa_test_challenge (mfa, token);
    assert_reply_error (reply, "unsupported_challenge_type", NULL);
    pst_msg_destroy (&reply);

    //  The code from the app ends the mfa_token; the retried request id still
    //  gets its first answer, a new one is refused
    char code [7];
    s_code (secret, 1, code);       //  enrolment used this step
    reply = s_verify (mfa, token, code);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    reply = pst_client_call (mfa->client, request);
    assert_reply_ok (reply);
    assert_string_equal (pst_msg_get_str (reply, "challenge_type"), "otp");
    pst_msg_destroy (&reply);
    pst_msg_destroy (&request);
    reply = mfa_test_call (mfa, "challenge.create",
        json_pack ("{s:s, s:s, s:s}", "mfa_token", token, "client_id", "app1",
                   "challenge_type", "otp"), NULL, 3000);
    assert_true (reply && pst_msg_is_error (reply));
    pst_msg_destroy (&reply);

    //  The factor off: no otp challenge either
    mfa_test_factor (mfa, "otp", 0);
    free (token);
    token = mfa_test_begin (mfa, "auth0|una", "una@example.com");
    reply = mfa_test_call (mfa, "challenge.create",
        json_pack ("{s:s, s:s, s:s}", "mfa_token", token, "client_id", "app1",
                   "challenge_type", "otp"), NULL, 3000);
    assert_reply_error (reply, "unsupported_challenge_type", NULL);
    pst_msg_destroy (&reply);
    free (token);
    free (secret);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_enrol_and_verify, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_window, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_caps, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_factor_and_switch, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_challenge, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
