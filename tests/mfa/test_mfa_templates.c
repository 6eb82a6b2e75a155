//  Service tests of mail as data on mfa: the mfa_oob_code email template
//  (email_templates.*) saved, refused at save time, and used by the next
//  challenge's mail.

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include "mfa_test_support.h"

#define READ    "read:email_templates"
#define UPDATE  "update:email_templates"

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

//  op on the mfa_oob_code template with data (taken; NULL: none)
static pst_msg_t *
s_template (mfa_harness_t *mfa, const char *op, json_t *data, const char *scopes)
{
    json_t *body = json_pack ("{s:s}", "id", "mfa_oob_code");
    if (data)
        json_object_set_new (body, "data", data);
    return mfa_test_call (mfa, op, body, scopes, 3000);
}

//  The last mailed job's member
static char *
s_job_member (test_mailer_t *mailer, const char *key)
{
    char *text = test_mailer_last (mailer);
    json_t *job = json_loads (text, 0, NULL);
    free (text);
    const char *value = json_string_value (json_object_get (job, key));
    char *copy = value? strdup (value): NULL;
    json_decref (job);
    return copy;
}

//  A sign-in that mails a code (associate for a new user); asserts it went out.
static void
s_mail_for (mfa_fixture_t *fixture, const char *user_id, const char *email)
{
    int before = test_mailer_count (fixture->mailer);
    char *token = mfa_test_begin (fixture->mfa, user_id, email);
    pst_msg_t *reply = mfa_test_associate (fixture->mfa, token);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    free (token);
    assert_int_equal (test_mailer_count (fixture->mailer), before + 1);
}

static void
test_default_until_saved (void **state)
{
    mfa_fixture_t *fixture = (mfa_fixture_t *) *state;
    pst_msg_t *reply = s_template (fixture->mfa, "email_templates.get", NULL, READ);
    assert_reply_error (reply, "not_found", "The template does not exist.");
    pst_msg_destroy (&reply);
    reply = s_template (fixture->mfa, "email_templates.update",
                        json_pack ("{s:s}", "subject", "x"), UPDATE);
    assert_reply_error (reply, "not_found", "The template does not exist.");
    pst_msg_destroy (&reply);
    //  Another template is not kept
    reply = mfa_test_call (fixture->mfa, "email_templates.set",
        json_pack ("{s:s, s:{}}", "id", "verify_email", "data"), UPDATE, 3000);
    assert_reply_error (reply, "bad_request", NULL);
    pst_msg_destroy (&reply);
    //  The scope is checked before anything
    reply = s_template (fixture->mfa, "email_templates.get", NULL, "read:users");
    assert_reply_error (reply, "insufficient_scope", NULL);
    pst_msg_destroy (&reply);

    s_mail_for (fixture, "auth0|default", "default@example.com");
    char *subject = s_job_member (fixture->mailer, "subject");
    assert_string_equal (subject, "Postern verification code");
    free (subject);
    char *from = s_job_member (fixture->mailer, "from");
    assert_null (from);
}

static void
test_saved_is_sent (void **state)
{
    mfa_fixture_t *fixture = (mfa_fixture_t *) *state;
    pst_msg_t *reply = s_template (fixture->mfa, "email_templates.set", json_pack (
        "{s:s, s:s, s:s, s:s, s:s, s:b, s:i}",
        "template", "mfa_oob_code",
        "body", "<p>{{ code }} for {{ user.email }}{% if application.name %} at "
                "{{ application.name }}{% endif %}</p>",
        "subject", "Your {{ friendly_name }} code",
        "from", "Codes <codes@example.com>", "syntax", "liquid", "enabled", 1,
        "urlLifetimeInSeconds", 432000), UPDATE);
    assert_reply_ok (reply);
    json_t *body = pst_msg_body (reply);
    assert_string_equal (json_string_value (json_object_get (body, "template")), "mfa_oob_code");
    assert_string_equal (json_string_value (json_object_get (body, "from")),
                         "Codes <codes@example.com>");
    assert_int_equal (json_integer_value (json_object_get (body, "urlLifetimeInSeconds")), 432000);
    pst_msg_destroy (&reply);

    s_mail_for (fixture, "auth0|saved", "o'neil&co@example.com");
    char *html = s_job_member (fixture->mailer, "html");
    char *code = test_mailer_code (fixture->mailer);
    char expected [200];
    snprintf (expected, sizeof expected, "<p>%s for o&#39;neil&amp;co@example.com at Test App</p>", code);
    assert_string_equal (html, expected);
    free (html);
    free (code);
    char *subject = s_job_member (fixture->mailer, "subject");
    assert_string_equal (subject, "Your Postern code");
    free (subject);
    char *from = s_job_member (fixture->mailer, "from");
    assert_string_equal (from, "Codes <codes@example.com>");
    free (from);

    //  PATCH changes one member; GET shows the whole
    reply = s_template (fixture->mfa, "email_templates.update",
                        json_pack ("{s:s}", "subject", "Sign-in code"), UPDATE);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    reply = s_template (fixture->mfa, "email_templates.get", NULL, READ);
    assert_reply_ok (reply);
    body = pst_msg_body (reply);
    assert_string_equal (json_string_value (json_object_get (body, "subject")), "Sign-in code");
    assert_string_equal (json_string_value (json_object_get (body, "syntax")), "liquid");
    assert_true (json_is_true (json_object_get (body, "enabled")));
    pst_msg_destroy (&reply);
    s_mail_for (fixture, "auth0|patched", "patched@example.com");
    subject = s_job_member (fixture->mailer, "subject");
    assert_string_equal (subject, "Sign-in code");
    free (subject);

    //  Disabled: the default goes out again
    reply = s_template (fixture->mfa, "email_templates.update",
                        json_pack ("{s:b}", "enabled", 0), UPDATE);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    s_mail_for (fixture, "auth0|disabled", "disabled@example.com");
    subject = s_job_member (fixture->mailer, "subject");
    assert_string_equal (subject, "Postern verification code");
    free (subject);
}

static void
test_refused_changes_nothing (void **state)
{
    mfa_fixture_t *fixture = (mfa_fixture_t *) *state;
    pst_msg_t *reply = s_template (fixture->mfa, "email_templates.set", json_pack (
        "{s:s, s:s}", "body", "<b>{{ code }}</b>", "subject", "Code"), UPDATE);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    const struct {
        json_t *data;
        const char *code;
        const char *text;
    } refused [] = {
        { json_pack ("{s:s}", "body", "{{ code }} {{ user.password }}"), "bad_request",
          "Payload validation error: the body cannot be rendered: Unknown variable (code,"
          " user.email, application.name, friendly_name and expires_in_minutes are known):"
          " 'user.password'" },
        { json_pack ("{s:s}", "body", "{% if code %}unbalanced"), "bad_request",
          "Payload validation error: the body cannot be rendered: {% if %} without its {% endif %}" },
        { json_pack ("{s:s}", "subject", "{{ application.name }} {{ friendly_name }}"),
          "bad_request", NULL },
        { json_pack ("{s:s}", "from", "Evil <a@b.c>\r\nBcc: x@y.z"), "bad_request", NULL },
        { json_pack ("{s:s}", "syntax", "handlebars"), "bad_request", NULL },
        { json_pack ("{s:s}", "enabled", "yes"), "bad_request", NULL },
        { json_pack ("{s:s}", "template", "verify_email"), "bad_request", NULL },
        { json_pack ("{s:i}", "body", 1), "bad_request", NULL },
        { json_pack ("{s:s}", "colour", "red"), "invalid_body",
          "Payload validation error: 'Additional properties not allowed: colour'"
          " (a member Postern does not support; docs/auth0.md)" },
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused [0]; i++) {
        reply = s_template (fixture->mfa, "email_templates.update", refused [i].data, UPDATE);
        assert_reply_error (reply, refused [i].code, refused [i].text);
        pst_msg_destroy (&reply);
    }
    reply = s_template (fixture->mfa, "email_templates.set",
                        json_pack ("{s:s}", "body", "{{ nope }}"), UPDATE);
    assert_reply_error (reply, "bad_request", NULL);
    pst_msg_destroy (&reply);
    //  Nothing changed: the stored one is still the one mailed
    assert_int_equal (mfa_test_db_int (fixture->mfa,
        "SELECT generation FROM email_templates WHERE name = 'mfa_oob_code'"), 1);
    s_mail_for (fixture, "auth0|unchanged", "unchanged@example.com");
    char *html = s_job_member (fixture->mailer, "html");
    char *code = test_mailer_code (fixture->mailer);
    char expected [64];
    snprintf (expected, sizeof expected, "<b>%s</b>", code);
    assert_string_equal (html, expected);
    free (html);
    free (code);
}

//  Another mfa instance sharing the database saves: each worker sees the
//  generation move at its next challenge, with no restart
static void
test_saved_elsewhere (void **state)
{
    mfa_fixture_t *fixture = (mfa_fixture_t *) *state;
    pst_msg_t *reply = s_template (fixture->mfa, "email_templates.set",
                                   json_pack ("{s:s}", "subject", "First"), UPDATE);
    assert_reply_ok (reply);
    pst_msg_destroy (&reply);
    for (int i = 0; i < 4; i++) {
        char user [32];
        snprintf (user, sizeof user, "auth0|first%d", i);
        s_mail_for (fixture, user, "first@example.com");
    }
    pst_sql_t *db = mfa_test_db (fixture->mfa);
    assert_int_equal (pst_sql_run (db, "UPDATE email_templates SET document = ?,"
        " generation = generation + 1 WHERE name = 'mfa_oob_code'", "t",
        "{\"template\":\"mfa_oob_code\",\"body\":\"<i>{{ code }}</i>\","
        "\"subject\":\"Second\",\"syntax\":\"liquid\",\"enabled\":true}"), 1);
    pst_sql_close (&db);
    for (int i = 0; i < 4; i++) {
        char user [32];
        snprintf (user, sizeof user, "auth0|second%d", i);
        s_mail_for (fixture, user, "second@example.com");
        char *subject = s_job_member (fixture->mailer, "subject");
        assert_string_equal (subject, "Second");
        free (subject);
    }
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_default_until_saved, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_saved_is_sent, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_refused_changes_nothing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_saved_elsewhere, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
