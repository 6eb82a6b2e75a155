//  Service tests of the email provider on mfa (emails_provider.*): 404 until
//  configured, the password sealed at rest and never answered, bodies refused
//  whole, the from address taken up by the next challenge, and mail.provider
//  answering a mailer's key with the password opened.

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include "mfa_test_support.h"
#include "test_keys.h"

#define READ    "read:email_provider"
#define CREATE  "create:email_provider"
#define UPDATE  "update:email_provider"
#define SECRET  "pr0vider-Pass-w0rd"

static int
s_setup (void **state)
{
    *state = mfa_fixture_new (NULL);
    return 0;
}

static int
s_teardown (void **state)
{
    mfa_fixture_t *fixture = (mfa_fixture_t *) *state;
    mfa_fixture_destroy (&fixture);
    return 0;
}

//  op on the provider with data (taken; NULL: none)
static pst_msg_t *
s_provider (mfa_harness_t *mfa, const char *op, json_t *data, const char *scopes)
{
    json_t *body = json_object ();
    if (data)
        json_object_set_new (body, "data", data);
    return mfa_test_call (mfa, op, body, scopes, 3000);
}

static json_t *
s_good (void)
{
    return json_pack ("{s:s, s:b, s:s, s:{s:s, s:i, s:s, s:s}}",
        "name", "smtp", "enabled", 1, "default_from_address", "Provider <mfa@provider.example>",
        "credentials", "smtp_host", "smtp.provider.example", "smtp_port", 2525,
        "smtp_user", "postern", "smtp_pass", SECRET);
}

//  The provider's generation, as stored (-1: none)
static long long
s_generation (mfa_harness_t *mfa)
{
    return mfa_test_db_int (mfa, "SELECT generation FROM email_provider WHERE id = 1");
}

static void
test_routes_and_sealing (void **state)
{
    mfa_fixture_t *fixture = (mfa_fixture_t *) *state;
    mfa_harness_t *mfa = fixture->mfa;
    pst_msg_t *reply = s_provider (mfa, "emails_provider.get", NULL, READ);
    assert_reply_error (reply, "not_found", NULL);
    pst_msg_destroy (&reply);
    reply = s_provider (mfa, "emails_provider.update", json_pack ("{s:b}", "enabled", 0), UPDATE);
    assert_reply_error (reply, "not_found", NULL);
    pst_msg_destroy (&reply);

    reply = s_provider (mfa, "emails_provider.create", s_good (), CREATE);
    assert_reply_ok (reply);
    const json_t *body = pst_msg_body (reply);
    assert_string_equal (json_string_value (json_object_get (body, "name")), "smtp");
    assert_null (json_object_get (json_object_get (body, "credentials"), "smtp_pass"));
    assert_int_equal (json_integer_value (json_object_get (
        json_object_get (body, "credentials"), "smtp_port")), 2525);
    pst_msg_destroy (&reply);
    //  sealed: the password is nowhere in mfa's data, in clear
    assert_int_equal (mfa_test_dir_contains (mfa, SECRET), 0);
    assert_int_equal (s_generation (mfa), 1);

    reply = s_provider (mfa, "emails_provider.get", NULL, READ);
    assert_reply_ok (reply);
    char *text = json_dumps (pst_msg_body (reply), 0);
    assert_null (strstr (text, "smtp_pass"));
    assert_null (strstr (text, SECRET));
    free (text);
    pst_msg_destroy (&reply);

    //  a second POST is a conflict and changes nothing
    reply = s_provider (mfa, "emails_provider.create", s_good (), CREATE);
    assert_reply_error (reply, "conflict", NULL);
    pst_msg_destroy (&reply);
    assert_int_equal (s_generation (mfa), 1);

    //  PATCH: the port changes, the user and password are kept
    reply = s_provider (mfa, "emails_provider.update",
                        json_pack ("{s:{s:i}}", "credentials", "smtp_port", 2526), UPDATE);
    assert_reply_ok (reply);
    body = pst_msg_body (reply);
    assert_string_equal (json_string_value (json_object_get (
        json_object_get (body, "credentials"), "smtp_user")), "postern");
    pst_msg_destroy (&reply);
    assert_int_equal (s_generation (mfa), 2);

    //  mail.provider answers a mailer's key with the password opened
    zsock_t *sock = test_keys_dealer ("mailer", "mfa", mfa->jobs);
    assert_non_null (sock);
    pst_msg_t *request = pst_msg_new_request ("mail.provider", 2000);
    assert_int_equal (pst_bus_send (sock, NULL, request), 0);
    zpoller_t *poller = zpoller_new (sock, NULL);
    reply = zpoller_wait (poller, 2000)? pst_bus_recv_dealer (sock): NULL;
    zpoller_destroy (&poller);
    assert_reply_ok (reply);
    body = pst_msg_body (reply);
    assert_int_equal (json_integer_value (json_object_get (body, "generation")), 2);
    const json_t *credentials = json_object_get (body, "credentials");
    assert_string_equal (json_string_value (json_object_get (credentials, "smtp_pass")), SECRET);
    assert_int_equal (json_integer_value (json_object_get (credentials, "smtp_port")), 2526);
    pst_msg_destroy (&reply);
    pst_msg_destroy (&request);
    zsock_destroy (&sock);
}

static void
test_refused_changes_nothing (void **state)
{
    mfa_fixture_t *fixture = (mfa_fixture_t *) *state;
    mfa_harness_t *mfa = fixture->mfa;
    struct { const char *member; json_t *value; const char *code; } bad [] = {
        { "settings", json_object (), "invalid_body" },
        { "name", json_string ("sendgrid"), "bad_request" },
        { "default_from_address", json_string ("not an address"), "bad_request" },
        { "enabled", json_string ("yes"), "bad_request" },
        { "credentials", json_pack ("{s:s, s:i}", "smtp_host", "bad host", "smtp_port", 25),
          "bad_request" },
        { "credentials", json_pack ("{s:s, s:i}", "smtp_host", "ok.example", "smtp_port", 0),
          "bad_request" },
        { "credentials", json_pack ("{s:s, s:i, s:s}", "smtp_host", "ok.example", "smtp_port", 25,
                                    "api_key", "x"), "invalid_body" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        json_t *data = s_good ();
        json_object_set_new (data, bad [i].member, bad [i].value);
        pst_msg_t *reply = s_provider (mfa, "emails_provider.create", data, CREATE);
        assert_reply_error (reply, bad [i].code, NULL);
        pst_msg_destroy (&reply);
        assert_int_equal (s_generation (mfa), -1);
    }
    pst_msg_t *reply = s_provider (mfa, "emails_provider.create", s_good (), CREATE);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    reply = s_provider (mfa, "emails_provider.update",
                        json_pack ("{s:s}", "name", "mailgun"), UPDATE);
    assert_reply_error (reply, "bad_request", NULL);
    pst_msg_destroy (&reply);
    reply = s_provider (mfa, "emails_provider.update",
                        json_pack ("{s:{s:s}}", "credentials", "smtp_pass", ""), UPDATE);
    assert_reply_error (reply, "bad_request", NULL);
    pst_msg_destroy (&reply);
    assert_int_equal (s_generation (mfa), 1);
}

//  The next challenge's job is From the provider, and names its generation
static void
test_from_and_generation (void **state)
{
    mfa_fixture_t *fixture = (mfa_fixture_t *) *state;
    mfa_harness_t *mfa = fixture->mfa;
    pst_msg_t *reply = s_provider (mfa, "emails_provider.create", s_good (), CREATE);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    char *token = mfa_test_begin (mfa, "auth0|from", "from@example.com");
    reply = mfa_test_associate (mfa, token);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    free (token);
    char *text = test_mailer_last (fixture->mailer);
    json_t *job = json_loads (text, 0, NULL);
    free (text);
    assert_string_equal (json_string_value (json_object_get (job, "from")),
                         "Provider <mfa@provider.example>");
    assert_int_equal (json_integer_value (json_object_get (job, "provider_generation")), 1);
    text = json_dumps (job, 0);
    assert_null (strstr (text, SECRET));
    free (text);
    json_decref (job);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_routes_and_sealing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_refused_changes_nothing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_from_and_generation, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
