/*  Unit tests of pst_log: secrets never reach the output whatever key spelling
    the caller uses, ordinary fields do, every line is one JSON object written
    whole, and the level filter works.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pst_log.h"
#include <jansson.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    int fds [2];
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *self = calloc (1, sizeof *self);
    if (!self || pipe (self->fds) != 0)
        return -1;
    //  Reads must not block when a test expects nothing
    fcntl (self->fds [0], F_SETFL, O_NONBLOCK);
    pst_log_set_fd (self->fds [1]);
    *state = self;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *self = *state;
    pst_log_set_fd (STDERR_FILENO);
    close (self->fds [0]);
    close (self->fds [1]);
    free (self);
    return 0;
}

//  Everything written so far; caller frees
static char *
s_drain (fixture_t *self)
{
    size_t size = 0, max = 65536;
    char *text = malloc (max + 1);
    assert_non_null (text);
    for (;;) {
        ssize_t rc = read (self->fds [0], text + size, max - size);
        if (rc <= 0)
            break;
        size += (size_t) rc;
    }
    text [size] = '\0';
    return text;
}

static void
test_secret_keys_redacted (void **state)
{
    fixture_t *self = *state;
    //  Keys the services use for secrets, plus spellings a caller may invent
    const char *keys [] = {
        "password", "client_secret", "mfa_token", "binding_code", "otp",
        "recovery_code", "Password", "new_password", "access_token", "refresh_token",
        "id_token", "oob_code", "code", "authorization", "api_key", "smtp_pass",
        "cookie", "totp", NULL
    };
    char values [32][48];
    for (int i = 0; keys [i]; i++) {
        //  A distinct value per key, so a leak is attributed to its key
        snprintf (values [i], sizeof values [i], "S3cr3tValue%02dXyz", i);
        pst_log (PST_LOG_ERROR, "secret_test", keys [i], values [i], NULL);
    }
    char *text = s_drain (self);
    for (int i = 0; keys [i]; i++) {
        if (strstr (text, values [i]))
            print_error ("value under key '%s' leaked\n", keys [i]);
        assert_null (strstr (text, values [i]));
        assert_true (pst_log_key_is_secret (keys [i]));
    }
    assert_non_null (strstr (text, "[redacted]"));
    free (text);
}

static void
test_ordinary_keys_kept (void **state)
{
    fixture_t *self = *state;
    pst_log (PST_LOG_WARN, "challenge_created", "user_id", "auth0|abc123",
             "client_id", "cl-42", "error_code", "invalid_grant", "kid", "kid-7",
             "ip", "127.0.0.1", NULL);
    char *text = s_drain (self);
    //  One line, one JSON object, with the common fields
    char *newline = strchr (text, '\n');
    assert_non_null (newline);
    assert_string_equal (newline + 1, "");
    json_t *line = json_loadb (text, (size_t) (newline - text), 0, NULL);
    assert_non_null (line);
    assert_string_equal (json_string_value (json_object_get (line, "event")), "challenge_created");
    assert_string_equal (json_string_value (json_object_get (line, "level")), "warn");
    assert_non_null (json_string_value (json_object_get (line, "ts")));
    assert_non_null (json_string_value (json_object_get (line, "svc")));
    assert_string_equal (json_string_value (json_object_get (line, "user_id")), "auth0|abc123");
    assert_string_equal (json_string_value (json_object_get (line, "client_id")), "cl-42");
    assert_string_equal (json_string_value (json_object_get (line, "error_code")),
                         "invalid_grant");
    assert_string_equal (json_string_value (json_object_get (line, "kid")), "kid-7");
    assert_string_equal (json_string_value (json_object_get (line, "ip")), "127.0.0.1");
    json_decref (line);
    free (text);

    assert_false (pst_log_key_is_secret ("user_id"));
    assert_false (pst_log_key_is_secret ("client_id"));
    assert_false (pst_log_key_is_secret ("error_code"));
    assert_false (pst_log_key_is_secret (NULL));
}

//  A value that would break the JSON line is escaped, not interpolated
static void
test_hostile_values (void **state)
{
    fixture_t *self = *state;
    pst_log (PST_LOG_ERROR, "hostile", "email", "a\"b\n{\"level\":\"fake\"}",
             "bad_utf8", "\xff\xfe", "nothing", NULL, NULL);
    char *text = s_drain (self);
    char *newline = strchr (text, '\n');
    assert_non_null (newline);
    assert_string_equal (newline + 1, "");
    json_t *line = json_loadb (text, (size_t) (newline - text), 0, NULL);
    assert_non_null (line);
    assert_string_equal (json_string_value (json_object_get (line, "email")),
                         "a\"b\n{\"level\":\"fake\"}");
    assert_string_equal (json_string_value (json_object_get (line, "level")), "error");
    assert_non_null (json_object_get (line, "bad_utf8"));
    assert_true (json_is_null (json_object_get (line, "nothing")));
    json_decref (line);
    free (text);
}

static void
test_level_filter (void **state)
{
    fixture_t *self = *state;
    setenv ("POSTERN_LOG_LEVEL", "warn", 1);
    pst_log_init ("tester");
    pst_log (PST_LOG_INFO, "too_quiet", NULL);
    pst_log (PST_LOG_DEBUG, "too_quiet", NULL);
    pst_log (PST_LOG_ERROR, "loud_enough", NULL);
    char *text = s_drain (self);
    assert_null (strstr (text, "too_quiet"));
    assert_non_null (strstr (text, "loud_enough"));
    assert_non_null (strstr (text, "\"svc\":\"tester\""));
    free (text);

    setenv ("POSTERN_LOG_LEVEL", "debug", 1);
    pst_log_init ("tester");
    pst_log (PST_LOG_DEBUG, "now_visible", NULL);
    text = s_drain (self);
    assert_non_null (strstr (text, "now_visible"));
    free (text);
    unsetenv ("POSTERN_LOG_LEVEL");
}

//  A line is whole, with one newline at its end, whether it fits the 2 KiB it
//  is first formatted in or is formatted again on the heap
static void
test_lines_whole (void **state)
{
    fixture_t *self = *state;
    static char value [6000];
    size_t sizes [] = { 10, 2030, 2100, 5000 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes [0]; i++) {
        memset (value, 'v', sizes [i]);
        value [sizes [i]] = '\0';
        pst_log (PST_LOG_ERROR, "long_line", "value", value, NULL);
        char line [8192];
        ssize_t got = read (self->fds [0], line, sizeof line);
        assert_true (got > (ssize_t) sizes [i]);
        assert_int_equal (line [got - 1], '\n');
        line [got - 1] = '\0';
        assert_null (memchr (line, '\n', (size_t) got - 1));
        json_t *parsed = json_loads (line, 0, NULL);
        assert_non_null (parsed);
        assert_string_equal (json_string_value (json_object_get (parsed, "value")), value);
        json_decref (parsed);
        assert_int_equal (read (self->fds [0], line, sizeof line), -1);
    }
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_secret_keys_redacted, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_ordinary_keys_kept, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_hostile_values, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_level_filter, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_lines_whole, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
