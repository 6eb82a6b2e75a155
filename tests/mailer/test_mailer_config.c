//  mailer_config: defaults, environment overrides, bad values fall back, except the
//  ones that decide about TLS and credentials: those are refused, loudly.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include "mailer_config.h"
#include "pst_log.h"
#include "test_log_capture.h"

static const char *s_vars [] = {
    "POSTERN_MFA_JOBS_ENDPOINT", "POSTERN_MAILER_OUTBOX", "POSTERN_SMTP_HOST",
    "POSTERN_SMTP_PORT", "POSTERN_SMTP_USER", "POSTERN_SMTP_PASSWORD",
    "POSTERN_SMTP_STARTTLS", "POSTERN_SMTP_CA_FILE", "POSTERN_SMTP_FROM",
    "POSTERN_MAILER_CONCURRENCY", "POSTERN_SMTP_CONNECT_TIMEOUT",
    "POSTERN_SMTP_RESPONSE_TIMEOUT", "POSTERN_SMTP_TIMEOUT",
    "POSTERN_SMTP_ALLOW_PLAINTEXT_AUTH", "POSTERN_MAILER_MAX_BACKLOG", NULL
};

static int s_null_fd = -1;              //  where log lines go when nobody reads them

static int
s_clear_env (void **state)
{
    (void) state;
    for (int i = 0; s_vars [i]; i++)
        unsetenv (s_vars [i]);
    return 0;
}

static void
test_defaults (void **state)
{
    (void) state;
    char dir [] = "/tmp/postern-mailer-config-XXXXXX";
    assert_non_null (mkdtemp (dir));
    setenv ("POSTERN_DATA_DIR", dir, 1);
    mailer_config_t *config = mailer_config_from_env ();
    assert_non_null (config);
    char expected [128];
    snprintf (expected, sizeof expected, "ipc://%s/bus/mfa-jobs.sock", dir);
    assert_string_equal (config->jobs_endpoint, expected);
    snprintf (expected, sizeof expected, "%s/keys", dir);
    assert_string_equal (config->keys_dir, expected);
    assert_string_equal (config->key_name, "mailer");
    assert_string_equal (config->smtp_host, "127.0.0.1");
    assert_int_equal (config->smtp_port, 2525);
    assert_null (config->smtp_user);
    assert_null (config->smtp_password);
    assert_int_equal (config->smtp_starttls, 0);
    assert_null (config->smtp_ca_file);
    assert_string_equal (config->default_from, "Postern <no-reply@localhost>");
    assert_int_equal (config->concurrency, 4);
    assert_int_equal (config->connect_timeout_s, 5);
    assert_int_equal (config->response_timeout_s, 10);
    assert_int_equal (config->smtp_allow_plaintext_auth, 0);
    assert_int_equal (config->max_backlog, 1000);
    snprintf (expected, sizeof expected, "%s/mailer-outbox.db", dir);
    assert_string_equal (config->outbox_path, expected);
    mailer_config_destroy (&config);
    assert_null (config);
    mailer_config_destroy (&config);     //  idempotent
    unsetenv ("POSTERN_DATA_DIR");
    rmdir (dir);
}

static void
test_overrides (void **state)
{
    (void) state;
    setenv ("POSTERN_MFA_JOBS_ENDPOINT", "tcp://127.0.0.1:7777", 1);
    setenv ("POSTERN_MAILER_OUTBOX", "/tmp/replica-2.db", 1);
    setenv ("POSTERN_SMTP_HOST", "relay.example", 1);
    setenv ("POSTERN_SMTP_PORT", "587", 1);
    setenv ("POSTERN_SMTP_USER", "postern", 1);
    setenv ("POSTERN_SMTP_PASSWORD", "hunter2", 1);
    setenv ("POSTERN_SMTP_STARTTLS", "required", 1);
    setenv ("POSTERN_SMTP_CA_FILE", "/etc/ssl/relay.pem", 1);
    setenv ("POSTERN_SMTP_FROM", "Acme <auth@acme.example>", 1);
    setenv ("POSTERN_MAILER_CONCURRENCY", "8", 1);
    setenv ("POSTERN_SMTP_RESPONSE_TIMEOUT", "3", 1);
    setenv ("POSTERN_SMTP_ALLOW_PLAINTEXT_AUTH", "1", 1);
    setenv ("POSTERN_MAILER_MAX_BACKLOG", "25", 1);
    mailer_config_t *config = mailer_config_from_env ();
    assert_non_null (config);
    assert_string_equal (config->jobs_endpoint, "tcp://127.0.0.1:7777");
    assert_string_equal (config->outbox_path, "/tmp/replica-2.db");
    assert_string_equal (config->smtp_host, "relay.example");
    assert_int_equal (config->smtp_port, 587);
    assert_string_equal (config->smtp_user, "postern");
    assert_string_equal (config->smtp_password, "hunter2");
    assert_int_equal (config->smtp_starttls, 1);
    assert_string_equal (config->smtp_ca_file, "/etc/ssl/relay.pem");
    assert_string_equal (config->default_from, "Acme <auth@acme.example>");
    assert_int_equal (config->concurrency, 8);
    assert_int_equal (config->response_timeout_s, 3);
    assert_int_equal (config->smtp_allow_plaintext_auth, 1);
    assert_int_equal (config->max_backlog, 25);
    mailer_config_destroy (&config);
}

static void
test_bad_values_fall_back (void **state)
{
    (void) state;
    setenv ("POSTERN_MAILER_OUTBOX", "/tmp/x.db", 1);
    setenv ("POSTERN_SMTP_PORT", "70000", 1);
    setenv ("POSTERN_MAILER_CONCURRENCY", "0", 1);
    setenv ("POSTERN_SMTP_STARTTLS", "on", 1);
    setenv ("POSTERN_SMTP_TIMEOUT", "soon", 1);
    setenv ("POSTERN_MAILER_MAX_BACKLOG", "0", 1);
    setenv ("POSTERN_SMTP_ALLOW_PLAINTEXT_AUTH", "sure", 1);
    mailer_config_t *config = mailer_config_from_env ();
    assert_non_null (config);
    assert_int_equal (config->smtp_port, 2525);
    assert_int_equal (config->concurrency, 4);
    assert_int_equal (config->smtp_starttls, 1);
    assert_int_equal (config->total_timeout_s, 60);
    assert_int_equal (config->max_backlog, 1000);
    //  not understood is "no", the side that keeps the password off the wire
    assert_int_equal (config->smtp_allow_plaintext_auth, 0);
    mailer_config_destroy (&config);
}

//  Every documented spelling, in any case, and nothing else.
//  Unset, STARTTLS follows the relay: required beyond this host, off on loopback
static void
test_starttls_default_follows_host (void **state)
{
    (void) state;
    struct { const char *host; int starttls; } cases [] = {
        { "127.0.0.1", 0 }, { "127.1.2.3", 0 }, { "::1", 0 }, { "::ffff:127.0.0.1", 0 },
        { "localhost", 0 }, { "LOCALHOST", 0 },
        { "relay.example", 1 }, { "10.0.0.5", 1 }, { "128.0.0.1", 1 }, { "::2", 1 },
        { "localhost.example", 1 }, { "126.255.255.255", 1 }
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        setenv ("POSTERN_SMTP_HOST", cases [i].host, 1);
        mailer_config_t *config = mailer_config_from_env ();
        assert_non_null (config);
        if (config->smtp_starttls != cases [i].starttls)
            print_error ("%s: starttls %d\n", cases [i].host, config->smtp_starttls);
        assert_int_equal (config->smtp_starttls, cases [i].starttls);
        mailer_config_destroy (&config);
    }
    //  Said outright, off stays off
    setenv ("POSTERN_SMTP_HOST", "relay.example", 1);
    setenv ("POSTERN_SMTP_STARTTLS", "off", 1);
    mailer_config_t *config = mailer_config_from_env ();
    assert_non_null (config);
    assert_int_equal (config->smtp_starttls, 0);
    mailer_config_destroy (&config);
    assert_false (mailer_config_host_is_loopback (NULL));
}

static void
test_starttls_values (void **state)
{
    (void) state;
    const struct { const char *value; int expected; } cases [] = {
        { "off", 0 }, { "OFF", 0 }, { "0", 0 }, { "false", 0 }, { "no", 0 },
        { "required", 1 }, { "Required", 1 }, { "on", 1 }, { "ON", 1 }, { "1", 1 },
        { "true", 1 }, { "yes", 1 },
        { "", -1 }, { "requried", -1 }, { "required ", -1 }, { " on", -1 },
        { "opportunistic", -1 }, { "try", -1 }, { "starttls", -1 }, { "tls", -1 },
        { "2", -1 }, { "of", -1 }, { "onn", -1 }, { "always", -1 }, { "never", -1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        int parsed = mailer_config_starttls_parse (cases [i].value);
        if (parsed != cases [i].expected)
            fail_msg ("\"%s\": got %d, expected %d", cases [i].value, parsed, cases [i].expected);
    }
    assert_int_equal (mailer_config_starttls_parse (NULL), -1);
}

//  A value that is not understood stops the mailer, naming the variable and what
//  it accepts, instead of quietly meaning "off".
static void
test_starttls_unknown_refused (void **state)
{
    (void) state;
    const char *values [] = { "requried", "opportunistic", "try", "enabled", NULL };
    for (int i = 0; values [i]; i++) {
        setenv ("POSTERN_MAILER_OUTBOX", "/tmp/x.db", 1);
        setenv ("POSTERN_SMTP_STARTTLS", values [i], 1);
        test_log_capture ();
        mailer_config_t *config = mailer_config_from_env ();
        char *log = test_log_captured (s_null_fd);
        if (config)
            fail_msg ("POSTERN_SMTP_STARTTLS=%s was accepted", values [i]);
        assert_non_null (strstr (log, "\"config_invalid\""));
        assert_non_null (strstr (log, "\"POSTERN_SMTP_STARTTLS\""));
        assert_non_null (strstr (log, "\"accepted\":\"off (or 0, false, no), required (or on"));
        free (log);
    }
    //  the same variable with a known value starts
    setenv ("POSTERN_SMTP_STARTTLS", "REQUIRED", 1);
    mailer_config_t *config = mailer_config_from_env ();
    assert_non_null (config);
    assert_int_equal (config->smtp_starttls, 1);
    mailer_config_destroy (&config);
}

//  SMTP AUTH in clear text is refused unless explicitly allowed; the config as
//  main reads it from the environment, then judged as the server judges it.
static void
test_plaintext_auth_decision (void **state)
{
    (void) state;
    const struct {
        const char *user, *password, *starttls, *allow;
        int expected;
    } cases [] = {
        //  no AUTH at all: nothing to protect
        { NULL,      NULL,      NULL,       NULL,  0 },
        { NULL,      "hunter2", NULL,       NULL,  0 },        //  no user: curl sends no AUTH
        //  AUTH protected by STARTTLS (CURLUSESSL_ALL)
        { "postern", "hunter2", "required", NULL,  0 },
        { "postern", "hunter2", "on",       "0",   0 },
        //  AUTH in clear text
        { "postern", "hunter2", NULL,       NULL,  -1 },
        { "postern", "hunter2", "off",      NULL,  -1 },
        { "postern", NULL,      "off",      NULL,  -1 },
        { "postern", "hunter2", "off",      "0",   -1 },
        { "postern", "hunter2", "off",      "maybe", -1 },     //  not understood: "no"
        //  ... unless the operator says so, for a relay on the same host
        { "postern", "hunter2", "off",      "1",   0 },
        { "postern", "hunter2", NULL,       "true", 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        s_clear_env (NULL);
        setenv ("POSTERN_MAILER_OUTBOX", "/tmp/x.db", 1);
        if (cases [i].user)
            setenv ("POSTERN_SMTP_USER", cases [i].user, 1);
        if (cases [i].password)
            setenv ("POSTERN_SMTP_PASSWORD", cases [i].password, 1);
        if (cases [i].starttls)
            setenv ("POSTERN_SMTP_STARTTLS", cases [i].starttls, 1);
        if (cases [i].allow)
            setenv ("POSTERN_SMTP_ALLOW_PLAINTEXT_AUTH", cases [i].allow, 1);
        mailer_config_t *config = mailer_config_from_env ();
        assert_non_null (config);
        test_log_capture ();
        int rc = mailer_config_check (config);
        char *log = test_log_captured (s_null_fd);
        if (rc != cases [i].expected)
            fail_msg ("case %zu: got %d, expected %d", i, rc, cases [i].expected);
        if (rc != 0) {
            //  the operator is told which variables to change
            assert_non_null (strstr (log, "\"config_invalid\""));
            assert_non_null (strstr (log, "POSTERN_SMTP_USER"));
            assert_non_null (strstr (log, "POSTERN_SMTP_STARTTLS=required"));
            assert_non_null (strstr (log, "POSTERN_SMTP_ALLOW_PLAINTEXT_AUTH=1"));
        }
        //  and the password itself is never in the log
        assert_null (strstr (log, "hunter2"));
        free (log);
        mailer_config_destroy (&config);
    }
    assert_int_equal (mailer_config_check (NULL), -1);
}

//  A config built by hand (as tests and embedders do) gets the same judgement.
static void
test_plaintext_auth_hand_built (void **state)
{
    (void) state;
    mailer_config_t *config = mailer_config_new ();
    assert_non_null (config);
    assert_int_equal (mailer_config_check (config), 0);
    assert_int_equal (mailer_config_set (&config->smtp_user, ""), 0);
    assert_int_equal (mailer_config_check (config), 0);        //  empty user: no AUTH
    assert_int_equal (mailer_config_set (&config->smtp_user, "postern"), 0);
    assert_int_equal (mailer_config_check (config), -1);
    config->smtp_starttls = 1;
    assert_int_equal (mailer_config_check (config), 0);
    config->smtp_starttls = 0;
    config->smtp_allow_plaintext_auth = 1;
    assert_int_equal (mailer_config_check (config), 0);
    mailer_config_destroy (&config);
}

static void
test_set_copies (void **state)
{
    (void) state;
    mailer_config_t *config = mailer_config_new ();
    assert_non_null (config);
    assert_null (config->outbox_path);
    char path [] = "/tmp/a.db";
    assert_int_equal (mailer_config_set (&config->outbox_path, path), 0);
    path [5] = 'b';
    assert_string_equal (config->outbox_path, "/tmp/a.db");
    assert_int_equal (mailer_config_set (&config->smtp_user, NULL), 0);
    assert_null (config->smtp_user);
    mailer_config_destroy (&config);
}

int
main (void)
{
    s_null_fd = open ("/dev/null", O_WRONLY);
    pst_log_set_fd (s_null_fd);     //  the fallback warnings are expected here
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup (test_defaults, s_clear_env),
        cmocka_unit_test_setup (test_overrides, s_clear_env),
        cmocka_unit_test_setup (test_bad_values_fall_back, s_clear_env),
        cmocka_unit_test (test_starttls_values),
        cmocka_unit_test_setup (test_starttls_default_follows_host, s_clear_env),
        cmocka_unit_test_setup (test_starttls_unknown_refused, s_clear_env),
        cmocka_unit_test_setup (test_plaintext_auth_decision, s_clear_env),
        cmocka_unit_test (test_plaintext_auth_hand_built),
        cmocka_unit_test (test_set_copies),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
