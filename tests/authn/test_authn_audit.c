//  authn_audit and the store's audit table: rows queued by the sign-in path are
//  written by the writer thread (a flush makes them readable), read back as
//  pst_logs filters ask, and pruned by age.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "authn_audit.h"
#include "authn_store.h"
#include "pst_error.h"
#include "test_db.h"

static char s_dir [64];
static char s_path [128];
static authn_config_t s_config;

static int
s_setup (void **state)
{
    (void) state;
    strcpy (s_dir, "/tmp/postern-authn-audit-XXXXXX");
    assert_non_null (mkdtemp (s_dir));
    snprintf (s_path, sizeof s_path, "%s/authn.db", s_dir);
    memset (&s_config, 0, sizeof s_config);
    s_config.db_path = test_db_location (s_path);
    s_config.audit_retention_days = 0;     //  the rows here are old: kept
    return 0;
}

static int
s_teardown (void **state)
{
    (void) state;
    free (s_config.db_path);
    char command [128];
    snprintf (command, sizeof command, "rm -rf %s", s_dir);
    assert_int_equal (system (command), 0);
    return 0;
}

//  The rows a filter (as JSON, a pst_logs_request body) finds
static json_t *
s_page (authn_store_t *store, json_t *body, int64_t *total_p)
{
    pst_logs_filter_t filter;
    assert_int_equal (pst_logs_filter_read (body, PST_LOGS_TAG_AUTHN, &filter), 0);
    json_t *rows = NULL;
    assert_int_equal (authn_store_audit_page (store, &filter, &rows, total_p), 0);
    json_decref (body);
    return rows;
}

static json_t *
s_body (int order, int64_t offset, int64_t limit, const char *from, const char *user_id)
{
    json_t *body = json_pack ("{s:I, s:I, s:i, s:I, s:I, s:b, s:b}", "date_from", (json_int_t) 0,
        "date_to", (json_int_t) 9999999999999LL, "order", order, "offset", (json_int_t) offset,
        "limit", (json_int_t) limit, "keys_only", 0, "totals", 1);
    if (from)
        json_object_set_new (body, "from", json_string (from));
    if (user_id)
        json_object_set_new (body, "user_id", json_string (user_id));
    return body;
}

static void
test_written_and_read (void **state)
{
    (void) state;
    authn_audit_t *audit = authn_audit_new (&s_config);
    assert_non_null (audit);
    const char *types [] = { "fp", "fu", "s", "seccft", "sertft" };
    for (int index = 0; index < 5; index++) {
        authn_audit_row_t row = {
            .type = types [index], .user_id = index == 1? NULL: "auth0|u",
            .client_id = "app", .ip = "10.0.0.1", .result = index < 2? "failure": "success",
            .created_at = 1767225600000LL + (index / 2) * 1000
        };
        authn_audit_record (audit, &row);
    }
    assert_int_equal (authn_audit_flush (audit), 0);
    authn_store_t *store = authn_store_new (s_config.db_path);
    assert_non_null (store);
    int64_t total = 0;
    json_t *rows = s_page (store, s_body (1, 0, 100, NULL, NULL), &total);
    assert_int_equal (total, 5);
    assert_int_equal (json_array_size (rows), 5);
    for (int index = 0; index < 5; index++)
        assert_string_equal (json_string_value (json_object_get (json_array_get (rows, index), "type")),
                             types [index]);
    assert_string_equal (json_string_value (json_object_get (json_array_get (rows, 0), "ip")), "10.0.0.1");
    //  The checkpoint after the second: the three after it
    const char *second = json_string_value (json_object_get (json_array_get (rows, 1), "log_id"));
    json_t *after = s_page (store, s_body (1, 0, 100, second, NULL), &total);
    assert_int_equal (json_array_size (after), 3);
    assert_string_equal (json_string_value (json_object_get (json_array_get (after, 0), "type")), "s");
    json_decref (after);
    //  Newest first, from the second on, one user
    after = s_page (store, s_body (-1, 1, 2, NULL, "auth0|u"), &total);
    assert_int_equal (total, 4);
    assert_int_equal (json_array_size (after), 2);
    assert_string_equal (json_string_value (json_object_get (json_array_get (after, 0), "type")), "seccft");
    assert_string_equal (json_string_value (json_object_get (json_array_get (after, 1), "type")), "s");
    json_decref (after);
    json_decref (rows);

    //  Pruned by age, oldest first, at most the batch asked for
    assert_int_equal (authn_store_audit_prune (store, 1767225601000LL, 1), 1);
    assert_int_equal (authn_store_audit_prune (store, 1767225601000LL, 10), 1);
    rows = s_page (store, s_body (1, 0, 100, NULL, NULL), &total);
    assert_int_equal (total, 3);
    json_decref (rows);
    authn_store_destroy (&store);
    authn_audit_destroy (&audit);
    assert_null (audit);
}

//  The grants' codes: the reply decides, a handler's note overrides, and an
//  mfa_required answer is no row
static void
test_grants (void **state)
{
    (void) state;
    authn_audit_t *audit = authn_audit_new (&s_config);
    pst_msg_t *request = pst_msg_new_request ("token.grant", 1000);
    json_t *body = json_pack ("{s:s, s:s}", "client_id", "app", "audience", "https://api");
    pst_msg_set_body (request, &body);
    authn_audit_note_t note = { NULL, "", "", "" };
    pst_msg_t *reply = pst_msg_new_reply (request);
    authn_audit_grant (audit, request, reply, "client_credentials", &note, 1000);
    pst_msg_fail (reply, PST_ERR_INVALID_CLIENT, "Unauthorized");
    authn_audit_grant (audit, request, reply, "client_credentials", &note, 2000);
    pst_msg_destroy (&reply);
    reply = pst_msg_new_reply (request);
    pst_msg_fail (reply, PST_ERR_MFA_REQUIRED, "Multifactor authentication required");
    authn_audit_grant (audit, request, reply, "password", &note, 3000);
    pst_msg_destroy (&reply);
    reply = pst_msg_new_reply (request);
    pst_msg_fail (reply, PST_ERR_TOO_MANY_ATTEMPTS, "Too many");
    authn_audit_grant (audit, request, reply, "password", &note, 4000);
    pst_msg_destroy (&reply);
    reply = pst_msg_new_reply (request);
    pst_msg_fail (reply, PST_ERR_INVALID_GRANT, "Wrong email or password.");
    note.type = "fp";
    strcpy (note.user_id, "auth0|u");
    authn_audit_grant (audit, request, reply, "password", &note, 5000);
    authn_audit_grant (audit, request, reply, "urn:unknown", &note, 6000);
    pst_msg_destroy (&reply);
    pst_msg_destroy (&request);
    assert_int_equal (authn_audit_flush (audit), 0);

    authn_store_t *store = authn_store_new (s_config.db_path);
    int64_t total = 0;
    json_t *rows = s_page (store, s_body (1, 0, 100, NULL, NULL), &total);
    char types [256] = "";
    size_t index;
    json_t *row;
    json_array_foreach (rows, index, row)
        snprintf (types + strlen (types), sizeof types - strlen (types), "%s%s", index? " ": "",
                  json_string_value (json_object_get (row, "type")));
    assert_string_equal (types, "seccft feccft limit_wc fp");
    assert_string_equal (json_string_value (json_object_get (json_array_get (rows, 0), "detail")),
                         "audience: https://api");
    assert_string_equal (json_string_value (json_object_get (json_array_get (rows, 1), "detail")),
                         "Unauthorized");
    assert_string_equal (json_string_value (json_object_get (json_array_get (rows, 3), "user_id")),
                         "auth0|u");
    json_decref (rows);
    authn_store_destroy (&store);
    authn_audit_destroy (&audit);
}

//  POSTERN_AUDIT_RETENTION_DAYS: the writer deletes older rows as it goes
static void
test_retention (void **state)
{
    (void) state;
    s_config.audit_retention_days = 30;
    authn_audit_t *audit = authn_audit_new (&s_config);
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    int64_t now_ms = (int64_t) now.tv_sec * 1000;
    authn_audit_row_t old = { .type = "s", .created_at = now_ms - 31 * 86400000LL };
    authn_audit_row_t young = { .type = "f", .created_at = now_ms - 29 * 86400000LL };
    authn_audit_record (audit, &old);
    authn_audit_record (audit, &young);
    assert_int_equal (authn_audit_flush (audit), 0);
    authn_store_t *store = authn_store_new (s_config.db_path);
    int64_t total = 0;
    json_t *rows = s_page (store, s_body (1, 0, 100, NULL, NULL), &total);
    assert_int_equal (total, 1);
    assert_string_equal (json_string_value (json_object_get (json_array_get (rows, 0), "type")), "f");
    json_decref (rows);
    authn_store_destroy (&store);
    authn_audit_destroy (&audit);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_written_and_read, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_grants, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_retention, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
