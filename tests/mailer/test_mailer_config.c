//  mailer_config: defaults, environment overrides, bad values fall back.
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

static const char *s_vars [] = {
    "POSTERN_MFA_JOBS_ENDPOINT", "POSTERN_MAILER_OUTBOX", "POSTERN_SMTP_HOST",
    "POSTERN_SMTP_PORT", "POSTERN_SMTP_USER", "POSTERN_SMTP_PASSWORD",
    "POSTERN_SMTP_STARTTLS", "POSTERN_SMTP_CA_FILE", "POSTERN_SMTP_FROM",
    "POSTERN_MAILER_CONCURRENCY", "POSTERN_SMTP_CONNECT_TIMEOUT",
    "POSTERN_SMTP_RESPONSE_TIMEOUT", "POSTERN_SMTP_TIMEOUT", NULL
};

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
    assert_string_equal (config->jobs_endpoint, "tcp://127.0.0.1:5603");
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
    char expected [128];
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
    mailer_config_t *config = mailer_config_from_env ();
    assert_non_null (config);
    assert_int_equal (config->smtp_port, 2525);
    assert_int_equal (config->concurrency, 4);
    assert_int_equal (config->smtp_starttls, 1);
    assert_int_equal (config->total_timeout_s, 60);
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
    int fd = open ("/dev/null", O_WRONLY);
    pst_log_set_fd (fd);        //  the fallback warnings are expected here
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup (test_defaults, s_clear_env),
        cmocka_unit_test_setup (test_overrides, s_clear_env),
        cmocka_unit_test_setup (test_bad_values_fall_back, s_clear_env),
        cmocka_unit_test (test_set_copies),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
