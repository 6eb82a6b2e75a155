#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "pst_error.h"
#include "pst_logs.h"

//  Reads the query string members given as name, value, ..., NULL; the reply
//  is kept for the caller to look at
static int
s_read (pst_msg_t **reply_p, pst_logs_query_t *logs, const char *user_id, ...)
{
    json_t *query = json_object ();
    va_list args;
    va_start (args, user_id);
    for (const char *name = va_arg (args, const char *); name; name = va_arg (args, const char *))
        json_object_set_new (query, name, json_string (va_arg (args, const char *)));
    va_end (args);
    pst_msg_t *request = pst_msg_new_request ("logs.list", 1000);
    *reply_p = pst_msg_new_reply (request);
    pst_msg_destroy (&request);
    int rc = pst_logs_query_read (*reply_p, query, user_id, logs);
    json_decref (query);
    return rc;
}

//  A query that must be refused, with words that say why
static void
s_refused (const char *name, const char *value, const char *words)
{
    pst_msg_t *reply;
    pst_logs_query_t logs;
    assert_int_equal (s_read (&reply, &logs, NULL, name, value, NULL), -1);
    assert_string_equal (pst_msg_error (reply), PST_ERR_INVALID_QUERY_STRING);
    const char *text = pst_msg_error_text (reply);
    assert_non_null (strstr (text, "Query validation error: "));
    if (!strstr (text, words))
        fail_msg ("%s=%s: \"%s\" does not say \"%s\"", name, value, text, words);
    pst_logs_query_clear (&logs);
    pst_msg_destroy (&reply);
}

static void
test_defaults (void **state)
{
    (void) state;
    pst_msg_t *reply;
    pst_logs_query_t logs;
    assert_int_equal (s_read (&reply, &logs, NULL, NULL), 0);
    assert_false (logs.checkpoint);
    assert_int_equal (logs.order, -1);
    assert_int_equal (logs.per_page, 50);
    assert_int_equal (logs.page, 0);
    assert_false (logs.totals);
    assert_string_equal (logs.type, "");
    assert_null (logs.fields);
    pst_logs_query_clear (&logs);
    pst_msg_destroy (&reply);
}

static void
test_q (void **state)
{
    (void) state;
    pst_msg_t *reply;
    pst_logs_query_t logs;
    assert_int_equal (s_read (&reply, &logs, NULL, "q",
        "type:\"fp\" AND user_id:\"auth0|a\\\"b\" client_id:abc date:[2026-01-01 TO *]",
        "sort", "date:1", "page", "2", "per_page", "10", "include_totals", "true", NULL), 0);
    assert_string_equal (logs.type, "fp");
    assert_string_equal (logs.user_id, "auth0|a\"b");
    assert_string_equal (logs.client_id, "abc");
    assert_int_equal (logs.date_from, 1767225600000LL);
    assert_int_equal (logs.order, 1);
    assert_int_equal (logs.page, 2);
    assert_int_equal (logs.per_page, 10);
    assert_true (logs.totals);
    pst_logs_query_clear (&logs);
    pst_msg_destroy (&reply);

    //  search, as Auth0's newer SDKs send it, is q; both at once are refused
    assert_int_equal (s_read (&reply, &logs, NULL, "search", "type:s", NULL), 0);
    assert_string_equal (logs.type, "s");
    pst_logs_query_clear (&logs);
    pst_msg_destroy (&reply);
    assert_int_equal (s_read (&reply, &logs, NULL, "search", "type:s", "q", "type:f", NULL), -1);
    pst_logs_query_clear (&logs);
    pst_msg_destroy (&reply);

    assert_int_equal (s_read (&reply, &logs, NULL, "q",
        "date:[2026-01-01T10:00:00.250Z TO 2026-01-02T00:00:00Z]", NULL), 0);
    assert_int_equal (logs.date_from, 1767261600250LL);
    assert_int_equal (logs.date_to, 1767312000000LL);
    pst_logs_query_clear (&logs);
    pst_msg_destroy (&reply);
}

static void
test_q_refused (void **state)
{
    (void) state;
    s_refused ("q", "email:\"a@b.c\"", "type, user_id, client_id and date");
    s_refused ("q", "type:fp OR type:fu", "AND only");
    s_refused ("q", "NOT type:fp", "AND only");
    s_refused ("q", "type:\"fp\"user_id:x", "blanks or AND");
    s_refused ("q", "type:f*", "wildcards");
    s_refused ("q", "type:(fp fu)", "wildcards");
    s_refused ("q", "type:\"fp", "does not close");
    s_refused ("q", "type:", "names no value");
    s_refused ("q", "type:fp type:fu", "names a field twice");
    s_refused ("q", "date:2026-01-01", "date is a range");
    s_refused ("q", "date:[2026-13-01 TO *]", "date is a range");
    s_refused ("q", "date:[2026-01-02 TO 2026-01-01]", "ends before it starts");
    s_refused ("q", "date:{2026-01-01 TO *}", "date is a range");
    s_refused ("page", "-1", "page must be");
    s_refused ("search", "email:x", "type, user_id, client_id and date");
    s_refused ("per_page", "101", "per_page must be");
    s_refused ("page", "20", "first 1000 events");
    s_refused ("sort", "type:1", "sort is date:1");
    s_refused ("include_totals", "yes", "include_totals");
    s_refused ("fields", "log_id,password", "fields names");
    s_refused ("from", "12345", "from must be a log_id");
    s_refused ("take", "0", "take must be");
    s_refused ("take", "101", "take must be");
}

static void
test_checkpoint (void **state)
{
    (void) state;
    char log_id [PST_LOGS_ID_SIZE];
    pst_logs_id (log_id, 1767225600123LL, PST_LOGS_TAG_MFA, 42);
    assert_string_equal (log_id, "176722560012320000000000000000042");
    int64_t date, id;
    int tag;
    assert_int_equal (pst_logs_id_parse (log_id, &date, &tag, &id), 0);
    assert_int_equal (date, 1767225600123LL);
    assert_int_equal (tag, PST_LOGS_TAG_MFA);
    assert_int_equal (id, 42);
    assert_int_equal (pst_logs_id_parse ("17672256001232000000000000000004x", &date, &tag, &id), -1);

    //  from wins: q and the rest are not read, as Auth0 ignores them
    pst_msg_t *reply;
    pst_logs_query_t logs;
    assert_int_equal (s_read (&reply, &logs, NULL, "from", log_id, "take", "5",
                              "q", "nonsense", NULL), 0);
    assert_true (logs.checkpoint);
    assert_int_equal (logs.take, 5);
    assert_int_equal (logs.order, 1);

    //  The request a service gets, read back: the rows after the checkpoint,
    //  by the tags: authn (1) before mfa (2) at the same millisecond
    json_t *body = pst_logs_request (&logs, 0, 5, 0, 0, 1767225700000LL);
    pst_logs_filter_t filter;
    assert_int_equal (pst_logs_filter_read (body, PST_LOGS_TAG_MFA, &filter), 0);
    assert_int_equal (filter.after_date, 1767225600123LL);
    assert_int_equal (filter.after_id, 42);
    assert_int_equal (filter.date_to, 1767225700000LL);
    assert_int_equal (filter.limit, 5);
    assert_int_equal (pst_logs_filter_read (body, PST_LOGS_TAG_AUTHN, &filter), 0);
    assert_int_equal (filter.after_id, INT64_MAX);
    json_decref (body);
    pst_logs_query_clear (&logs);
    pst_msg_destroy (&reply);

    //  The users route reads its own members only, and its user
    assert_int_equal (s_read (&reply, &logs, "auth0|u", "from", log_id, "q", "type:s", NULL), 0);
    assert_false (logs.checkpoint);
    assert_string_equal (logs.user_id, "auth0|u");
    assert_string_equal (logs.type, "");
    pst_logs_query_clear (&logs);
    pst_msg_destroy (&reply);
}

static json_t *
s_rows (int tag, int64_t first_date, int count, int step)
{
    json_t *rows = json_array ();
    for (int index = 0; index < count; index++) {
        pst_logs_row_t row = { .id = index + 1, .date = first_date + index * step, .type = "s" };
        json_array_append_new (rows, pst_logs_row (tag, &row, 0));
    }
    return rows;
}

static void
test_merge (void **state)
{
    (void) state;
    //  authn: dates 0, 10, 20, 30; mfa: 5, 15, 25 and one at 10
    json_t *a = s_rows (PST_LOGS_TAG_AUTHN, 0, 4, 10);
    json_t *b = s_rows (PST_LOGS_TAG_MFA, 5, 3, 10);
    json_t *late = s_rows (PST_LOGS_TAG_MFA, 10, 1, 0);
    json_array_insert (b, 1, json_array_get (late, 0));
    json_decref (late);
    json_t *merged = pst_logs_merge (a, b, 1, 0, 100);
    assert_int_equal (json_array_size (merged), 8);
    for (size_t index = 1; index < json_array_size (merged); index++)
        assert_true (strcmp (json_string_value (json_object_get (json_array_get (merged, index - 1), "log_id")),
                             json_string_value (json_object_get (json_array_get (merged, index), "log_id"))) < 0);
    //  At the same millisecond authn's row comes first
    assert_int_equal (json_integer_value (json_object_get (json_array_get (merged, 2), "date")), 10);
    assert_int_equal (json_integer_value (json_object_get (json_array_get (merged, 3), "date")), 10);
    assert_non_null (strstr (json_string_value (json_object_get (json_array_get (merged, 3), "log_id")),
                             "0000000000010200"));
    assert_int_equal (pst_logs_count_in (merged, 4, a), 2);
    json_t *slice = pst_logs_merge (a, b, 1, 3, 2);
    assert_int_equal (json_array_size (slice), 2);
    assert_ptr_equal (json_array_get (slice, 0), json_array_get (merged, 3));
    json_decref (slice);
    json_decref (merged);
    json_decref (a);
    json_decref (b);
}

static void
test_event (void **state)
{
    (void) state;
    pst_logs_row_t row = {
        .id = 7, .date = 1767225600123LL, .type = "fp", .user_id = "auth0|u",
        .client_id = "c", .ip = "10.0.0.1", .result = "failure",
        .detail = "Wrong email or password."
    };
    json_t *bus = pst_logs_row (PST_LOGS_TAG_AUTHN, &row, 0);
    json_t *event = pst_logs_event (bus);
    assert_string_equal (json_string_value (json_object_get (event, "date")),
                         "2026-01-01T00:00:00.123Z");
    assert_string_equal (json_string_value (json_object_get (event, "type")), "fp");
    assert_string_equal (json_string_value (json_object_get (event, "description")),
                         "Wrong email or password.");
    assert_string_equal (json_string_value (json_object_get (event, "ip")), "10.0.0.1");
    assert_string_equal (json_string_value (json_object_get (event, "log_id")),
                         "176722560012310000000000000000007");
    json_t *details = json_object_get (event, "details");
    assert_string_equal (json_string_value (json_object_get (details, "result")), "failure");
    assert_string_equal (json_string_value (json_object_get (details, "event")),
                         "Incorrect Password");
    assert_string_equal (pst_logs_describe ("seccft"),
                         "Success Exchange: Client Credentials for Access Token");
    assert_null (pst_logs_describe ("nonsense"));

    //  fields: only those named, or all but those named
    pst_msg_t *reply;
    pst_logs_query_t logs;
    assert_int_equal (s_read (&reply, &logs, NULL, "fields", "log_id,type", NULL), 0);
    json_t *kept = json_deep_copy (event);
    pst_logs_fields (&logs, kept);
    assert_int_equal (json_object_size (kept), 2);
    json_decref (kept);
    pst_logs_query_clear (&logs);
    pst_msg_destroy (&reply);
    assert_int_equal (s_read (&reply, &logs, NULL, "fields", "ip", "include_fields", "false",
                              NULL), 0);
    pst_logs_fields (&logs, event);
    assert_null (json_object_get (event, "ip"));
    assert_non_null (json_object_get (event, "type"));
    pst_logs_query_clear (&logs);
    pst_msg_destroy (&reply);
    json_decref (event);
    json_decref (bus);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_defaults),
        cmocka_unit_test (test_q),
        cmocka_unit_test (test_q_refused),
        cmocka_unit_test (test_checkpoint),
        cmocka_unit_test (test_merge),
        cmocka_unit_test (test_event),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
