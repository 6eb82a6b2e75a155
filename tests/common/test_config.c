/*  Unit tests of pst_config: values, defaults, ranges, and bad values that fall
    back to the default (with a warning) instead of becoming zero.
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pst_config.h"
#include "pst_log.h"
#include "test_log_capture.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME    "POSTERN_TEST_SETTING"

static void
test_str (void **state)
{
    (void) state;
    unsetenv (NAME);
    assert_string_equal (pst_config_str (NAME, "fallback"), "fallback");
    assert_null (pst_config_str (NAME, NULL));
    setenv (NAME, "", 1);
    assert_string_equal (pst_config_str (NAME, "fallback"), "fallback");
    setenv (NAME, "value", 1);
    assert_string_equal (pst_config_str (NAME, "fallback"), "value");
    unsetenv (NAME);
}

static void
test_int (void **state)
{
    (void) state;
    unsetenv (NAME);
    assert_int_equal (pst_config_int (NAME, 7, 1, 100), 7);
    const struct {
        const char *text;
        long expected;
    } cases [] = {
        { "42",         42 },
        { "1",          1 },        //  bounds are inclusive
        { "100",        100 },
        { "0",          7 },        //  below range
        { "101",        7 },        //  above range
        { "-5",         7 },
        { "",           7 },
        { "abc",        7 },
        { "12abc",      7 },        //  trailing garbage
        { "42 ",        7 },
        { "4.2",        7 },
        { "0x10",       7 },
        { "99999999999999999999999", 7 },   //  overflow
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        setenv (NAME, cases [i].text, 1);
        long value = pst_config_int (NAME, 7, 1, 100);
        if (value != cases [i].expected)
            print_error ("'%s' gave %ld\n", cases [i].text, value);
        assert_int_equal (value, cases [i].expected);
    }
    //  Negative ranges work too
    setenv (NAME, "-5", 1);
    assert_int_equal (pst_config_int (NAME, 0, -10, 10), -5);
    unsetenv (NAME);
}

//  A bad value is reported by name, so the operator can find the typo
static void
test_bad_value_logged (void **state)
{
    (void) state;
    test_log_capture ();
    setenv (NAME, "ten", 1);
    assert_int_equal (pst_config_int (NAME, 10, 1, 20), 10);
    setenv (NAME, "maybe", 1);
    assert_int_equal (pst_config_bool (NAME, 1), 1);
    char *text = test_log_captured (STDERR_FILENO);
    //  Two warnings, one per bad value, each naming the variable
    assert_int_equal (test_log_count (text, "config_value_ignored"), 2);
    assert_int_equal (test_log_count (text, NAME), 2);
    free (text);
    unsetenv (NAME);
}

static void
test_bool (void **state)
{
    (void) state;
    unsetenv (NAME);
    assert_int_equal (pst_config_bool (NAME, 1), 1);
    assert_int_equal (pst_config_bool (NAME, 0), 0);
    const char *yes [] = { "1", "true", "TRUE", "Yes", "on", NULL };
    const char *no [] = { "0", "false", "False", "NO", "off", NULL };
    for (int i = 0; yes [i]; i++) {
        setenv (NAME, yes [i], 1);
        assert_int_equal (pst_config_bool (NAME, 0), 1);
    }
    for (int i = 0; no [i]; i++) {
        setenv (NAME, no [i], 1);
        assert_int_equal (pst_config_bool (NAME, 1), 0);
    }
    const char *bad [] = { "2", "yess", "enabled", "", " true", NULL };
    for (int i = 0; bad [i]; i++) {
        setenv (NAME, bad [i], 1);
        assert_int_equal (pst_config_bool (NAME, 1), 1);
        assert_int_equal (pst_config_bool (NAME, 0), 0);
    }
    unsetenv (NAME);
}

static void
test_data_path (void **state)
{
    (void) state;
    char dir [] = "/tmp/pst_test_config_XXXXXX";
    assert_non_null (mkdtemp (dir));
    char data [128];
    snprintf (data, sizeof data, "%s/data", dir);
    setenv ("POSTERN_DATA_DIR", data, 1);

    char *path = pst_config_data_path ("mfa.db");
    char expected [160];
    snprintf (expected, sizeof expected, "%s/mfa.db", data);
    assert_string_equal (path, expected);
    free (path);
    //  The directory now exists, private to the service
    struct stat info;
    assert_int_equal (stat (data, &info), 0);
    assert_true (S_ISDIR (info.st_mode));
    assert_int_equal (info.st_mode & 0077, 0);

    path = pst_config_data_path (NULL);
    assert_string_equal (path, data);
    free (path);

    unsetenv ("POSTERN_DATA_DIR");
    assert_int_equal (rmdir (data), 0);
    assert_int_equal (rmdir (dir), 0);
}

static void
test_domain_and_issuer (void **state)
{
    (void) state;
    unsetenv ("POSTERN_DOMAIN");
    assert_string_equal (pst_config_domain (), "localhost:8443");
    char *issuer = pst_config_issuer ();
    assert_string_equal (issuer, "https://localhost:8443/");
    free (issuer);
    setenv ("POSTERN_DOMAIN", "auth.example.test", 1);
    assert_string_equal (pst_config_domain (), "auth.example.test");
    issuer = pst_config_issuer ();
    assert_string_equal (issuer, "https://auth.example.test/");
    free (issuer);
    unsetenv ("POSTERN_DOMAIN");
}

//  An instance binds its own endpoint; its callers may list every instance
static void
test_bus_bind (void **state)
{
    (void) state;
    unsetenv ("TEST_BIND");
    setenv ("TEST_ENDPOINT", "tcp://127.0.0.1:5001", 1);
    char *bind = pst_config_bus_bind ("TEST_BIND", "TEST_ENDPOINT", "test.sock");
    assert_string_equal (bind, "tcp://127.0.0.1:5001");
    free (bind);
    //  A list says nothing of which instance this is
    setenv ("TEST_ENDPOINT", "tcp://127.0.0.1:5001,tcp://127.0.0.2:5001", 1);
    assert_null (pst_config_bus_bind ("TEST_BIND", "TEST_ENDPOINT", "test.sock"));
    setenv ("TEST_BIND", "tcp://127.0.0.2:5001", 1);
    bind = pst_config_bus_bind ("TEST_BIND", "TEST_ENDPOINT", "test.sock");
    assert_string_equal (bind, "tcp://127.0.0.2:5001");
    free (bind);
    unsetenv ("TEST_BIND");
    unsetenv ("TEST_ENDPOINT");
    setenv ("POSTERN_DATA_DIR", "/srv/postern", 1);
    bind = pst_config_bus_bind ("TEST_BIND", "TEST_ENDPOINT", "test.sock");
    assert_string_equal (bind, "ipc:///srv/postern/bus/test.sock");
    free (bind);
    unsetenv ("POSTERN_DATA_DIR");
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_str),
        cmocka_unit_test (test_int),
        cmocka_unit_test (test_bad_value_logged),
        cmocka_unit_test (test_bool),
        cmocka_unit_test (test_data_path),
        cmocka_unit_test (test_domain_and_issuer),
        cmocka_unit_test (test_bus_bind),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
