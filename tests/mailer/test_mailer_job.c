//  mailer_job: validation of mail.send bodies.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "mailer_job.h"
#include "mailer_message.h"

#define DEFAULT_FROM "Postern <no-reply@localhost>"

static json_t *
s_valid_body (void)
{
    return json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}",
                      "job_id", "job-0001",
                      "to", "alice@example.com",
                      "from", "Acme <auth@acme.test>",
                      "subject", "Your code",
                      "text", "Your code is 123456",
                      "html", "<p>Your code is 123456</p>",
                      "message_id", "job-0001@acme.test",
                      "expires_at", (json_int_t) 1900000000);
}

static void
s_expect_refused (json_t *body, const char *field)
{
    const char *reason = NULL;
    mailer_job_t *job = mailer_job_from_body (body, DEFAULT_FROM, 1800000000, &reason);
    if (job)
        fail_msg ("accepted a body with a bad %s", field);
    assert_non_null (reason);
    assert_string_equal (reason, field);
}

static void
test_valid_body (void **state)
{
    (void) state;
    json_t *body = s_valid_body ();
    const char *reason = "unset";
    mailer_job_t *job = mailer_job_from_body (body, DEFAULT_FROM, 1800000000, &reason);
    assert_non_null (job);
    assert_null (reason);
    assert_string_equal (job->job_id, "job-0001");
    assert_string_equal (job->to, "alice@example.com");
    assert_string_equal (job->from, "Acme <auth@acme.test>");
    assert_string_equal (job->subject, "Your code");
    assert_string_equal (job->text, "Your code is 123456");
    assert_string_equal (job->html, "<p>Your code is 123456</p>");
    assert_string_equal (job->message_id, "<job-0001@acme.test>");
    assert_int_equal (job->expires_at, 1900000000);
    assert_int_equal (job->created_at, 1800000000);
    assert_int_equal (job->provider_generation, 0);
    mailer_job_destroy (&job);
    assert_null (job);
    json_decref (body);
}

//  The stored email provider's generation: absent 0, else a non-negative integer
static void
test_provider_generation (void **state)
{
    (void) state;
    json_t *body = s_valid_body ();
    json_object_set_new (body, "provider_generation", json_integer (7));
    mailer_job_t *job = mailer_job_from_body (body, DEFAULT_FROM, 1800000000, NULL);
    assert_non_null (job);
    assert_int_equal (job->provider_generation, 7);
    mailer_job_destroy (&job);
    json_object_set_new (body, "provider_generation", json_integer (-1));
    s_expect_refused (body, "provider_generation");
    json_object_set_new (body, "provider_generation", json_string ("7"));
    s_expect_refused (body, "provider_generation");
    json_decref (body);
}

static void
test_default_from (void **state)
{
    (void) state;
    json_t *body = s_valid_body ();
    json_object_del (body, "from");
    json_object_set_new (body, "message_id", json_string ("no-domain-id"));
    mailer_job_t *job = mailer_job_from_body (body, DEFAULT_FROM, 1800000000, NULL);
    assert_non_null (job);
    assert_string_equal (job->from, DEFAULT_FROM);
    //  an id without '@' is completed with the sender's domain
    assert_string_equal (job->message_id, "<no-domain-id@localhost>");
    mailer_job_destroy (&job);
    //  empty or null is absent too
    json_object_set_new (body, "from", json_string (""));
    job = mailer_job_from_body (body, DEFAULT_FROM, 1800000000, NULL);
    assert_non_null (job);
    assert_string_equal (job->from, DEFAULT_FROM);
    mailer_job_destroy (&job);
    json_object_set_new (body, "from", json_null ());
    job = mailer_job_from_body (body, DEFAULT_FROM, 1800000000, NULL);
    assert_non_null (job);
    assert_string_equal (job->from, DEFAULT_FROM);
    mailer_job_destroy (&job);
    json_decref (body);
}

static void
test_injection_refused (void **state)
{
    (void) state;
    const struct { const char *field; const char *value; } cases [] = {
        { "to",         "alice@example.com\r\nRCPT TO:<eve@evil.test>" },
        { "to",         "alice@example.com\nBcc: eve@evil.test" },
        { "to",         "alice@example.com\r" },
        { "from",       "Acme <auth@acme.test>\r\nBcc: eve@evil.test" },
        { "subject",    "Hi\r\nBcc: eve@evil.test" },
        { "subject",    "Hi\nthere" },
        { "message_id", "x@y\r\nBcc: eve@evil.test" },
        { "job_id",     "job\n1" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        json_t *body = s_valid_body ();
        json_object_set_new (body, cases [i].field, json_string (cases [i].value));
        s_expect_refused (body, cases [i].field);
        json_decref (body);
    }
    //  NUL inside a JSON string would cut the value short in C: refused
    const char *fields [] = { "to", "subject", "text", "message_id", NULL };
    for (int i = 0; fields [i]; i++) {
        json_t *body = s_valid_body ();
        json_object_set_new (body, fields [i], json_stringn ("alice@example.com\0x", 19));
        s_expect_refused (body, fields [i]);
        json_decref (body);
    }
}

static void
test_addresses_refused (void **state)
{
    (void) state;
    const char *bad_to [] = { "alice", "a@b@example.com", "Alice <alice@example.com>",
                              "alice@example.com, bob@example.com", "", NULL };
    for (int i = 0; bad_to [i]; i++) {
        json_t *body = s_valid_body ();
        json_object_set_new (body, "to", json_string (bad_to [i]));
        s_expect_refused (body, "to");
        json_decref (body);
    }
    //  255 characters: one over the limit
    char address [256];
    memset (address, 'a', sizeof address);
    memcpy (address + 60, "@", 1);
    memcpy (address + 250, ".com", 5);
    assert_int_equal (strlen (address), 254);
    json_t *body = s_valid_body ();
    json_object_set_new (body, "to", json_string (address));
    mailer_job_t *job = mailer_job_from_body (body, DEFAULT_FROM, 0, NULL);
    assert_non_null (job);
    mailer_job_destroy (&job);
    address [249] = '\0';
    char longer [300];
    snprintf (longer, sizeof longer, "%sxx.com", address);
    assert_int_equal (strlen (longer), 255);
    json_object_set_new (body, "to", json_string (longer));
    s_expect_refused (body, "to");
    json_decref (body);
}

static void
test_missing_and_mistyped (void **state)
{
    (void) state;
    const char *required [] = { "job_id", "to", "subject", "text", "html", "message_id",
                                "expires_at", NULL };
    for (int i = 0; required [i]; i++) {
        json_t *body = s_valid_body ();
        json_object_del (body, required [i]);
        s_expect_refused (body, required [i]);
        json_object_set_new (body, required [i], json_integer (7));
        if (strcmp (required [i], "expires_at") != 0)
            s_expect_refused (body, required [i]);
        json_decref (body);
    }
    json_t *body = s_valid_body ();
    json_object_set_new (body, "expires_at", json_string ("soon"));
    s_expect_refused (body, "expires_at");
    json_object_set_new (body, "expires_at", json_integer (-1));
    s_expect_refused (body, "expires_at");
    json_object_set_new (body, "expires_at", json_integer (5));
    json_object_set_new (body, "subject", json_string (""));
    s_expect_refused (body, "subject");
    json_decref (body);
}

static void
test_sizes_bounded (void **state)
{
    (void) state;
    const struct { const char *field; size_t limit; } cases [] = {
        { "subject", MAILER_SUBJECT_MAX },
        { "text", MAILER_TEXT_MAX },
        { "html", MAILER_HTML_MAX },
        { "job_id", MAILER_JOB_ID_MAX },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        char *value = malloc (cases [i].limit + 2);
        memset (value, 'x', cases [i].limit + 1);
        value [cases [i].limit] = '\0';
        json_t *body = s_valid_body ();
        json_object_set_new (body, cases [i].field, json_string (value));
        mailer_job_t *job = mailer_job_from_body (body, DEFAULT_FROM, 0, NULL);
        assert_non_null (job);          //  at the limit: fine
        mailer_job_destroy (&job);
        value [cases [i].limit] = 'x';
        value [cases [i].limit + 1] = '\0';
        json_object_set_new (body, cases [i].field, json_string (value));
        s_expect_refused (body, cases [i].field);
        json_decref (body);
        free (value);
    }
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_valid_body),
        cmocka_unit_test (test_provider_generation),
        cmocka_unit_test (test_default_from),
        cmocka_unit_test (test_injection_refused),
        cmocka_unit_test (test_addresses_refused),
        cmocka_unit_test (test_missing_and_mistyped),
        cmocka_unit_test (test_sizes_bounded),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
