//  Service tests of logs.list: mfa's audit rows as authn reads them for the
//  Management API's log events (pst_logs filters, log_ids tagged mfa).

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "mfa_test_support.h"
#include "pst_logs.h"

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

//  logs.list for a query read as the Management API reads it (name, value,
//  ..., NULL), with keys_only and totals as given
static pst_msg_t *
s_list (mfa_harness_t *mfa, int keys_only, const char *scope, ...)
{
    json_t *query = json_object ();
    va_list args;
    va_start (args, scope);
    for (const char *name = va_arg (args, const char *); name; name = va_arg (args, const char *))
        json_object_set_new (query, name, json_string (va_arg (args, const char *)));
    va_end (args);
    pst_msg_t *request = pst_msg_new_request ("logs.list", 1000);
    pst_msg_t *parsed = pst_msg_new_reply (request);
    pst_logs_query_t logs;
    assert_int_equal (pst_logs_query_read (parsed, query, NULL, &logs), 0);
    json_t *body = pst_logs_request (&logs, 0, 100, keys_only, 1, mfa_test_now_ms () + 60000);
    pst_logs_query_clear (&logs);
    pst_msg_destroy (&parsed);
    pst_msg_destroy (&request);
    json_decref (query);
    return mfa_test_call (mfa, "logs.list", body, scope, 3000);
}

static char *
s_types (pst_msg_t *reply)
{
    char types [1024] = "";
    size_t index;
    json_t *row;
    json_array_foreach (json_object_get (pst_msg_body (reply), "rows"), index, row)
        snprintf (types + strlen (types), sizeof types - strlen (types), "%s%s",
                  index? " ": "", json_string_value (json_object_get (row, "type")));
    return strdup (types);
}

static void
test_rows (void **state)
{
    mfa_fixture_t *fixture = (mfa_fixture_t *) *state;
    mfa_harness_t *mfa = fixture->mfa;
    mfa_test_enrol (mfa, fixture->mailer, "auth0|logs-a", "a@example.com", NULL);
    mfa_test_enrol (mfa, fixture->mailer, "auth0|logs-b", "b@example.com", NULL);

    pst_msg_t *reply = s_list (mfa, 0, "read:logs", "q", "user_id:\"auth0|logs-a\"",
                               "sort", "date:1", NULL);
    assert_reply_ok (reply);
    char *types = s_types (reply);
    assert_string_equal (types, "gd_start_auth gd_start_enroll gd_send_email gd_enrollment_complete");
    free (types);
    json_t *rows = json_object_get (pst_msg_body (reply), "rows");
    assert_int_equal (json_integer_value (json_object_get (pst_msg_body (reply), "total")), 4);
    const char *previous = "";
    size_t index;
    json_t *row;
    json_array_foreach (rows, index, row) {
        const char *log_id = json_string_value (json_object_get (row, "log_id"));
        int64_t date, id;
        int tag;
        assert_int_equal (pst_logs_id_parse (log_id, &date, &tag, &id), 0);
        assert_int_equal (tag, PST_LOGS_TAG_MFA);
        assert_int_equal (date, json_integer_value (json_object_get (row, "date")));
        assert_true (strcmp (previous, log_id) < 0);
        previous = log_id;
        assert_string_equal (json_string_value (json_object_get (row, "user_id")), "auth0|logs-a");
        assert_string_equal (json_string_value (json_object_get (row, "client_id")), "app1");
    }
    //  The checkpoint after the first row: the rest of them, in order
    const char *first = json_string_value (json_object_get (json_array_get (rows, 0), "log_id"));
    pst_msg_t *after = s_list (mfa, 0, "read:logs", "from", first, NULL);
    assert_reply_ok (after);
    json_t *rest = json_object_get (pst_msg_body (after), "rows");
    assert_int_equal (json_array_size (rest), 7);
    assert_string_equal (json_string_value (json_object_get (json_array_get (rest, 0), "log_id")),
                         json_string_value (json_object_get (json_array_get (rows, 1), "log_id")));
    pst_msg_destroy (&after);
    //  ... and after authn's row at the same millisecond: mfa's row comes after it
    int64_t date, id;
    int tag;
    assert_int_equal (pst_logs_id_parse (first, &date, &tag, &id), 0);
    char authn_id [PST_LOGS_ID_SIZE];
    pst_logs_id (authn_id, date, PST_LOGS_TAG_AUTHN, 999999);
    after = s_list (mfa, 0, "read:logs", "from", authn_id, NULL);
    assert_int_equal (json_array_size (json_object_get (pst_msg_body (after), "rows")), 8);
    pst_msg_destroy (&after);
    pst_msg_destroy (&reply);

    //  Newest first, only their log_ids; a type across users
    reply = s_list (mfa, 1, "read:logs", "q", "type:gd_enrollment_complete", NULL);
    assert_reply_ok (reply);
    rows = json_object_get (pst_msg_body (reply), "rows");
    assert_int_equal (json_array_size (rows), 2);
    assert_true (json_is_string (json_array_get (rows, 0)));
    assert_true (strcmp (json_string_value (json_array_get (rows, 0)),
                         json_string_value (json_array_get (rows, 1))) > 0);
    pst_msg_destroy (&reply);
    reply = s_list (mfa, 0, "read:logs", "q", "date:[2000-01-01 TO 2000-01-02]", NULL);
    assert_int_equal (json_array_size (json_object_get (pst_msg_body (reply), "rows")), 0);
    pst_msg_destroy (&reply);
}

static void
test_refused (void **state)
{
    mfa_fixture_t *fixture = (mfa_fixture_t *) *state;
    pst_msg_t *reply = s_list (fixture->mfa, 0, "read:users", NULL);
    assert_reply_error (reply, "insufficient_scope", NULL);
    pst_msg_destroy (&reply);
    reply = mfa_test_call (fixture->mfa, "logs.list",
                           json_pack ("{s:i}", "limit", 100000), "read:logs", 3000);
    assert_reply_error (reply, "invalid_request", "Malformed log filter");
    pst_msg_destroy (&reply);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_rows, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_refused, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
