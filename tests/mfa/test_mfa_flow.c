//  Service tests of the MFA conversation: begin, associate, challenge, verify,
//  recovery. The real mfa actor runs in-process; a fake mailer takes the jobs.

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include "mfa_test_support.h"
#include "pst_crypto.h"

typedef mfa_fixture_t fixture_t;

static int
s_setup (void **state)
{
    *state = mfa_fixture_new (NULL);
    return 0;
}

static int
s_teardown (void **state)
{
    mfa_fixture_destroy ((mfa_fixture_t **) state);
    return 0;
}

static char *
s_dup_str (const pst_msg_t *reply, const char *key)
{
    const char *value = pst_msg_get_str (reply, key);
    assert_non_null (value);
    return strdup (value);
}

//  A login of an enrolled user up to the mailed code.
typedef struct {
    char *token;
    char *oob_code;
    char *code;
} login_t;

static void
s_login (fixture_t *fixture, const char *user_id, const char *email, login_t *login)
{
    login->token = mfa_test_begin (fixture->mfa, user_id, email);
    pst_msg_t *reply = mfa_test_challenge (fixture->mfa, login->token);
    assert_reply_ok (reply);
    assert_string_equal (pst_msg_get_str (reply, "challenge_type"), "oob");
    assert_string_equal (pst_msg_get_str (reply, "binding_method"), "prompt");
    login->oob_code = s_dup_str (reply, "oob_code");
    pst_msg_destroy (&reply);
    login->code = test_mailer_code (fixture->mailer);
}

static void
s_login_free (login_t *login)
{
    free (login->token);
    free (login->oob_code);
    free (login->code);
    memset (login, 0, sizeof *login);
}

//  A wrong code of the same shape as code
static void
s_wrong (const char *code, char wrong [7])
{
    snprintf (wrong, 7, "%s", code);
    wrong [0] = wrong [0] == '9'? '0': (char) (wrong [0] + 1);
}

//  ---------------------------------------------------------------------------

static void
test_begin_not_required_without_factor (void **state)
{
    (void) state;
    mfa_harness_t *mfa = mfa_harness_new (NULL);
    //  Fresh tenant: email starts disabled, recovery-code alone does not count
    pst_msg_t *reply = mfa_test_call (mfa, "mfa.begin",
        json_pack ("{s:s, s:s}", "user_id", "auth0|u1", "client_id", "app1"), NULL, 3000);
    assert_reply_ok (reply);
    assert_true (json_is_false (json_object_get (pst_msg_body (reply), "mfa_required")));
    assert_null (pst_msg_get_str (reply, "mfa_token"));
    pst_msg_destroy (&reply);

    mfa_test_factor (mfa, "email", 1);
    char *token = mfa_test_begin (mfa, "auth0|u1", "u1@example.com");
    assert_true (strlen (token) >= 43);         //  256 bits, base64url
    free (token);

    //  An empty policy turns MFA off even with a factor enabled
    reply = mfa_test_call (mfa, "policies.set", json_pack ("{s:[]}", "data"),
                           "update:mfa_policies", 3000);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    reply = mfa_test_call (mfa, "mfa.begin",
        json_pack ("{s:s, s:s}", "user_id", "auth0|u1", "client_id", "app1"), NULL, 3000);
    assert_reply_ok (reply);
    assert_true (json_is_false (json_object_get (pst_msg_body (reply), "mfa_required")));
    pst_msg_destroy (&reply);

    reply = mfa_test_call (mfa, "mfa.begin", json_pack ("{s:s}", "client_id", "app1"), NULL, 3000);
    assert_reply_error (reply, "invalid_request", "Missing required parameter: user_id");
    pst_msg_destroy (&reply);
    mfa_harness_destroy (&mfa);
}

//  With MFA off by policy, a sign-in for the MFA API still needs the second
//  factor once the user has one: that token could replace it
static void
test_step_up_for_the_mfa_api (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_test_enrol (fixture->mfa, fixture->mailer, "auth0|sam", "sam@example.com", NULL);
    pst_msg_t *reply = mfa_test_call (fixture->mfa, "policies.set", json_pack ("{s:[]}", "data"),
                                      "update:mfa_policies", 3000);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    const struct {
        const char *user_id;
        int step_up;
        int required;
    } cases [] = {
        { "auth0|sam", 0, 0 },      //  policy off, an ordinary API
        { "auth0|sam", 1, 1 },      //  policy off, the MFA API, enrolled
        { "auth0|new", 1, 0 },      //  policy off, the MFA API, nothing enrolled yet
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        reply = mfa_test_call (fixture->mfa, "mfa.begin", json_pack ("{s:s, s:s, s:b}",
            "user_id", cases [i].user_id, "client_id", "app1", "step_up", cases [i].step_up),
            NULL, 3000);
        assert_reply_ok (reply);
        assert_int_equal (json_is_true (json_object_get (pst_msg_body (reply), "mfa_required")),
                          cases [i].required);
        assert_int_equal (pst_msg_get_str (reply, "mfa_token") != NULL, cases [i].required);
        pst_msg_destroy (&reply);
    }
}

static void
test_associate_and_verify (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    char *token = mfa_test_begin (fixture->mfa, "auth0|alice", "alice@example.com");
    pst_msg_t *reply = mfa_test_associate (fixture->mfa, token);
    assert_reply_ok (reply);
    assert_string_equal (pst_msg_get_str (reply, "authenticator_type"), "oob");
    assert_string_equal (pst_msg_get_str (reply, "binding_method"), "prompt");
    assert_string_equal (pst_msg_get_str (reply, "oob_channel"), "email");
    const char *id = pst_msg_get_str (reply, "id");
    assert_non_null (id);
    assert_int_equal (strlen (id), strlen ("email|dev_") + 16);
    assert_memory_equal (id, "email|dev_", 10);
    json_t *codes = json_object_get (pst_msg_body (reply), "recovery_codes");
    assert_int_equal (json_array_size (codes), 1);
    const char *recovery = json_string_value (json_array_get (codes, 0));
    assert_int_equal (strlen (recovery), 24);
    assert_int_equal (strspn (recovery, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), 24);
    char *oob_code = s_dup_str (reply, "oob_code");
    assert_true (strlen (oob_code) >= 22);      //  ≥ 128 bits
    pst_msg_destroy (&reply);

    //  The job went to the address of the token, with the application's name
    char *job = test_mailer_last (fixture->mailer);
    json_t *body = json_loads (job, 0, NULL);
    assert_string_equal (json_string_value (json_object_get (body, "to")), "alice@example.com");
    assert_non_null (strstr (json_string_value (json_object_get (body, "text")), "Test App"));
    assert_non_null (json_object_get (body, "html"));
    assert_non_null (json_object_get (body, "message_id"));
    assert_true (json_integer_value (json_object_get (body, "expires_at")) > 0);
    json_decref (body);
    zstr_free (&job);

    char *code = test_mailer_code (fixture->mailer);
    reply = mfa_test_verify (fixture->mfa, token, oob_code, code);
    assert_reply_ok (reply);
    assert_string_equal (pst_msg_get_str (reply, "user_id"), "auth0|alice");
    assert_string_equal (pst_msg_get_str (reply, "client_id"), "app1");
    assert_string_equal (pst_msg_get_str (reply, "audience"), "https://api.example.com/");
    assert_string_equal (pst_msg_get_str (reply, "scope"), "openid read:things");
    //  When the password was checked: the mfa_token's birth, in seconds
    int64_t auth_time = pst_msg_get_int (reply, "auth_time", 0);
    int64_t now_s = mfa_test_now_ms () / 1000;
    assert_true (auth_time > now_s - 60 && auth_time <= now_s);
    pst_msg_destroy (&reply);
    assert_int_equal (mfa_test_db_int (fixture->mfa,
        "SELECT count(*) FROM audit WHERE type = 'gd_enrollment_complete'"
        " AND user_id = 'auth0|alice' AND ip = '127.0.0.1'"), 1);
    assert_int_equal (mfa_test_db_int (fixture->mfa,
        "SELECT count(*) FROM authenticators WHERE user_id = 'auth0|alice' AND active = 1"), 2);

    //  The mfa_token died with the grant
    reply = mfa_test_verify (fixture->mfa, token, oob_code, code);
    assert_reply_error (reply, "invalid_grant", NULL);
    pst_msg_destroy (&reply);

    //  Enrolled: a second association is refused, a login challenges the authenticator
    char *second = mfa_test_begin (fixture->mfa, "auth0|alice", "alice@example.com");
    reply = mfa_test_associate (fixture->mfa, second);
    assert_reply_error (reply, "access_denied", "User is already enrolled.");
    pst_msg_destroy (&reply);
    reply = mfa_test_challenge (fixture->mfa, second);
    assert_reply_ok (reply);
    char *oob_second = s_dup_str (reply, "oob_code");
    pst_msg_destroy (&reply);
    char *code_second = test_mailer_code (fixture->mailer);
    reply = mfa_test_verify (fixture->mfa, second, oob_second, code_second);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    assert_int_equal (mfa_test_db_int (fixture->mfa,
        "SELECT count(*) FROM audit WHERE type = 'gd_auth_succeed' AND user_id = 'auth0|alice'"), 1);
    free (code_second);
    free (oob_second);
    free (second);
    free (code);
    free (oob_code);
    free (token);
}

static void
test_associate_refusals (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    pst_msg_t *reply = mfa_test_associate (fixture->mfa, "not-a-token");
    assert_reply_error (reply, "invalid_token", "Invalid mfa_token");
    pst_msg_destroy (&reply);

    char *token = mfa_test_begin (fixture->mfa, "auth0|bob", "bob@example.com");
    const char *bad [] = { "bob@example.com\r\nBcc: x@evil.example", "no-at-sign",
                           "two@@example.com", "sp ace@example.com", "@example.com", NULL };
    for (int i = 0; bad [i]; i++) {
        reply = mfa_test_call (fixture->mfa, "mfa.associate",
            json_pack ("{s:s, s:[s], s:s}", "mfa_token", token, "authenticator_types", "oob",
                       "email", bad [i]), NULL, 3000);
        assert_reply_error (reply, "invalid_request", NULL);
        pst_msg_destroy (&reply);
    }
    char long_address [300];
    memset (long_address, 'a', sizeof long_address);
    memcpy (long_address + 250, "@x.io", 6);
    reply = mfa_test_call (fixture->mfa, "mfa.associate",
        json_pack ("{s:s, s:[s], s:s}", "mfa_token", token, "authenticator_types", "oob",
                   "email", long_address), NULL, 3000);
    assert_reply_error (reply, "invalid_request", NULL);
    pst_msg_destroy (&reply);

    reply = mfa_test_call (fixture->mfa, "mfa.associate",
        json_pack ("{s:s, s:[s]}", "mfa_token", token, "authenticator_types", "otp"), NULL, 3000);
    assert_reply_error (reply, "unsupported_challenge_type", NULL);
    pst_msg_destroy (&reply);
    reply = mfa_test_call (fixture->mfa, "mfa.associate",
        json_pack ("{s:s, s:[s], s:[s]}", "mfa_token", token, "authenticator_types", "oob",
                   "oob_channels", "sms"), NULL, 3000);
    assert_reply_error (reply, "unsupported_challenge_type", NULL);
    pst_msg_destroy (&reply);

    mfa_test_factor (fixture->mfa, "email", 0);
    reply = mfa_test_associate (fixture->mfa, token);
    assert_reply_error (reply, "unsupported_challenge_type", NULL);
    pst_msg_destroy (&reply);
    mfa_test_factor (fixture->mfa, "email", 1);

    //  An explicit address wins over the token's; nothing was mailed before
    assert_int_equal (test_mailer_count (fixture->mailer), 0);
    reply = mfa_test_call (fixture->mfa, "mfa.associate",
        json_pack ("{s:s, s:s, s:s}", "mfa_token", token, "authenticator_types", "oob",
                   "email", "bob.other@example.com"), NULL, 3000);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    char *job = test_mailer_last (fixture->mailer);
    assert_non_null (strstr (job, "\"to\":\"bob.other@example.com\""));
    zstr_free (&job);

    //  Expired mfa_token
    mfa_test_clock_advance (601 * 1000);
    reply = mfa_test_associate (fixture->mfa, token);
    assert_reply_error (reply, "invalid_token", "mfa_token is expired");
    pst_msg_destroy (&reply);
    free (token);
}

//  An mfa_token from a login, with the client's credentials as authn passes them
static char *
s_begin_with_client (fixture_t *fixture, const char *user_id, const char *method,
                     const char *secret)
{
    char hash [65];
    if (secret)
        pst_sha256_hex (secret, strlen (secret), hash);
    pst_msg_t *reply = mfa_test_call (fixture->mfa, "mfa.begin",
        json_pack ("{s:s, s:s, s:s, s:s, s:s*}", "user_id", user_id, "email", "dan@example.com",
                   "client_id", "app1", "client_auth_method", method,
                   "client_secret_hash", secret? hash: NULL), NULL, 3000);
    assert_reply_ok (reply);
    char *token = strdup (pst_msg_get_str (reply, "mfa_token"));
    pst_msg_destroy (&reply);
    return token;
}

static pst_msg_t *
s_challenge_with_secret (fixture_t *fixture, const char *token, const char *secret)
{
    return mfa_test_call (fixture->mfa, "challenge.create",
        json_pack ("{s:s, s:s, s:s, s:s*}", "mfa_token", token, "client_id", "app1",
                   "challenge_type", "oob", "client_secret", secret), NULL, 3000);
}

//  /mfa/challenge comes from the gateway alone: the client's secret is checked
//  against the one the token recorded at mfa.begin (contract §2: optional, but
//  right when sent), a public client's is ignored, and a token from before mfa
//  kept credentials refuses any. When authn says the client changed, its tokens die.
static void
test_challenge_client_secret (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_test_enrol (fixture->mfa, fixture->mailer, "auth0|dan", "dan@example.com", NULL);
    char *token = s_begin_with_client (fixture, "auth0|dan", "client_secret_post", "s3cret");
    int jobs = test_mailer_count (fixture->mailer);
    pst_msg_t *reply = s_challenge_with_secret (fixture, token, "wrong");
    assert_reply_error (reply, "invalid_client", "Client authentication failed.");
    pst_msg_destroy (&reply);
    assert_int_equal (test_mailer_count (fixture->mailer), jobs);
    reply = s_challenge_with_secret (fixture, token, "s3cret");
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    reply = s_challenge_with_secret (fixture, token, NULL);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    assert_int_equal (test_mailer_count (fixture->mailer), jobs + 2);
    //  Another client's id is refused before its secret is looked at
    reply = mfa_test_call (fixture->mfa, "challenge.create",
        json_pack ("{s:s, s:s, s:s}", "mfa_token", token, "client_id", "other-app",
                   "client_secret", "s3cret"), NULL, 3000);
    assert_reply_error (reply, "invalid_grant", "mfa_token was not issued to this client");
    pst_msg_destroy (&reply);

    //  A public client's secret means nothing, as at authn
    char *public_token = s_begin_with_client (fixture, "auth0|dan", "none", NULL);
    reply = s_challenge_with_secret (fixture, public_token, "anything");
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    //  A confidential client without a secret, and a token without credentials
    //  (minted before they were kept), accept none sent
    char *secretless = s_begin_with_client (fixture, "auth0|dan", "client_secret_post", NULL);
    reply = s_challenge_with_secret (fixture, secretless, "s3cret");
    assert_reply_error (reply, "invalid_client", NULL);
    pst_msg_destroy (&reply);
    char *legacy = mfa_test_begin (fixture->mfa, "auth0|dan", "dan@example.com");
    reply = s_challenge_with_secret (fixture, legacy, "s3cret");
    assert_reply_error (reply, "invalid_client", NULL);
    pst_msg_destroy (&reply);
    reply = s_challenge_with_secret (fixture, legacy, NULL);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);

    //  An expired token is left as it is (nothing to void)
    char *expired = s_begin_with_client (fixture, "auth0|dan", "client_secret_post", "s3cret");
    char hash [65], sql [200];
    pst_sha256_hex (expired, strlen (expired), hash);
    snprintf (sql, sizeof sql,
              "UPDATE mfa_tokens SET expires_at = 1 WHERE token_hash = '%s' RETURNING 1", hash);
    assert_int_equal (mfa_test_db_int (fixture->mfa, sql), 1);
    //  Only authn may void a client's tokens (the gateway's request goes unanswered);
    //  then none of them works
    pst_msg_t *request = pst_msg_new_request ("tokens.void_client", 500);
    json_object_set_new (pst_msg_body (request), "client_id", json_string ("app1"));
    reply = pst_client_call (fixture->mfa->client, request);
    assert_null (reply);
    pst_msg_destroy (&request);
    int live = mfa_test_db_int (fixture->mfa,
        "SELECT count(*) FROM mfa_tokens WHERE client_id = 'app1' AND used = 0 AND expires_at > 1");
    assert_true (live >= 4);
    reply = mfa_test_call (fixture->mfa, "tokens.void_client",
        json_pack ("{s:s}", "client_id", "app1"), NULL, 3000);
    assert_reply_ok (reply);
    assert_int_equal (pst_msg_get_int (reply, "voided", -1), live);
    pst_msg_destroy (&reply);
    const char *voided [] = { token, public_token, secretless, legacy };
    for (size_t i = 0; i < sizeof voided / sizeof voided [0]; i++) {
        reply = s_challenge_with_secret (fixture, voided [i], NULL);
        assert_reply_error (reply, "invalid_client",
                            "The application's credentials changed or it was deleted. Sign in again.");
        pst_msg_destroy (&reply);
    }
    reply = mfa_test_call (fixture->mfa, "tokens.void_client",
        json_pack ("{s:s}", "client_id", "app1"), NULL, 3000);
    assert_int_equal (pst_msg_get_int (reply, "voided", -1), 0);
    pst_msg_destroy (&reply);
    //  Another client still hears "not yours"; a verification is refused as the
    //  challenge is; the secret hashes are gone from the voided rows
    reply = mfa_test_call (fixture->mfa, "challenge.create",
        json_pack ("{s:s, s:s}", "mfa_token", token, "client_id", "other-app"), NULL, 3000);
    assert_reply_error (reply, "invalid_grant", "mfa_token was not issued to this client");
    pst_msg_destroy (&reply);
    reply = mfa_test_verify (fixture->mfa, token, "oob-code", "123456");
    assert_reply_error (reply, "invalid_client", NULL);
    pst_msg_destroy (&reply);
    assert_int_equal (mfa_test_db_int (fixture->mfa,
        "SELECT count(*) FROM mfa_tokens WHERE used <> 0 AND client_secret_hash IS NOT NULL"), 0);
    reply = s_challenge_with_secret (fixture, expired, NULL);
    assert_reply_error (reply, "expired_token", NULL);
    pst_msg_destroy (&reply);
    assert_int_equal (mfa_test_db_int (fixture->mfa,
        "SELECT count(*) FROM mfa_tokens WHERE expires_at = 1 AND used = 0"), 1);
    free (token);
    free (public_token);
    free (secretless);
    free (legacy);
    free (expired);
}

static void
test_challenge_refusals (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    char *token = mfa_test_begin (fixture->mfa, "auth0|carol", "carol@example.com");
    pst_msg_t *reply = mfa_test_challenge (fixture->mfa, token);
    assert_reply_error (reply, "association_required", NULL);
    pst_msg_destroy (&reply);

    reply = mfa_test_call (fixture->mfa, "challenge.create",
        json_pack ("{s:s, s:s}", "mfa_token", "garbage", "client_id", "app1"), NULL, 3000);
    assert_reply_error (reply, "invalid_grant", "Malformed mfa_token");
    pst_msg_destroy (&reply);
    free (token);

    mfa_test_enrol (fixture->mfa, fixture->mailer, "auth0|carol", "carol@example.com", NULL);
    token = mfa_test_begin (fixture->mfa, "auth0|carol", "carol@example.com");
    //  Bound to the client that obtained it
    reply = mfa_test_call (fixture->mfa, "challenge.create",
        json_pack ("{s:s, s:s}", "mfa_token", token, "client_id", "other-app"), NULL, 3000);
    assert_reply_error (reply, "invalid_grant", NULL);
    pst_msg_destroy (&reply);
    reply = mfa_test_call (fixture->mfa, "challenge.create",
        json_pack ("{s:s, s:s, s:s}", "mfa_token", token, "client_id", "app1",
                   "challenge_type", "otp"), NULL, 3000);
    assert_reply_error (reply, "unsupported_challenge_type", NULL);
    pst_msg_destroy (&reply);
    reply = mfa_test_call (fixture->mfa, "challenge.create",
        json_pack ("{s:s, s:s, s:s}", "mfa_token", token, "client_id", "app1",
                   "authenticator_id", "email|dev_AAAAAAAAAAAAAAAA"), NULL, 3000);
    assert_reply_error (reply, "invalid_request", NULL);
    pst_msg_destroy (&reply);
    //  A list naming oob, and absent challenge_type, both work
    reply = mfa_test_call (fixture->mfa, "challenge.create",
        json_pack ("{s:s, s:s, s:s}", "mfa_token", token, "client_id", "app1",
                   "challenge_type", "otp oob"), NULL, 3000);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    reply = mfa_test_call (fixture->mfa, "challenge.create",
        json_pack ("{s:s, s:s}", "mfa_token", token, "client_id", "app1"), NULL, 3000);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);

    mfa_test_clock_advance (601 * 1000);
    reply = mfa_test_challenge (fixture->mfa, token);
    assert_reply_error (reply, "expired_token", "mfa_token is expired");
    pst_msg_destroy (&reply);
    free (token);
}

static void
test_wrong_code_and_reused_oob_code (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_test_enrol (fixture->mfa, fixture->mailer, "auth0|dave", "dave@example.com", NULL);
    login_t login;
    s_login (fixture, "auth0|dave", "dave@example.com", &login);
    char wrong [7];
    s_wrong (login.code, wrong);
    pst_msg_t *reply = mfa_test_verify (fixture->mfa, login.token, login.oob_code, wrong);
    assert_reply_error (reply, "invalid_grant", "Invalid binding_code.");
    pst_msg_destroy (&reply);
    assert_int_equal (mfa_test_db_int (fixture->mfa,
        "SELECT count(*) FROM audit WHERE type = 'gd_auth_failed' AND user_id = 'auth0|dave'"), 1);
    reply = mfa_test_verify (fixture->mfa, login.token, login.oob_code, login.code);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);

    //  The same oob_code and code with a fresh mfa_token: single use (S3), and
    //  bound to the mfa_token that asked for it
    char *token = mfa_test_begin (fixture->mfa, "auth0|dave", "dave@example.com");
    reply = mfa_test_verify (fixture->mfa, token, login.oob_code, login.code);
    assert_reply_error (reply, "invalid_grant", "Invalid oob_code.");
    pst_msg_destroy (&reply);
    reply = mfa_test_verify (fixture->mfa, token, "unknown-oob-code", login.code);
    assert_reply_error (reply, "invalid_grant", "Invalid oob_code.");
    pst_msg_destroy (&reply);
    free (token);
    s_login_free (&login);
}

static void
test_superseded_oob_code (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_test_enrol (fixture->mfa, fixture->mailer, "auth0|erin", "erin@example.com", NULL);
    login_t first, second;
    s_login (fixture, "auth0|erin", "erin@example.com", &first);
    //  Same token, a new challenge for the same authenticator (S7)
    pst_msg_t *reply = mfa_test_challenge (fixture->mfa, first.token);
    assert_reply_ok (reply);
    second.token = strdup (first.token);
    second.oob_code = s_dup_str (reply, "oob_code");
    second.code = test_mailer_code (fixture->mailer);
    pst_msg_destroy (&reply);
    assert_string_not_equal (first.oob_code, second.oob_code);

    reply = mfa_test_verify (fixture->mfa, first.token, first.oob_code, first.code);
    assert_reply_error (reply, "invalid_grant", "Invalid oob_code.");
    pst_msg_destroy (&reply);
    assert_int_equal (mfa_test_db_int (fixture->mfa,
        "SELECT count(*) FROM challenges WHERE state = 'superseded'"), 1);
    reply = mfa_test_verify (fixture->mfa, second.token, second.oob_code, second.code);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    s_login_free (&first);
    s_login_free (&second);
}

static void
test_code_lifetime (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_test_enrol (fixture->mfa, fixture->mailer, "auth0|frank", "frank@example.com", NULL);
    int ttl_ms = fixture->mfa->config->code_ttl_s * 1000;

    login_t login;
    s_login (fixture, "auth0|frank", "frank@example.com", &login);
    mfa_test_clock_advance (ttl_ms - 1000);
    pst_msg_t *reply = mfa_test_verify (fixture->mfa, login.token, login.oob_code, login.code);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    s_login_free (&login);

    s_login (fixture, "auth0|frank", "frank@example.com", &login);
    mfa_test_clock_advance (ttl_ms + 1000);
    reply = mfa_test_verify (fixture->mfa, login.token, login.oob_code, login.code);
    assert_reply_error (reply, "invalid_grant", "Invalid oob_code.");
    pst_msg_destroy (&reply);
    s_login_free (&login);
}

static void
test_cross_user_oob_code (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_test_enrol (fixture->mfa, fixture->mailer, "auth0|gina", "gina@example.com", NULL);
    mfa_test_enrol (fixture->mfa, fixture->mailer, "auth0|hank", "hank@example.com", NULL);
    login_t gina, hank;
    s_login (fixture, "auth0|gina", "gina@example.com", &gina);
    s_login (fixture, "auth0|hank", "hank@example.com", &hank);
    //  Gina's oob_code and code with Hank's mfa_token (S10)
    pst_msg_t *reply = mfa_test_verify (fixture->mfa, hank.token, gina.oob_code, gina.code);
    assert_reply_error (reply, "invalid_grant", "Invalid oob_code.");
    pst_msg_destroy (&reply);
    //  Nothing was spent: both still work for their owners
    reply = mfa_test_verify (fixture->mfa, gina.token, gina.oob_code, gina.code);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    reply = mfa_test_verify (fixture->mfa, hank.token, hank.oob_code, hank.code);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    s_login_free (&gina);
    s_login_free (&hank);
}

static void
test_oob_code_bound_to_mfa_token (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    mfa_test_enrol (fixture->mfa, fixture->mailer, "auth0|iris", "iris@example.com", NULL);
    //  Two sign-ins of the same user; the second never asked for a code
    login_t first;
    s_login (fixture, "auth0|iris", "iris@example.com", &first);
    char *other = mfa_test_begin (fixture->mfa, "auth0|iris", "iris@example.com");
    pst_msg_t *reply = mfa_test_verify (fixture->mfa, other, first.oob_code, first.code);
    assert_reply_error (reply, "invalid_grant", "Invalid oob_code.");
    pst_msg_destroy (&reply);
    assert_int_equal (mfa_test_db_int (fixture->mfa,
        "SELECT attempts FROM challenges WHERE state = 'pending'"), 0);
    //  The sign-in that asked for it still completes, once
    reply = mfa_test_verify (fixture->mfa, first.token, first.oob_code, first.code);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    reply = mfa_test_verify (fixture->mfa, other, first.oob_code, first.code);
    assert_reply_error (reply, "invalid_grant", "Invalid oob_code.");
    pst_msg_destroy (&reply);
    free (other);
    s_login_free (&first);
}

static void
test_recovery_code (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    char *recovery = NULL;
    mfa_test_enrol (fixture->mfa, fixture->mailer, "auth0|ivy", "ivy@example.com", &recovery);

    //  Typed in lower case with spaces: normalised
    char typed [64];
    snprintf (typed, sizeof typed, "%.4s %.20s", recovery, recovery + 4);
    for (char *scan = typed; *scan; scan++)
        *scan = (char) tolower (*scan);
    char *token = mfa_test_begin (fixture->mfa, "auth0|ivy", "ivy@example.com");
    pst_msg_t *reply = mfa_test_recover (fixture->mfa, token, typed);
    assert_reply_ok (reply);
    assert_string_equal (pst_msg_get_str (reply, "user_id"), "auth0|ivy");
    const char *replacement = pst_msg_get_str (reply, "recovery_code");
    assert_non_null (replacement);
    assert_int_equal (strlen (replacement), 24);
    assert_string_not_equal (replacement, recovery);
    char *next = strdup (replacement);
    pst_msg_destroy (&reply);
    assert_int_equal (mfa_test_db_int (fixture->mfa,
        "SELECT count(*) FROM audit WHERE type = 'gd_recovery_succeed'"), 1);
    free (token);

    //  Used once: the old code is dead, the replacement works
    token = mfa_test_begin (fixture->mfa, "auth0|ivy", "ivy@example.com");
    reply = mfa_test_recover (fixture->mfa, token, recovery);
    assert_reply_error (reply, "invalid_grant", "Invalid recovery_code.");
    pst_msg_destroy (&reply);
    reply = mfa_test_recover (fixture->mfa, token, next);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    free (token);

    //  Another user's token cannot use it
    mfa_test_enrol (fixture->mfa, fixture->mailer, "auth0|jack", "jack@example.com", NULL);
    token = mfa_test_begin (fixture->mfa, "auth0|jack", "jack@example.com");
    reply = mfa_test_recover (fixture->mfa, token, next);
    assert_reply_error (reply, "invalid_grant", "Invalid recovery_code.");
    pst_msg_destroy (&reply);
    free (token);
    free (next);
    free (recovery);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_begin_not_required_without_factor),
        cmocka_unit_test_setup_teardown (test_associate_and_verify, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_step_up_for_the_mfa_api, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_associate_refusals, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_challenge_refusals, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_challenge_client_secret, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_wrong_code_and_reused_oob_code, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_superseded_oob_code, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_code_lifetime, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_cross_user_oob_code, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_oob_code_bound_to_mfa_token, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_recovery_code, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
